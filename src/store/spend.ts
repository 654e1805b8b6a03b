import type { Collection } from 'mongodb';
import type { Spend } from '../metrics/budget';

/**
 * What assignments spent on model calls, as one counter document per (assignment, worker process). Each
 * process writes only its own documents, one write at a time per document, so no two updates of a document
 * ever race: FerretDB applies concurrent updates of one document as read-modify-write without a lock and
 * loses some, MongoDB would not, and this layout is exact on both. The spend of an assignment is the sum of
 * its documents (as many as the processes that called a model for it).
 */

/** One process's spend for one assignment; `_id` is `<assignmentId>/<worker identity>`. */
export interface SpendDoc {
  _id: string;
  assignmentId: string;
  cost: number;
  tokens: number;
  calls: number;
  updatedAt: Date;
}

/** The spend of an assignment: the sum of every process's counter. */
export async function assignmentSpend(col: Collection<SpendDoc>, assignmentId: string): Promise<Spend> {
  const total: Spend = { cost: 0, tokens: 0, calls: 0 };
  for (const d of await col.find({ assignmentId }).toArray()) {
    total.cost += d.cost ?? 0;
    total.tokens += d.tokens ?? 0;
    total.calls += d.calls ?? 0;
  }
  return total;
}

/** This process's counters: charges of concurrent calls are added up and written by one write at a time. */
export class SpendMeter {
  private readonly pending = new Map<string, { add: Spend; waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> }>();
  private readonly writing = new Set<string>();

  constructor(private readonly col: Collection<SpendDoc>, private readonly worker: string) {}

  /** Adds one call's spend; resolves once it is stored. */
  charge(assignmentId: string, add: Spend): Promise<void> {
    return new Promise((resolve, reject) => {
      const entry = this.pending.get(assignmentId) ?? { add: { cost: 0, tokens: 0, calls: 0 }, waiters: [] };
      entry.add.cost += add.cost;
      entry.add.tokens += add.tokens;
      entry.add.calls += add.calls;
      entry.waiters.push({ resolve, reject });
      this.pending.set(assignmentId, entry);
      if (!this.writing.has(assignmentId)) void this.flush(assignmentId);
    });
  }

  private async flush(assignmentId: string): Promise<void> {
    this.writing.add(assignmentId);
    try {
      for (let entry = this.pending.get(assignmentId); entry; entry = this.pending.get(assignmentId)) {
        this.pending.delete(assignmentId);
        try {
          await this.col.updateOne(
            { _id: `${assignmentId}/${this.worker}` },
            { $inc: { cost: entry.add.cost, tokens: entry.add.tokens, calls: entry.add.calls }, $set: { assignmentId, updatedAt: new Date() } },
            { upsert: true },
          );
          for (const w of entry.waiters) w.resolve();
        } catch (err) {
          for (const w of entry.waiters) w.reject(err);
        }
      }
    } finally {
      this.writing.delete(assignmentId);
    }
  }
}
