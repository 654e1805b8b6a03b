import type { Collection } from 'mongodb';
import type { AdaptiveConcurrencyConfig } from '../config/schema-model';

/**
 * The adaptive concurrency limit of one endpoint, shared by every worker on every machine through MongoDB:
 * one document per endpoint holds the current limit, and each call in flight holds a lease document on one
 * of the endpoint's places (a Retry-After is one more document, a hold no call passes), `<endpoint>#<place>` for a place below the limit. A
 * lease is claimed by inserting that document, so the unique `_id` decides between racing claims: no two
 * calls ever hold one place, on MongoDB as on FerretDB (whose updates of one document are read-modify-write
 * without a lock, so a counter or an array in one document would lose racing changes there). A lease carries
 * its expiry (the longest the call can take), so the places of a killed worker's calls come free by
 * themselves. Changes of the limit are conditional updates by `_id`: a change lost to a race on FerretDB only
 * delays the next cut or raise, never lets more calls in than there are places below the limit.
 */

/** One endpoint's shared limit, `_id` its name (see endpointName). */
export interface EndpointDoc {
  _id: string;
  /** Calls allowed in flight now, across every worker. */
  limit: number;
  floor: number;
  ceiling: number;
  /** When the limit last changed: a 429 on a call granted before it does not cut the limit again. */
  changedAt: Date;
  decreases: number;
  increases: number;
  updatedAt: Date;
}

/**
 * A call's place at an endpoint; `_id` is `<endpoint>#<place>`. The place HOLD_PLACE (`<endpoint>#hold`) is
 * the endpoint's Retry-After: while its `until` lies ahead, no call starts.
 */
export interface EndpointLeaseDoc {
  _id: string;
  endpoint: string;
  place: number;
  holder: string;
  /** When the lease stops counting if no one gave it back. */
  until: Date;
}

/** The two collections of the shared limits. */
export interface EndpointCollections {
  endpoints: Collection<EndpointDoc>;
  leases: Collection<EndpointLeaseDoc>;
}

/** A claimed place at the endpoint. */
export interface EndpointLease {
  endpoint: string;
  id: string;
  holder: string;
  grantedAt: Date;
}

/** What a claim that got no lease should wait before trying again. */
export interface ClaimRefused {
  waitMs: number;
  reason: 'full' | 'retry-after' | 'contended';
}

const EPOCH = new Date(0);

/** The place of an endpoint's Retry-After hold. */
export const HOLD_PLACE = -1;

/**
 * One process's count of successful calls since the limit last changed: each worker counts its own, and
 * a round of them (as many as the limit) adds a step. Kept out of the shared document, whose racing
 * updates FerretDB could lose.
 */
export interface SuccessTally {
  changedAt: number;
  successes: number;
}

/** Creates the endpoint's document if it is new, and records the settings of the latest caller. */
export async function ensureEndpoint(col: Collection<EndpointDoc>, name: string, cfg: AdaptiveConcurrencyConfig): Promise<void> {
  const now = new Date();
  try {
    await col.updateOne(
      { _id: name },
      {
        $setOnInsert: { limit: cfg.initial ?? cfg.ceiling, changedAt: EPOCH, decreases: 0, increases: 0 },
        $set: { floor: cfg.floor, ceiling: cfg.ceiling, updatedAt: now },
      },
      { upsert: true },
    );
  } catch (err) {
    // Two workers inserting the same endpoint at once: one wins, which is all that is needed.
    if ((err as { code?: unknown }).code !== 11000) throw err;
  }
  // A lower ceiling in a newer config applies at once; a higher floor too.
  await col.updateOne({ _id: name, limit: { $gt: cfg.ceiling } }, { $set: { limit: cfg.ceiling, changedAt: now } });
  await col.updateOne({ _id: name, limit: { $lt: cfg.floor } }, { $set: { limit: cfg.floor, changedAt: now } });
}

/**
 * Tries to claim a place: refused while a Retry-After holds or every place below the limit is leased (expired
 * leases are removed first), or when another claim took the chosen place first. `leaseMs` is the longest the
 * call can take, after which a lease no one gave back stops counting.
 */
export async function claimLease(cols: EndpointCollections, name: string, holder: string, leaseMs: number, pollMs: number): Promise<EndpointLease | ClaimRefused> {
  const doc = await cols.endpoints.findOne({ _id: name });
  if (!doc) throw new Error(`endpoint ${name} has no limit document`);
  const now = Date.now();
  const leases = await cols.leases.find({ endpoint: name }).toArray();
  const hold = leases.find((l) => l.place === HOLD_PLACE);
  if (hold && hold.until.getTime() > now) return { waitMs: hold.until.getTime() - now, reason: 'retry-after' };
  const taken = new Set<number>();
  for (const l of leases) {
    if (l.place === HOLD_PLACE) continue;
    if (l.until.getTime() >= now) taken.add(l.place);
    else await cols.leases.deleteOne({ _id: l._id, holder: l.holder });
  }
  const free = Array.from({ length: doc.limit }, (_, i) => i).filter((i) => !taken.has(i));
  if (free.length === 0) return { waitMs: pollMs, reason: 'full' };
  const place = free[Math.floor(Math.random() * free.length)];
  const id = `${name}#${place}`;
  try {
    await cols.leases.insertOne({ _id: id, endpoint: name, place, holder, until: new Date(now + leaseMs) });
  } catch (err) {
    if ((err as { code?: unknown }).code === 11000) return { waitMs: Math.ceil(pollMs / 4), reason: 'contended' };
    throw err;
  }
  return { endpoint: name, id, holder, grantedAt: new Date(now) };
}

/** Gives a place back. */
export async function releaseLease(cols: EndpointCollections, lease: EndpointLease): Promise<void> {
  await cols.leases.deleteOne({ _id: lease.id, holder: lease.holder });
}

/**
 * The endpoint said it is overloaded (429, 503): every call waits out its Retry-After, and the limit is cut by
 * `decrease` (not below the floor), once per change: a call granted before the limit last changed ran under
 * the older limit and does not cut it again.
 */
export async function recordOverload(cols: EndpointCollections, lease: EndpointLease, cfg: AdaptiveConcurrencyConfig, retryAfterMs: number | undefined): Promise<void> {
  const now = new Date();
  if (retryAfterMs !== undefined && retryAfterMs > 0) {
    // Only 429s write the hold, all with about the same time: one lost to a race changes little.
    await cols.leases.updateOne(
      { _id: `${lease.endpoint}#hold` },
      { $max: { until: new Date(now.getTime() + retryAfterMs) }, $setOnInsert: { endpoint: lease.endpoint, place: HOLD_PLACE, holder: 'retry-after' } },
      { upsert: true },
    ).catch((err: unknown) => {
      if ((err as { code?: unknown }).code !== 11000) throw err;
    });
  }
  const doc = await cols.endpoints.findOne({ _id: lease.endpoint }, { projection: { limit: 1, changedAt: 1 } });
  if (!doc || doc.changedAt.getTime() > lease.grantedAt.getTime()) return;
  const cut = Math.max(cfg.floor, Math.floor(doc.limit * cfg.decrease));
  if (cut >= doc.limit) return;
  await cols.endpoints.updateOne(
    { _id: lease.endpoint, limit: doc.limit, changedAt: { $lte: lease.grantedAt } },
    { $set: { limit: cut, changedAt: now, updatedAt: now }, $inc: { decreases: 1 } },
  );
}

/** A call succeeded: after a round of this process's successes (as many as the limit) the limit grows by `step`, up to the ceiling. */
export async function recordSuccess(col: Collection<EndpointDoc>, name: string, cfg: AdaptiveConcurrencyConfig, tally: SuccessTally): Promise<void> {
  const doc = await col.findOne({ _id: name }, { projection: { limit: 1, changedAt: 1 } });
  if (!doc) return;
  if (doc.changedAt.getTime() !== tally.changedAt) {
    tally.changedAt = doc.changedAt.getTime();
    tally.successes = 0;
  }
  tally.successes += 1;
  if (tally.successes < doc.limit || doc.limit >= cfg.ceiling) return;
  tally.successes = 0;
  const now = new Date();
  await col.updateOne(
    { _id: name, limit: doc.limit, changedAt: doc.changedAt },
    { $set: { limit: Math.min(cfg.ceiling, doc.limit + cfg.step), changedAt: now, updatedAt: now }, $inc: { increases: 1 } },
  );
}

/** An endpoint's limit as `status` shows it. */
export interface EndpointView {
  endpoint: string;
  limit: number;
  floor: number;
  ceiling: number;
  inFlight: number;
  decreases: number;
  increases: number;
  /** Set while a Retry-After holds every call. */
  blockedUntil?: string;
}

/** The current limit and calls in flight of the named endpoints that have a document. */
export async function endpointViews(cols: EndpointCollections, names: string[]): Promise<EndpointView[]> {
  if (names.length === 0) return [];
  const docs = await cols.endpoints.find({ _id: { $in: names } }).toArray();
  const now = Date.now();
  return Promise.all(docs.map(async (d) => {
    const leases = await cols.leases.find({ endpoint: d._id }).toArray();
    const hold = leases.find((l) => l.place === HOLD_PLACE && l.until.getTime() > now);
    return {
      endpoint: d._id, limit: d.limit, floor: d.floor, ceiling: d.ceiling,
      inFlight: leases.filter((l) => l.place !== HOLD_PLACE && l.until.getTime() >= now).length,
      decreases: d.decreases, increases: d.increases,
      ...(hold ? { blockedUntil: hold.until.toISOString() } : {}),
    };
  }));
}
