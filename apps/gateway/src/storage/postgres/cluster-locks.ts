import { randomInt } from 'node:crypto';
import pg from 'pg';
import { KeyedQueue } from '../../util/keyed-queue.ts';
import { fsError, isFsError } from '../errors.ts';
import type { ByteRangeLock, LockCluster, LockTable } from '../locks.ts';
import { ALIVE_CLASS, decideUnderInodeLock, liveCondition } from './advisory.ts';

/** The advisory lock class of an inode's byte-range lock decisions. */
const INODE_CLASS = 7412;

/** Rows of processes still holding their liveness lock. */
const LIVE = liveCondition('b');

const SELECT_OTHERS = `SELECT node, off, len, point, exclusive, protocol, owner_key, client, since FROM byte_locks b
  WHERE ino = $1 AND alive <> $2 AND ${LIVE}`;

interface LockRow {
  node: string;
  off: bigint;
  len: bigint;
  point: boolean;
  exclusive: boolean;
  protocol: string;
  owner_key: string;
  client: string;
  since: bigint;
}

/**
 * Byte-range locks coherent across gateway nodes on one PostgreSQL. Every decision about an
 * inode's locks (NLM LOCK/UNLOCK, SMB LOCK) runs under a transaction-scoped advisory lock of
 * the inode, sees the other nodes' live locks of it, and stores this node's before the next
 * node decides; a change is announced over NOTIFY so the others refresh their view, which
 * SMB's mandatory read/write checks consult. Releases are stored in the background: until then
 * another node sees the lock still held (it waits or is refused — never a conflict granted).
 * A process's rows count while it holds its liveness lock (a session advisory lock on its
 * listening connection), so a crashed node's locks go with its connection.
 */
export class ClusterLocks implements LockCluster {
  /** This process's liveness key (held as advisory lock (7411, key) by the listener). */
  readonly aliveKey = randomInt(1, 2 ** 31 - 1);
  private readonly queue = new KeyedQueue<bigint>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly node: string,
    private readonly table: LockTable,
    /** Announces that this node's locks of the inode changed (batched NOTIFY). */
    private readonly announce: (ino: bigint) => void,
    private readonly onError: (err: Error) => void = () => {},
  ) {}

  /** The liveness lock, taken on the listener's session (ClusterInvalidation). */
  aliveSql(): { text: string; values: unknown[] } {
    return { text: `SELECT pg_advisory_lock(${ALIVE_CLASS}, $1)`, values: [this.aliveKey] };
  }

  arbitrate<T>(ino: bigint, decide: () => T): Promise<T> {
    return this.queue.run(ino, () => this.decide(ino, decide));
  }

  released(ino: bigint): void {
    this.arbitrate(ino, () => undefined).catch((e: Error) => this.onError(e));
  }

  private async decide<T>(ino: bigint, decide: () => T): Promise<T> {
    let before: ByteRangeLock[] | undefined;
    try {
      const result = await decideUnderInodeLock<LockRow, T>(
        this.pool,
        INODE_CLASS,
        ino,
        `SELECT node, off, len, point, exclusive, protocol, owner_key, client, since FROM byte_locks b
         WHERE ino = ${ino} AND alive <> ${this.aliveKey} AND ${LIVE}`,
        (others) => {
          this.table.setRemote(
            ino,
            others.map((r) => toLock(ino, r)),
          );
          before = [...this.table.localLocks(ino)];
          const value = decide();
          const rows = this.table
            .localLocks(ino)
            .map((l) =>
              [
                this.aliveKey,
                pg.escapeLiteral(this.node),
                ino,
                l.offset,
                l.length,
                l.point ?? false,
                l.exclusive,
                pg.escapeLiteral(l.owner.protocol),
                pg.escapeLiteral(l.owner.key),
                pg.escapeLiteral(l.owner.client),
                l.since,
              ].join(', '),
            );
          return {
            value,
            writes: [
              `DELETE FROM byte_locks b WHERE ino = ${ino} AND alive <> ${this.aliveKey} AND NOT ${LIVE}`,
              `DELETE FROM byte_locks WHERE ino = ${ino} AND alive = ${this.aliveKey}`,
              ...(rows.length > 0
                ? [
                    `INSERT INTO byte_locks (alive, node, ino, off, len, point, exclusive, protocol, owner_key, client, since)
                     VALUES ${rows.map((r) => `(${r})`).join(', ')}`,
                  ]
                : []),
            ],
          };
        },
      );
      this.announce(ino);
      return result;
    } catch (e) {
      // Not stored, not decided: the caller hears "try again", so nothing may stay granted here.
      if (before) this.table.restoreLocal(ino, before);
      if (isFsError(e)) throw e;
      // The protocols answer their "try again" status (SMB: as for an open circuit).
      throw fsError('EAGAIN', `cluster lock state unavailable: ${(e as Error).message}`, String(ino));
    }
  }

  /** Another node announced a change: reload its view of the inode. */
  async refresh(ino: bigint): Promise<void> {
    const r = await this.pool.query<LockRow>(SELECT_OTHERS, [ino, this.aliveKey]);
    this.table.setRemote(
      ino,
      r.rows.map((row) => toLock(ino, row)),
    );
  }

  /**
   * At start and after the listener reconnected (notifications may have been missed, and a
   * database restart dropped every liveness lock): this node's locks stored again, and the
   * other nodes' live locks loaded.
   */
  async resync(): Promise<void> {
    for (const ino of this.table.lockedInodes()) this.released(ino);
    const r = await this.pool.query<LockRow & { ino: bigint }>(
      `SELECT ino, node, off, len, point, exclusive, protocol, owner_key, client, since FROM byte_locks b
       WHERE alive <> $1 AND ${LIVE}`,
      [this.aliveKey],
    );
    const byIno = new Map<bigint, ByteRangeLock[]>();
    for (const row of r.rows) {
      const list = byIno.get(row.ino) ?? [];
      list.push(toLock(row.ino, row));
      byIno.set(row.ino, list);
    }
    for (const ino of this.table.remoteInodes()) if (!byIno.has(ino)) this.table.setRemote(ino, []);
    for (const [ino, list] of byIno) this.table.setRemote(ino, list);
  }
}

function toLock(ino: bigint, r: LockRow): ByteRangeLock {
  return {
    ino,
    offset: BigInt(r.off),
    length: BigInt(r.len),
    ...(r.point ? { point: true } : {}),
    exclusive: r.exclusive,
    // NLM owners name the client process, the same on every node; SMB opens exist on one node.
    owner: {
      protocol: r.protocol,
      key: r.protocol === 'smb' ? `${r.node}/${r.owner_key}` : r.owner_key,
      client: r.client,
    },
    since: Number(r.since),
    node: r.node,
  };
}
