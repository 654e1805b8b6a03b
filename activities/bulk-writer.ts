import type { ActivityDeps } from './deps';
import { untilStored } from './mongo-retry';
import { storeResults, type StoredResult } from './records';

/** Results per bulk write. */
const FLUSH_MAX = 500;

/** Results waiting for their bulk write; one write at a time, each taking everything queued meanwhile. */
export class BulkWriter {
  private readonly queue: Array<{ item: StoredResult; resolve: () => void; reject: (err: unknown) => void }> = [];
  private writing: Promise<void> | undefined;

  constructor(private readonly deps: ActivityDeps) {}

  /** Queues a result; resolves once it is stored, rejects if its write failed for good. */
  add(item: StoredResult): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.writing ??= this.flush().finally(() => void (this.writing = undefined));
    });
  }

  /** Resolves once nothing is queued or being written. */
  async drained(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, FLUSH_MAX);
      const now = new Date();
      for (const { item } of batch) {
        item.doc.finishedAt = now;
        item.doc.updatedAt = now;
      }
      try {
        await untilStored(() => storeResults(this.deps, batch.map((b) => b.item)));
        for (const b of batch) b.resolve();
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
  }
}
