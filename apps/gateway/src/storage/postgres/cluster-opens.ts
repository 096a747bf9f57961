import pg from 'pg';
import { DEFAULTS } from '../../config/defaults.ts';
import { KeyedQueue } from '../../util/keyed-queue.ts';
import { loopTimeout } from '../../util/loop-stalls.ts';
import { parseDuration } from '../../util/units.ts';
import type { CachingHolder, RecallNeed } from '../caching-recall.ts';
import { fsError } from '../errors.ts';
import {
  isEmptyHolds,
  NO_HOLDS,
  type OpenHolds,
  type OpenHoldsCluster,
  sameHolds,
  sumHolds,
} from '../open-holds.ts';
import { decideUnderInodeLock, liveCondition, OPENS_CLASS } from './advisory.ts';

/** Lease bits, as the SMB server keeps them (MS-SMB2 §2.2.13.2.8). */
const R = 0x1;
const H = 0x2;
const W = 0x4;

const COLUMNS = 'caching, readers, writers, deleters, no_read, no_write, no_delete, delete_pending';

/**
 * How much longer than a break's timeout a recall waits for the node it asked: that node's own
 * breaks time out after `smb.break_timeout` (35 s by default, as Windows'), and its answer may
 * take a notification's round trip more. A node that never answers (gone, or its listener down)
 * is then taken as having answered.
 */
const REMOTE_RECALL_MARGIN_MS = 5_000;

/** `smb.break_timeout`'s default, for a cluster built without the gateway's config (tests). */
const DEFAULT_BREAK_TIMEOUT_MS = parseDuration(DEFAULTS.breakTimeout);

const LIVE = liveCondition('o');

/**
 * How long what this node's clients gave up of a file (a close, an acknowledged break) waits to
 * be recorded: a client that closes a file and opens it again at once is recorded once.
 */
const RECORD_DELAY_MS = 5;

/** A row of `open_holds` (integers as the driver hands them back). */
interface HoldRow {
  alive: unknown;
  node: string;
  caching: unknown;
  readers: unknown;
  writers: unknown;
  deleters: unknown;
  no_read: unknown;
  no_write: unknown;
  no_delete: unknown;
  delete_pending: unknown;
}

function holdsOf(r: HoldRow): OpenHolds {
  return {
    caching: Number(r.caching),
    readers: Number(r.readers),
    writers: Number(r.writers),
    deleters: Number(r.deleters),
    noRead: Number(r.no_read),
    noWrite: Number(r.no_write),
    noDelete: Number(r.no_delete),
    deletePending: Number(r.delete_pending),
  };
}

/**
 * A recall another node asks of this one: its id, the inode, what it needs (`r` write caching
 * given up, `w` all caching, `h` handle caching, `s` only the holds recorded as they are now),
 * the node it asks.
 */
export type RecallRequest = [id: string, ino: string, need: 'r' | 'w' | 'h' | 's', to: number];

const NEED_CODE = { read: 'r', write: 'w', handle: 'h', settle: 's' } as const;
const NEED_OF = { r: 'read', w: 'write', h: 'handle' } as const;

/** How the open coherence talks to the other nodes (over the invalidation listener). */
export interface OpensMessenger {
  /** Announces that this node's holds of the inode changed: the others reload their view. */
  changed(ino: bigint): void;
  /** Rejects when the request could not be sent. */
  request(r: RecallRequest): Promise<void>;
  answer(id: string): Promise<void>;
}

/**
 * SMB opens coherent across gateway nodes on one PostgreSQL, as CTDB makes Samba's: each node
 * records what its clients hold of a file (`open_holds`, a row per process and inode: caching
 * and share-mode counts) and keeps a view of the other nodes' rows, reloaded when they announce
 * a change. An open with data access, or one asking for caching, is decided under the inode's
 * advisory lock, seeing the others' rows as they are (a sharing violation with another node's
 * opens; no write caching beside another node's clients, nothing beside their write caching),
 * and recorded before the next node decides. A change or read on this node (NFS, S3, or an SMB
 * open or write) of a file another node's clients cache asks that node to recall it (a
 * notification) and waits for its answer, as for a recall of this node's own clients. Rows count
 * while their process holds its liveness lock, so a crashed node's opens go with its
 * connection. What is given up (a close, an acknowledged break) is recorded shortly after, in
 * the background; a node that meets it still recorded asks this one, which records it then
 * (`settle`, or a recall answered at once).
 */
export class ClusterOpens implements CachingHolder, OpenHoldsCluster {
  readonly remote = true;
  localHolds: (ino: bigint) => OpenHolds = () => NO_HOLDS;
  releasedElsewhere?: (ino: bigint) => void;
  /** The other nodes' holds, by inode and process. */
  private readonly view = new Map<bigint, Map<number, OpenHolds>>();
  /** The node names of the processes in the view. */
  private readonly nodes = new Map<number, string>();
  /** What this process last recorded of an inode. */
  private readonly recorded = new Map<bigint, OpenHolds>();
  private readonly queue = new KeyedQueue<bigint>();
  private readonly waiting = new Map<string, () => void>();
  /** Inodes whose holds are to be recorded (`changed`). */
  private readonly pending = new Set<bigint>();
  private seq = 0;
  /** Requests sent to other nodes (recalls, settles), answered, and never answered (metrics). */
  readonly stats = { asked: 0, answered: 0, unanswered: 0 };

  constructor(
    private readonly pool: pg.Pool,
    private readonly node: string,
    private readonly aliveKey: number,
    private readonly messenger: OpensMessenger,
    /** This node's clients' caching recalled (the local holders of the namespace's recalls). */
    private readonly recallLocal: (ino: bigint, need: RecallNeed) => Promise<void> | undefined,
    private readonly onError: (err: Error) => void = () => {},
    /** This node's `smb.break_timeout`, taken as the other nodes' too (one config for all). */
    private readonly breakTimeoutMs: () => number = () => DEFAULT_BREAK_TIMEOUT_MS,
  ) {}

  get active(): boolean {
    return this.view.size > 0;
  }

  recall(ino: bigint, need: RecallNeed): Promise<void> | undefined {
    const holds = this.view.get(ino);
    if (!holds) return undefined;
    const beyond = need === 'read' ? W : need === 'handle' ? H : R | H | W;
    const asks: Promise<void>[] = [];
    for (const [alive, h] of holds) if (h.caching & beyond) asks.push(this.ask(alive, ino, need));
    return asks.length > 0 ? Promise.all(asks).then(() => undefined) : undefined;
  }

  /**
   * Asks every other process holding the file to record what its clients hold of it now (a
   * close there not yet recorded), and waits for their answers.
   */
  settle(ino: bigint): Promise<void> {
    const holds = this.view.get(ino);
    if (!holds) return Promise.resolve();
    return Promise.all([...holds.keys()].map((alive) => this.ask(alive, ino, 'settle'))).then(
      () => undefined,
    );
  }

  private ask(alive: number, ino: bigint, need: RecallNeed | 'settle'): Promise<void> {
    const id = `${this.aliveKey}.${++this.seq}`;
    this.stats.asked++;
    return new Promise<void>((resolve) => {
      // Unanswered (the node gone, or the database down so that no notification goes either
      // way): the change goes on, as after a local break's timeout; it then meets the
      // metadata's own state (an open circuit answers its error at once).
      // The wait counts only time this process ran: an answer that came while it stood still
      // is read before the wait can run out.
      const unanswered = () => {
        cancel();
        if (!this.waiting.delete(id)) return;
        this.stats.unanswered++;
        this.refresh(ino).catch(this.onError);
        resolve();
      };
      const cancel = loopTimeout(this.breakTimeoutMs() + REMOTE_RECALL_MARGIN_MS, unanswered, {
        unref: true,
      });
      this.waiting.set(id, () => {
        this.stats.answered++;
        cancel();
        this.waiting.delete(id);
        resolve();
      });
      this.messenger.request([id, String(ino), NEED_CODE[need], alive]).catch((e: Error) => {
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
      Promise.resolve(need === 's' ? undefined : this.recallLocal(inode, NEED_OF[need]))
        .then(() => this.record(inode))
        .catch(this.onError)
        .finally(() => this.messenger.answer(id).catch(this.onError));
    }
  }

  /** Answers to this node's recalls. */
  answered(ids: readonly string[]): void {
    for (const id of ids) this.waiting.get(id)?.();
  }

  async claim<T>(ino: bigint, decide: (others: OpenHolds) => T): Promise<T> {
    return this.queue.run(ino, async () => {
      let stored: OpenHolds = NO_HOLDS;
      let changed = false;
      const result = await decideUnderInodeLock<HoldRow, T>(
        this.pool,
        OPENS_CLASS,
        ino,
        // The file itself: removed by another node as this open was being made, the open
        // meets it gone (that node did not see the open, so it did not keep the file for it).
        `${this.othersSql(ino)}; SELECT 1 AS present FROM inodes WHERE ino = ${ino}`,
        (others, [file]) => {
          if (file?.rowCount === 0) throw fsError('ENOENT', 'removed through another node', String(ino));
          this.setView(ino, others);
          const value = decide(sumHolds(this.view.get(ino)?.values() ?? []));
          stored = { ...this.localHolds(ino) };
          // Unchanged (an open closed and another taken its place): nothing to store or tell.
          if (sameHolds(this.recorded.get(ino) ?? NO_HOLDS, stored)) return { value, writes: [] };
          changed = true;
          return { value, writes: [this.storeSql(ino, stored)] };
        },
      );
      if (changed) {
        this.recorded.set(ino, stored);
        this.messenger.changed(ino);
      }
      return result;
    });
  }

  /**
   * Recorded RECORD_DELAY_MS later, in one write however many changes come meanwhile — or in
   * none, when the file's next open (a claim) has stored the same holds first.
   */
  changed(ino: bigint): void {
    if (this.pending.has(ino) || sameHolds(this.recorded.get(ino) ?? NO_HOLDS, this.localHolds(ino))) return;
    this.pending.add(ino);
    setTimeout(() => {
      this.pending.delete(ino);
      this.record(ino).catch(this.onError);
    }, RECORD_DELAY_MS).unref();
  }

  /** Records this node's current holds of the inode, if they changed (or `again`), and announces them. */
  private record(ino: bigint, again = false): Promise<void> {
    return this.queue.run(ino, async () => {
      const holds = { ...this.localHolds(ino) };
      if (!again && sameHolds(this.recorded.get(ino) ?? NO_HOLDS, holds)) return;
      await this.pool.query(this.storeSql(ino, holds));
      this.recorded.set(ino, holds);
      this.messenger.changed(ino);
    });
  }

  /** The other processes' live rows of the inode. */
  private othersSql(ino: bigint): string {
    return `SELECT alive, node, ${COLUMNS} FROM open_holds o WHERE ino = ${ino} AND alive <> ${this.aliveKey} AND ${LIVE}`;
  }

  /** This process's row of the inode set to `h` (removed when it holds nothing). */
  private storeSql(ino: bigint, h: OpenHolds): string {
    if (isEmptyHolds(h)) return `DELETE FROM open_holds WHERE alive = ${this.aliveKey} AND ino = ${ino}`;
    const values = [
      h.caching,
      h.readers,
      h.writers,
      h.deleters,
      h.noRead,
      h.noWrite,
      h.noDelete,
      h.deletePending,
    ].join(', ');
    return `INSERT INTO open_holds (alive, node, ino, ${COLUMNS})
      VALUES (${this.aliveKey}, ${pg.escapeLiteral(this.node)}, ${ino}, ${values})
      ON CONFLICT (alive, ino) DO UPDATE SET caching = excluded.caching, readers = excluded.readers,
        writers = excluded.writers, deleters = excluded.deleters, no_read = excluded.no_read,
        no_write = excluded.no_write, no_delete = excluded.no_delete, delete_pending = excluded.delete_pending`;
  }

  /** Another node announced a change of its holds of the inode: reload the view of it. */
  async refresh(ino: bigint): Promise<void> {
    const r = await this.pool.query<HoldRow>(this.othersSql(ino));
    this.setView(ino, r.rows);
  }

  /**
   * At start and after the listener reconnected (notifications may have been missed, and a
   * database restart dropped the liveness locks): the other nodes' live rows loaded anew.
   */
  async resync(): Promise<void> {
    // The table is unlogged (a database crash empties it, as it ends every liveness lock):
    // this process's rows are stored again, and crashed processes' rows cleared.
    for (const ino of this.recorded.keys()) this.record(ino, true).catch(this.onError);
    await this.pool.query(`DELETE FROM open_holds o WHERE NOT ${LIVE}`);
    const r = await this.pool.query<HoldRow & { ino: string }>(
      `SELECT ino, alive, node, ${COLUMNS} FROM open_holds o WHERE alive <> $1 AND ${LIVE}`,
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

  heldElsewhere(ino: bigint): OpenHolds {
    return sumHolds(this.view.get(ino)?.values() ?? []);
  }

  /** What the other nodes' clients hold, file by file (`./cfs smb status`). */
  elsewhere(): Array<{ node: string; ino: bigint; holds: OpenHolds }> {
    const out: Array<{ node: string; ino: bigint; holds: OpenHolds }> = [];
    for (const [ino, byProcess] of this.view) {
      for (const [alive, holds] of byProcess) out.push({ node: this.nodes.get(alive) ?? '?', ino, holds });
    }
    return out;
  }

  private setView(ino: bigint, rows: readonly HoldRow[]): void {
    for (const r of rows) this.nodes.set(Number(r.alive), r.node);
    const held = rows.map((r) => [Number(r.alive), holdsOf(r)] as const).filter(([, h]) => !isEmptyHolds(h));
    if (held.length > 0) this.view.set(ino, new Map(held));
    else {
      this.view.delete(ino);
      this.releasedElsewhere?.(ino);
    }
  }
}
