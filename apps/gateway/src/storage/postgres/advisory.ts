import type pg from 'pg';

/**
 * What the cluster's coherence modules (byte-range locks, client caching) share: a process's
 * liveness lock and an inode's transaction-scoped advisory lock. Advisory locks use the two-key form, a space apart from the one-key
 * locks of the store.
 */

/** The liveness lock's class: (7411, alive key), held by the listening session of a process. */
export const ALIVE_CLASS = 7411;

/** A row of `alias` (with an `alive` column) counts while its process holds its liveness lock. */
export function liveCondition(alias: string): string {
  return `EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.classid = ${ALIVE_CLASS}
  AND l.objid::bigint = ${alias}.alive AND l.objsubid = 2 AND l.granted)`;
}

/**
 * Runs `body` in a transaction holding the advisory lock (lockClass, ino): the next process
 * deciding about the inode waits for the commit. Rolled back when `body` throws (and the
 * error passed on); a connection that failed is not returned to the pool.
 */
export async function inInodeLock<T>(
  pool: pg.Pool,
  lockClass: number,
  ino: bigint,
  body: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken = err;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(${lockClass}, ($1::bigint % 2147483647)::int)`, [ino]);
    const result = await body(client);
    await client.query('COMMIT');
    return result;
  } catch (e) {
    await client.query('ROLLBACK').catch((r: Error) => {
      broken = r;
    });
    throw e;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}
