import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { pgConnectionString } from '../../config/control-url.ts';
import type { Effects } from '../meta/model.ts';
import type { RecallRequest } from './cluster-opens.ts';

/** What the namespace drops when told: the inodes and entries, or everything (undefined). */
export type Invalidate = (
  inodes?: readonly bigint[],
  names?: ReadonlyArray<readonly [bigint, string]>,
) => void;

/** pg_notify's payload limit is 8000 bytes; a batch that would not fit says "everything". */
const MAX_PAYLOAD = 7900;

interface Message {
  /** The sending node (its own messages are ignored). */
  n: string;
  /** Inode numbers, as decimal strings. */
  i?: string[];
  /** Entries: [directory inode, name]. */
  e?: Array<[string, string]>;
  /** Drop everything (a batch too large for one notification). */
  all?: true;
  /** Inodes whose byte-range locks on the sender changed. */
  l?: string[];
  /** Inodes whose SMB open holds (share modes, caching) on the sender changed. */
  c?: string[];
  /** Recalls of client caching the sender asks of other nodes (cluster-opens.ts). */
  q?: RecallRequest[];
  /** The sender's answers to recalls: their ids. */
  a?: string[];
  /** The sender has just started: a process before it may have left writes unrecorded. */
  s?: true;
}

/** What the byte-range lock coherence (cluster-locks.ts) plugs into the listener. */
export interface LockHooks {
  /** Run on the listening session at each (re)connect: the process's liveness lock. */
  alive: { text: string; values: unknown[] };
  /** Another node's locks of these inodes changed. */
  changed(inodes: bigint[]): void;
  /** The listener reconnected: notifications were missed, liveness was lost and is back. */
  reconnected(): void;
}

/** What the SMB open coherence (cluster-opens.ts) plugs into the listener. */
export interface OpensHooks {
  /** Another node's holds of these inodes changed. */
  changed(inodes: bigint[]): void;
  /** Recalls asked by another node (each names the process it asks). */
  requested(requests: RecallRequest[]): void;
  /** Another node answered these recalls. */
  answered(ids: string[]): void;
  /** The listener reconnected: notifications were missed. */
  reconnected(): void;
}

/**
 * Cache coherence between gateway nodes on one PostgreSQL metadata store: after each commit a
 * node publishes what the mutation touched (batched per event-loop turn, one pg_notify), and
 * every other node LISTENs and drops those inodes, entries and cached data from its caches.
 * A notification arrives within milliseconds; one lost while the listening connection was
 * down is covered by dropping every cache on reconnect, and in any case by the attribute
 * cache's TTL (`cache.ttl`), which bounds how stale another node's view can be.
 */
export class ClusterInvalidation {
  readonly nodeId = randomUUID().slice(0, 8);
  readonly channel: string;
  private listener: pg.Client | undefined;
  private pendingInodes = new Set<bigint>();
  private pendingNames = new Map<string, [bigint, string]>();
  private pendingLocks = new Set<bigint>();
  private pendingOpens = new Set<bigint>();
  locks: LockHooks | undefined;
  opens: OpensHooks | undefined;
  /**
   * Another node started, or this one missed what was said (a reconnect): a gateway process
   * that died may have stored a write's bytes past a file's end without recording the write.
   */
  peerStarted: (() => void) | undefined;
  private scheduled = false;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** Notifications received from other nodes, and published by this one. */
  received = 0;
  published = 0;
  /** Other nodes' starts heard (announceStart). */
  startsHeard = 0;

  constructor(
    private readonly url: string,
    schema: string,
    private readonly pool: pg.Pool,
    private readonly invalidate: Invalidate,
    private readonly onError: (err: Error) => void = () => {},
  ) {
    this.channel = `cfs_meta_${schema}`;
  }

  async start(): Promise<void> {
    const client = new pg.Client({
      connectionString: pgConnectionString(this.url),
      keepAlive: true,
      application_name: 'claudefs-invalidation',
    });
    client.on('notification', (m) => {
      if (m.channel === this.channel && m.payload) this.receive(m.payload);
    });
    client.on('error', (err) => {
      this.onError(err);
      this.reconnect(client);
    });
    client.on('end', () => this.reconnect(client));
    await client.connect();
    await client.query(`LISTEN ${this.channel}`);
    if (this.locks) await client.query(this.locks.alive.text, this.locks.alive.values);
    this.listener = client;
  }

  /** Tells the other nodes this one has just started (their `peerStarted`). */
  announceStart(): void {
    if (!this.closed) this.notify(JSON.stringify({ n: this.nodeId, s: true }));
  }

  /** Called with each committed mutation's effects. */
  publish(fx: Effects): void {
    if (this.closed || (fx.touched.length === 0 && fx.names.length === 0)) return;
    for (const ino of fx.touched) this.pendingInodes.add(ino);
    for (const [dir, name] of fx.names) this.pendingNames.set(`${dir}/${name}`, [dir, name]);
    this.schedule();
  }

  /** Called when this node's byte-range locks of an inode changed. */
  publishLocks(ino: bigint): void {
    if (this.closed) return;
    this.pendingLocks.add(ino);
    this.schedule();
  }

  /** Called when what this node's SMB clients hold of an inode changed. */
  publishOpens(ino: bigint): void {
    if (this.closed) return;
    this.pendingOpens.add(ino);
    this.schedule();
  }

  /**
   * A recall asked of another node, or an answer to one: sent at once, never batched away.
   * Rejects when it could not be sent (the database is down or this node is closing).
   */
  async sendRecall(m: { q: RecallRequest[] } | { a: string[] }): Promise<void> {
    if (this.closed) throw new Error('closed');
    this.published++;
    await this.pool.query('SELECT pg_notify($1, $2)', [
      this.channel,
      JSON.stringify({ n: this.nodeId, ...m }),
    ]);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const msg: Message = {
      n: this.nodeId,
      i: [...this.pendingInodes].map(String),
      e: [...this.pendingNames.values()].map(([d, n]) => [String(d), n]),
      l: [...this.pendingLocks].map(String),
      c: [...this.pendingOpens].map(String),
    };
    this.pendingInodes.clear();
    this.pendingNames.clear();
    this.pendingLocks.clear();
    this.pendingOpens.clear();
    let payload = JSON.stringify(msg);
    if (Buffer.byteLength(payload) > MAX_PAYLOAD) {
      // Too much for one notification: the caches drop everything; lock and open changes go
      // in batches.
      payload = JSON.stringify({ n: this.nodeId, all: true });
      for (const field of ['l', 'c'] as const) {
        const list = msg[field] ?? [];
        for (let k = 0; k < list.length; k += 400) {
          this.notify(JSON.stringify({ n: this.nodeId, [field]: list.slice(k, k + 400) }));
        }
      }
    }
    this.notify(payload);
  }

  private notify(payload: string): void {
    this.published++;
    // Lost when the database is down: the receivers' TTL (and their reconnect flush) covers it.
    this.pool.query('SELECT pg_notify($1, $2)', [this.channel, payload]).catch((e: Error) => this.onError(e));
  }

  private receive(payload: string): void {
    let m: Message;
    try {
      m = JSON.parse(payload) as Message;
    } catch {
      return;
    }
    if (m.n === this.nodeId) return;
    this.received++;
    if (m.s) {
      this.startsHeard++;
      this.peerStarted?.();
    }
    if (m.l && m.l.length > 0) this.locks?.changed(m.l.map((s) => BigInt(s)));
    if (m.c && m.c.length > 0) this.opens?.changed(m.c.map((s) => BigInt(s)));
    if (m.q && m.q.length > 0) this.opens?.requested(m.q);
    if (m.a && m.a.length > 0) this.opens?.answered(m.a);
    if (m.all) {
      this.invalidate();
      return;
    }
    if ((m.i ?? []).length === 0 && (m.e ?? []).length === 0) return;
    this.invalidate(
      (m.i ?? []).map((s) => BigInt(s)),
      (m.e ?? []).map(([d, n]) => [BigInt(d), n] as const),
    );
  }

  private reconnect(client: pg.Client): void {
    if (this.closed || this.listener !== client) return;
    this.listener = undefined;
    client.end().catch(() => {});
    const attempt = () => {
      this.reconnectTimer = undefined;
      if (this.closed) return;
      this.start().then(
        // What was said while nobody listened is unknown: drop everything.
        () => {
          this.invalidate();
          this.peerStarted?.();
          this.locks?.reconnected();
          this.opens?.reconnected();
        },
        (err: Error) => {
          this.onError(err);
          this.reconnectTimer = setTimeout(attempt, 1000);
          this.reconnectTimer.unref();
        },
      );
    };
    this.reconnectTimer = setTimeout(attempt, 200);
    this.reconnectTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const l = this.listener;
    this.listener = undefined;
    await l?.end().catch(() => {});
  }
}
