import type pg from 'pg';

/**
 * What the cluster's coherence modules (byte-range locks, SMB opens) share: a process's
 * liveness lock and decisions under an inode's transaction-scoped advisory lock. Advisory locks
 * use the two-key form, a space apart from the one-key locks of the store.
 */

/** The liveness lock's class: (7411, alive key), held by the listening session of a process. */
export const ALIVE_CLASS = 7411;

/** A row of `alias` (with an `alive` column) counts while its process holds its liveness lock. */
export function liveCondition(alias: string): string {
  return `EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.classid = ${ALIVE_CLASS}
  AND l.objid::bigint = ${alias}.alive AND l.objsubid = 2 AND l.granted)`;
}

/** A decision's outcome: its value, and the statements that store it (committed with them). */
export interface Decided<T> {
  value: T;
  writes: readonly string[];
}

/**
 * One decision about an inode, in two round trips: `BEGIN`, the advisory lock (lockClass, ino)
 * and `read` in one; then `decide` with the rows read, and its writes with `COMMIT` in the
 * other — the next process deciding about the inode waits for that commit. Statements go as
 * text, values inlined (integers, or `pg.escapeLiteral` for text). Rolled back when `decide` or
 * a write throws (the error passed on); a connection that failed is not returned to the pool.
 */
export async function decideUnderInodeLock<R, T>(
  pool: pg.Pool,
  lockClass: number,
  ino: bigint,
  read: string,
  decide: (rows: R[]) => Decided<T>,
): Promise<T> {
  return onConnection(pool, async (client, fail) => {
    try {
      const results = (await client.query(
        `BEGIN; SELECT pg_advisory_xact_lock(${lockClass}, ${ino % 2147483647n}); ${read}`,
      )) as unknown as pg.QueryResult[];
      const { value, writes } = decide(results[2]!.rows as R[]);
      await client.query([...writes, 'COMMIT'].join('; '));
      return value;
    } catch (e) {
      await client.query('ROLLBACK').catch(fail);
      throw e;
    }
  });
}

/**
 * Runs `use` on a pooled connection. One that failed — an error event, or `use` calling
 * `fail` — is not returned to the pool.
 */
async function onConnection<T>(
  pool: pg.Pool,
  use: (client: pg.PoolClient, fail: (err: Error) => void) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const fail = (err: Error) => {
    broken = err;
  };
  client.on('error', fail);
  try {
    return await use(client, fail);
  } finally {
    client.off('error', fail);
    client.release(broken);
  }
}

/** The advisory lock class of object-store chunks being rewritten (s3-blobs.ts chunkGuard). */
const CHUNK_CLASS = 7414;

/**
 * Runs `work` holding the transaction-scoped advisory lock (7414, chunk key): one process at a
 * time rewrites a chunk of the shared object store. The key folds blob and chunk index into 31
 * bits; two chunks that share one only wait for each other. The transaction is empty: it ends
 * (COMMIT) after the work, done or failed; a connection that failed is not returned to the pool.
 */
export async function underChunkLock<T>(
  pool: pg.Pool,
  blob: bigint,
  index: number,
  work: () => Promise<T>,
): Promise<T> {
  const key = (blob * 1_000_003n + BigInt(index)) % 2147483647n;
  return onConnection(pool, async (client, fail) => {
    await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${CHUNK_CLASS}, ${key})`);
    try {
      return await work();
    } finally {
      await client.query('COMMIT').catch(fail);
    }
  });
}
