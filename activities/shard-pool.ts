/** A running shard runner that can start more of its samples at once when it is given places. */
export interface PoolMember {
  /** Whether a prepared sample of this runner waits for a place now. */
  hasWaiting(): boolean;
  /** Starts one waiting sample on a place of the pool; resolves when its call has ended. */
  runOnPlace(): Promise<void>;
}

interface Pool {
  /** Places not in use (negative while places taken back are still in use). */
  free: number;
  /** Places each member lent and has not ended as completed with. */
  lent: Map<PoolMember, number>;
}

/**
 * Model-call places that the shard runners of one job share within a worker process. Each runner has its
 * own `calls` places for its own index range. Once a runner has started every sample of its range, each
 * place it no longer needs goes to the job's pool here, and the pool starts the other runners' waiting
 * samples on it: the ranges stay fixed, but the job's window stays full until its last samples have
 * started, instead of every shard ending on a partly empty round of its own. A runner that ends completed
 * leaves its places in the pool; one that ends any other way takes them back (its retry brings its own),
 * so across workers a job has no more calls in flight than its window beyond calls already running then.
 */
export class JobPools {
  private readonly pools = new Map<string, Pool>();

  /** Enters a runner of the job `key`. */
  join(key: string, member: PoolMember): void {
    let pool = this.pools.get(key);
    if (!pool) this.pools.set(key, (pool = { free: 0, lent: new Map() }));
    pool.lent.set(member, 0);
  }

  /** The runner needs `places` of its own places no more: the job's other runners here may use them. */
  lend(key: string, member: PoolMember, places: number): void {
    const pool = this.pools.get(key);
    const lent = pool?.lent.get(member);
    if (!pool || lent === undefined || places <= 0) return;
    pool.lent.set(member, lent + places);
    pool.free += places;
    this.dispatch(pool);
  }

  /** A runner has new samples waiting (a page was prepared): free places may start them. */
  poke(key: string): void {
    const pool = this.pools.get(key);
    if (pool) this.dispatch(pool);
  }

  /** The runner has ended: its lent places stay if it completed, else they are taken back. */
  leave(key: string, member: PoolMember, completed: boolean): void {
    const pool = this.pools.get(key);
    const lent = pool?.lent.get(member);
    if (!pool || lent === undefined) return;
    pool.lent.delete(member);
    if (!completed) pool.free -= lent;
    if (pool.lent.size === 0) this.pools.delete(key);
  }

  /** Jobs with a runner here now (for tests). */
  get jobs(): number {
    return this.pools.size;
  }

  /** Starts waiting samples of the pool's runners on its free places, one runner after another. */
  private dispatch(pool: Pool): void {
    while (pool.free > 0) {
      const member = [...pool.lent.keys()].find((m) => m.hasWaiting());
      if (!member) return;
      pool.free -= 1;
      void member.runOnPlace().finally(() => {
        pool.free += 1;
        this.dispatch(pool);
      });
    }
  }
}
