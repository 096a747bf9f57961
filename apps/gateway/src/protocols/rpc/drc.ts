import { crc32c } from '@node-rs/crc32';

export interface DrcOptions {
  /** Entries kept (finished replies); the oldest go first. */
  maxEntries: number;
  /** Bytes of cached replies kept. */
  maxBytes: number;
  /** How long a finished reply answers retransmissions. */
  ttlMs: number;
}

export const DRC_DEFAULTS: DrcOptions = { maxEntries: 8192, maxBytes: 32 * 1024 * 1024, ttlMs: 120_000 };

/** Who asked: a connection object; used to tell a retransmission on the same connection. */
export type DrcOwner = object;

interface Entry {
  /** The reply once the original call finished. */
  reply?: Buffer;
  /** The connection the original call arrived on. */
  owner: DrcOwner;
  /** Retransmissions on other connections waiting for the original to finish. */
  waiters: Array<(reply: Buffer | undefined) => void>;
  at: number;
}

export type DrcLookup =
  /** Not seen: run it, then `finish()`. */
  | { state: 'new' }
  /** Already answered: send these bytes again (the procedure does not run again). */
  | { state: 'replay'; reply: Buffer }
  /**
   * The original is still running on the same connection: drop this copy (the original's reply
   * goes out on that connection and answers both).
   */
  | { state: 'drop' }
  /** The original is running on another connection (the client reconnected): wait for its reply. */
  | { state: 'wait'; reply: Promise<Buffer | undefined> };

/** Bytes of the arguments that go into a call's checksum (Linux nfsd: RC_CSUMLEN). */
const CHECKSUM_BYTES = 256;

/**
 * The duplicate request cache for non-idempotent procedures (CREATE, REMOVE, RENAME, LOCK …):
 * a retransmitted call — same client address and port, xid, program, version, procedure and
 * checksum of the arguments' head — is answered with the first reply's bytes instead of running twice.
 *
 * A retransmission that arrives while the original still runs: dropped when it came on the same
 * connection (one reply answers both); when it came on a new connection it waits for the
 * original and gets its reply (the first connection may be gone with the reply it carried).
 */
export class DuplicateRequestCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;

  constructor(
    private readonly options: DrcOptions = DRC_DEFAULTS,
    // Monotonic: a step of the wall clock (NTP, an operator's `date -s`) does not expire the
    // replies a client may still retransmit for.
    private readonly now: () => number = () => performance.now(),
  ) {}

  static key(
    address: string,
    port: number,
    xid: number,
    prog: number,
    vers: number,
    proc: number,
    args: Buffer,
  ): string {
    // Like Linux nfsd, only the arguments' head is checksummed: with the xid, address, port and
    // length it tells calls apart, and a 4 MiB WRITE is not hashed whole on the event loop.
    const head = args.length > CHECKSUM_BYTES ? args.subarray(0, CHECKSUM_BYTES) : args;
    return `${address}|${port}|${xid}|${prog}|${vers}|${proc}|${args.length}|${crc32c(head)}`;
  }

  get size(): number {
    return this.entries.size;
  }

  lookup(key: string, owner: DrcOwner): DrcLookup {
    const e = this.entries.get(key);
    if (e?.reply && this.now() - e.at > this.options.ttlMs) {
      this.delete(key, e);
    } else if (e) {
      if (e.reply) return { state: 'replay', reply: e.reply };
      if (e.owner === owner) return { state: 'drop' };
      return { state: 'wait', reply: new Promise((resolve) => e.waiters.push(resolve)) };
    }
    this.entries.set(key, { owner, waiters: [], at: this.now() });
    return { state: 'new' };
  }

  /**
   * The original finished: waiting retransmissions get its reply, which is kept for later
   * ones unless `keep` is false (a server fault is worth retrying) or there is none.
   */
  finish(key: string, reply: Buffer | undefined, keep = true): void {
    const e = this.entries.get(key);
    if (!e || e.reply) return;
    for (const w of e.waiters) w(reply);
    e.waiters = [];
    if (!keep || reply === undefined || reply.length > this.options.maxBytes) {
      this.entries.delete(key);
      return;
    }
    e.reply = reply;
    e.at = this.now();
    // Re-insert so iteration order is the order replies finished (oldest first out).
    this.entries.delete(key);
    this.entries.set(key, e);
    this.bytes += reply.length;
    this.evict();
  }

  private delete(key: string, e: Entry): void {
    this.entries.delete(key);
    if (e.reply) this.bytes -= e.reply.length;
  }

  private evict(): void {
    const cutoff = this.now() - this.options.ttlMs;
    for (const [key, e] of this.entries) {
      const over = this.entries.size > this.options.maxEntries || this.bytes > this.options.maxBytes;
      if (!e.reply) continue;
      if (!over && e.at >= cutoff) break;
      this.delete(key, e);
    }
  }
}
