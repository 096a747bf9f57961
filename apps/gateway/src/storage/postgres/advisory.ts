import type pg from 'pg';

/**
 * What the cluster's coherence modules (byte-range locks, SMB opens) share: a process's
 * liveness lock and decisions under an inode's transaction-scoped advisory lock. Advisory locks
 * use the two-key form, a space apart from the one-key locks of the store.
 *
 * The data path's locks are taken in one order, so no two processes wait for each other in a
 * circle: a file's local size lock (Namespace sizeLocks), then its move (7416) or size (7417)
 * lock — never both —, then a blob's (7415), then a chunk's (7414). Each is held on a
 * connection of its own, from a pool the later locks never draw from.
 */

/** The liveness lock's class: (7411, alive key), held by the listening session of a process. */
export const ALIVE_CLASS = 7411;

/**
 * The advisory lock class of an inode's SMB open decisions (share modes and caching,
 * cluster-opens.ts), which removing the file's last name waits for too (meta/entries.ts).
 */
export const OPENS_CLASS = 7413;

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
 * other — the next process deciding about the inode waits for that commit. `read` may hold
 * more statements: the rows of the first are `rows`, the others' results `more`. Statements go
 * as text, values inlined (integers, or `pg.escapeLiteral` for text). Rolled back when `decide`
 * or a write throws (the error passed on); a connection that failed is not returned to the pool.
 */
export async function decideUnderInodeLock<R, T>(
  pool: pg.Pool,
  lockClass: number,
  ino: bigint,
  read: string,
  decide: (rows: R[], more: pg.QueryResult[]) => Decided<T>,
): Promise<T> {
  return onConnection(pool, async (client, fail) => {
    try {
      const results = (await client.query(
        `BEGIN; SELECT pg_advisory_xact_lock(${lockClass}, ${ino % 2147483647n}); ${read}`,
      )) as unknown as pg.QueryResult[];
      const { value, writes } = decide(results[2]!.rows as R[], results.slice(3));
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

/** The advisory lock class of object-store chunks being rewritten (s3-blobs.ts SharedStoreGuard). */
const CHUNK_CLASS = 7414;
/** The advisory lock class of object-store blobs: shared by their uploads, exclusive to cut or remove them. */
const BLOB_CLASS = 7415;
/** The advisory lock class of files moving out of inline (Namespace inlineMoveGuard). */
const MOVE_CLASS = 7416;
/** The advisory lock class of files' sizes (Namespace clusterSizeGuard): shared by writes, exclusive to cut. */
const SIZE_CLASS = 7417;
/** Blobs locked in one transaction at most: each advisory lock takes a slot of PostgreSQL's lock table. */
export const BLOBS_PER_LOCK = 256;

const key31 = (n: bigint) => n % 2147483647n;

/**
 * Runs `work` holding, in one transaction, the blob's advisory lock shared (7415, blob key) and
 * the chunk's exclusive (7414, chunk key): one process at a time rewrites a chunk of the shared
 * object store, and none while another cuts or removes the blob. The keys fold blob and chunk
 * index into 31 bits; two that share one only wait for each other. The transaction is empty:
 * it ends (COMMIT) after the work, done or failed; a connection that failed is not returned to
 * the pool.
 */
export function underChunkLock<T>(
  pool: pg.Pool,
  blob: bigint,
  index: number,
  work: () => Promise<T>,
): Promise<T> {
  const chunk = key31(blob * 1_000_003n + BigInt(index));
  return underLocks(
    pool,
    `SELECT pg_advisory_xact_lock_shared(${BLOB_CLASS}, ${key31(blob)}); SELECT pg_advisory_xact_lock(${CHUNK_CLASS}, ${chunk})`,
    work,
  );
}

/**
 * Runs `work` holding the blobs' advisory locks (7415) exclusive: no process uploads a chunk of
 * them meanwhile, so a chunk deleted or cut is not put back by an upload that read it before.
 * Taken one statement after another in key order, as every process does, so two never wait
 * for each other in a circle. At most BLOBS_PER_LOCK blobs.
 */
export function underBlobLocks<T>(
  pool: pg.Pool,
  blobs: readonly bigint[],
  work: () => Promise<T>,
): Promise<T> {
  if (blobs.length > BLOBS_PER_LOCK)
    throw new RangeError(`${blobs.length} blobs to lock, at most ${BLOBS_PER_LOCK}`);
  const keys = [...new Set(blobs.map(key31))].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  return underLocks(
    pool,
    keys.map((k) => `SELECT pg_advisory_xact_lock(${BLOB_CLASS}, ${k})`).join('; '),
    work,
  );
}

/** Runs `work` holding the file's move lock (7416, ino): one process at a time moves it out of inline. */
export function underMoveLock<T>(pool: pg.Pool, ino: bigint, work: () => Promise<T>): Promise<T> {
  return underLocks(pool, `SELECT pg_advisory_xact_lock(${MOVE_CLASS}, ${key31(ino)})`, work);
}

/**
 * Runs `work` holding the file's size lock (7417, ino), shared or exclusive: writes whose bytes
 * reach the store before their record share it, a size change or trim holds it alone. Taken
 * before any blob or chunk lock (7415, 7414), never while one is held.
 */
export function underSizeLock<T>(
  pool: pg.Pool,
  ino: bigint,
  mode: 'shared' | 'exclusive',
  work: () => Promise<T>,
): Promise<T> {
  const fn = mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
  return underLocks(pool, `SELECT ${fn}(${SIZE_CLASS}, ${key31(ino)})`, work);
}

async function underLocks<T>(pool: pg.Pool, lock: string, work: () => Promise<T>): Promise<T> {
  return onConnection(pool, async (client, fail) => {
    await client.query(`BEGIN; ${lock}`);
    try {
      return await work();
    } finally {
      await client.query('COMMIT').catch(fail);
    }
  });
}
