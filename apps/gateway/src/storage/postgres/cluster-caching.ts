import type pg from 'pg';
import { KeyedQueue } from '../../util/keyed-queue.ts';
import type { CachingCluster, CachingHolder, RecallNeed } from '../caching-recall.ts';
import { inInodeLock, liveCondition } from './advisory.ts';

/** The advisory lock class of an inode's caching decisions. */
const CACHING_CLASS = 7413;

/** Lease bits, as the SMB server keeps them (MS-SMB2 §2.2.13.2.8). */
const R = 0x1;
const H = 0x2;
const W = 0x4;

/**
 * How long a recall waits for the node it asked: that node's own breaks time out after 35 s
 * (Windows' oplock break timeout), and its answer may take a notification's round trip more.
 * A node that never answers (gone, or its listener down) is then taken as having answered.
 */
export const REMOTE_RECALL_TIMEOUT_MS = 40_000;

const LIVE = liveCondition('c');

const SELECT_OTHERS = `SELECT alive, node, caching FROM caching_holds c WHERE ino = $1 AND alive <> $2 AND ${LIVE}`;

interface HoldRow {
  alive: number;
  node: string;
  caching: number;
}

/** A recall another node asks of this one: its id, the inode, what it needs, the node it asks. */
export type RecallRequest = [id: string, ino: string, need: 'r' | 'w', to: number];

/** How the caching coherence talks to the other nodes (over the invalidation listener). */
export interface CachingMessenger {
  /** Announces that this node's caching of the inode changed: the others reload their view. */
  changed(ino: bigint): void;
  /** Rejects when the request could not be sent. */
  request(r: RecallRequest): Promise<void>;
  answer(id: string): Promise<void>;
}

/**
 * SMB client caching (oplocks and leases) coherent across gateway nodes on one PostgreSQL, as
 * CTDB makes Samba's: each node records what its clients cache of a file (`caching_holds`, a
 * row per process and inode) and keeps a view of the other nodes' rows, reloaded when they
 * announce a change. A grant is decided under the inode's advisory lock, seeing the others'
 * rows as they are (no write caching beside another node's client, nothing beside another
 * node's write caching), and recorded before the next node decides. A change or read on this
 * node (NFS, S3, or an SMB open or write) that another node's clients cache asks that node to
 * recall it (a notification) and waits for its answer, as for a recall of this node's own
 * clients. Rows count while their process holds its liveness lock, so a crashed node's caching
 * goes with its connection. Lowered caching is recorded in the background: until then the
 * others see it still held and ask for a recall, answered at once.
 */
export class ClusterCaching implements CachingHolder, CachingCluster {
  readonly remote = true;
  localCaching: (ino: bigint) => number = () => 0;
  /** The other nodes' caching, by inode and process. */
  private readonly view = new Map<bigint, Map<number, HoldRow>>();
  /** What this process last recorded of an inode. */
  private readonly recorded = new Map<bigint, number>();
  private readonly queue = new KeyedQueue<bigint>();
  private readonly waiting = new Map<string, () => void>();
  private seq = 0;
  /** Recalls sent to other nodes, answered, and never answered (for the metrics). */
  readonly stats = { asked: 0, answered: 0, unanswered: 0 };

  constructor(
    private readonly pool: pg.Pool,
    private readonly node: string,
    private readonly aliveKey: number,
    private readonly messenger: CachingMessenger,
    /** This node's clients' caching recalled (the local holders of the namespace's recalls). */
    private readonly recallLocal: (ino: bigint, need: RecallNeed) => Promise<void> | undefined,
    private readonly onError: (err: Error) => void = () => {},
  ) {}

  get active(): boolean {
    return this.view.size > 0;
  }

  /** What the other nodes' clients cache of the file, as last loaded (0: nothing). */
  remoteCaching(ino: bigint): number {
    let bits = 0;
    for (const h of this.view.get(ino)?.values() ?? []) bits |= h.caching;
    return bits;
  }

  recall(ino: bigint, need: RecallNeed): Promise<void> | undefined {
    const holds = this.view.get(ino);
    if (!holds) return undefined;
    const beyond = need === 'read' ? W : R | H | W;
    const asks: Promise<void>[] = [];
    for (const h of holds.values()) if (h.caching & beyond) asks.push(this.ask(h.alive, ino, need));
    return asks.length > 0 ? Promise.all(asks).then(() => undefined) : undefined;
  }

  private ask(alive: number, ino: bigint, need: RecallNeed): Promise<void> {
    const id = `${this.aliveKey}.${++this.seq}`;
    this.stats.asked++;
    return new Promise<void>((resolve) => {
      // Unanswered (the node gone, or the database down so that no notification goes either
      // way): the change goes on, as after a local break's timeout; it then meets the
      // metadata's own state (an open circuit answers its error at once).
      const unanswered = () => {
        clearTimeout(timer);
        if (!this.waiting.delete(id)) return;
        this.stats.unanswered++;
        this.refresh(ino).catch(this.onError);
        resolve();
      };
      const timer = setTimeout(unanswered, REMOTE_RECALL_TIMEOUT_MS);
      timer.unref();
      this.waiting.set(id, () => {
        this.stats.answered++;
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve();
      });
      this.messenger.request([id, String(ino), need === 'read' ? 'r' : 'w', alive]).catch((e: Error) => {
        this.onError(e);
        unanswered();
      });
    });
  }

  /** Recalls other nodes asked for; this node's are done, recorded, then answered. */
  requested(requests: readonly RecallRequest[]): void {
    for (const [id, ino, need, to] of requests) {
      if (to !== this.aliveKey) continue;
      const inode = BigInt(ino);
      Promise.resolve(this.recallLocal(inode, need === 'r' ? 'read' : 'write'))
        .then(() => this.record(inode))
        .catch(this.onError)
        .finally(() => this.messenger.answer(id).catch(this.onError));
    }
  }

  /** Answers to this node's recalls. */
  answered(ids: readonly string[]): void {
    for (const id of ids) this.waiting.get(id)?.();
  }

  async claim<T>(ino: bigint, decide: (remote: number) => T): Promise<T> {
    return this.queue.run(ino, async () => {
      const result = await inInodeLock(this.pool, CACHING_CLASS, ino, async (client) => {
        const others = await client.query<HoldRow>(SELECT_OTHERS, [ino, this.aliveKey]);
        await client.query(`DELETE FROM caching_holds c WHERE ino = $1 AND alive <> $2 AND NOT ${LIVE}`, [
          ino,
          this.aliveKey,
        ]);
        this.setView(ino, others.rows);
        const result = decide(this.remoteCaching(ino));
        await this.store(client, ino, this.localCaching(ino));
        return result;
      });
      this.messenger.changed(ino);
      return result;
    });
  }

  changed(ino: bigint): void {
    if ((this.recorded.get(ino) ?? 0) === this.localCaching(ino)) return;
    this.record(ino).catch(this.onError);
  }

  /** Records this node's current caching of the inode, if it changed, and announces it. */
  private record(ino: bigint): Promise<void> {
    return this.queue.run(ino, async () => {
      const caching = this.localCaching(ino);
      if ((this.recorded.get(ino) ?? 0) === caching) return;
      await this.store(this.pool, ino, caching);
      this.messenger.changed(ino);
    });
  }

  private async store(db: pg.Pool | pg.PoolClient, ino: bigint, caching: number): Promise<void> {
    if (caching === 0) {
      await db.query('DELETE FROM caching_holds WHERE alive = $1 AND ino = $2', [this.aliveKey, ino]);
      this.recorded.delete(ino);
      return;
    }
    await db.query(
      `INSERT INTO caching_holds (alive, node, ino, caching) VALUES ($1, $2, $3, $4)
       ON CONFLICT (alive, ino) DO UPDATE SET caching = excluded.caching`,
      [this.aliveKey, this.node, ino, caching],
    );
    this.recorded.set(ino, caching);
  }

  /** Another node announced a change of its caching of the inode: reload the view of it. */
  async refresh(ino: bigint): Promise<void> {
    const r = await this.pool.query<HoldRow>(SELECT_OTHERS, [ino, this.aliveKey]);
    this.setView(ino, r.rows);
  }

  /**
   * At start and after the listener reconnected (notifications may have been missed, and a
   * database restart dropped the liveness locks): the other nodes' live rows loaded anew.
   */
  async resync(): Promise<void> {
    const r = await this.pool.query<HoldRow & { ino: string }>(
      `SELECT ino, alive, node, caching FROM caching_holds c WHERE alive <> $1 AND ${LIVE}`,
      [this.aliveKey],
    );
    this.view.clear();
    const byIno = new Map<bigint, HoldRow[]>();
    for (const row of r.rows) {
      const ino = BigInt(row.ino);
      byIno.set(ino, [...(byIno.get(ino) ?? []), row]);
    }
    for (const [ino, rows] of byIno) this.setView(ino, rows);
  }

  private setView(ino: bigint, rows: readonly HoldRow[]): void {
    const live = rows.filter((r) => Number(r.caching) !== 0);
    if (live.length === 0) {
      this.view.delete(ino);
      return;
    }
    this.view.set(
      ino,
      new Map(
        live.map((r) => [
          Number(r.alive),
          { alive: Number(r.alive), node: r.node, caching: Number(r.caching) },
        ]),
      ),
    );
  }
}
