import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { copyInto } from '../../../util/copy-into.ts';
import { idleWorker } from '../../../util/idle-worker.ts';

/** Digests the pool computes: what a large upload would otherwise hash on the event loop. */
export type OffloadedHash = 'md5' | 'sha256';

/** Bytes a session may have sent and not yet seen hashed; past it the producer waits. */
const MAX_BACKLOG_BYTES = 8 * 1024 * 1024;
/** Bytes gathered before one message to the worker; the worker hands the buffer back. */
const STAGE_BYTES = 1024 * 1024;
/** Staging buffers kept for reuse across sessions. */
const MAX_IDLE_STAGES = 32;

interface WorkerReply {
  id: number;
  hashed?: number;
  /** The update's buffer, handed back for reuse. */
  buffer?: SharedArrayBuffer;
  digests?: Record<string, Uint8Array>;
  error?: string;
}

/**
 * Staging buffers of shared memory, which both threads see: a message names one, and the
 * worker hands it back once hashed (until then only the worker reads it). Transferring
 * ArrayBuffers instead made V8 count each arriving megabyte as a new external allocation, and
 * a stream of uploads set off garbage collections for it (10 % of the event loop).
 */
class StagePool {
  private readonly idle: SharedArrayBuffer[] = [];

  take(): SharedArrayBuffer {
    return this.idle.pop() ?? new SharedArrayBuffer(STAGE_BYTES);
  }

  give(b: SharedArrayBuffer): void {
    if (b.byteLength === STAGE_BYTES && this.idle.length < MAX_IDLE_STAGES) this.idle.push(b);
  }
}

interface PoolWorker {
  worker: Worker;
  sessions: Map<number, HashSession>;
}

const WORKER_URL = new URL('./hash-worker.mjs', import.meta.url);

/**
 * Incremental MD5/SHA-256 on worker threads, so a stream of large uploads does not spend the
 * event loop on hashing (the S3 issue: "hashing off the event loop where it costs"). Each
 * session lives on one worker, which applies its updates in order; sessions go to the least
 * busy worker. Bytes are copied once, into 1 MiB staging buffers of shared memory that the
 * worker hands back once hashed (the caller may reuse its own at once); a session's unhashed
 * backlog is bounded, so memory does not grow with a body the workers cannot keep up with. A
 * worker holds the process open only while it has sessions.
 */
export class HashPool {
  private readonly workers: PoolWorker[] = [];
  private readonly stages = new StagePool();
  private nextId = 1;

  constructor(private readonly size = Math.max(1, Math.min(4, availableParallelism()))) {}

  session(algorithms: readonly OffloadedHash[]): HashSession {
    const w = this.pick();
    const s = new HashSession(w.worker, this.nextId++, algorithms, this.stages, () => {
      w.sessions.delete(s.id);
      if (w.sessions.size === 0 && this.workers.includes(w)) w.worker.unref();
    });
    if (w.sessions.size === 0) w.worker.ref();
    w.sessions.set(s.id, s);
    return s;
  }

  private pick(): PoolWorker {
    if (this.workers.length >= this.size)
      return this.workers.reduce((a, b) => (b.sessions.size < a.sessions.size ? b : a));
    const w: PoolWorker = {
      worker: idleWorker(
        WORKER_URL,
        'hash worker',
        (m: WorkerReply) => w.sessions.get(m.id)?.reply(m),
        (e) => {
          const at = this.workers.indexOf(w);
          if (at >= 0) this.workers.splice(at, 1);
          for (const s of [...w.sessions.values()]) s.fail(e);
        },
      ),
      sessions: new Map(),
    };
    this.workers.push(w);
    return w;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.splice(0).map((w) => w.worker.terminate()));
  }
}

/**
 * One upload's hashes on one worker. Messages are what cost here (each wakes the other
 * thread), so the first update carries the algorithms and the last one asks for the digests:
 * a body of up to 1 MiB is one message and one reply.
 */
export class HashSession {
  private state: 'open' | 'digesting' | 'ended' = 'open';
  /** Whether the worker has the session (its first message carried the algorithms). */
  private opened = false;
  private backlog = 0;
  private stage: Buffer | undefined;
  private staged = 0;
  private drainWaiters: Array<() => void> = [];
  private result: { resolve(d: Map<OffloadedHash, Buffer>): void; reject(e: Error): void } | undefined;
  private failure: Error | undefined;

  constructor(
    private readonly worker: Worker,
    readonly id: number,
    private readonly algorithms: readonly OffloadedHash[],
    private readonly stages: StagePool,
    private readonly ended: () => void,
  ) {}

  update(bytes: Buffer): void {
    if (this.state !== 'open') return;
    for (let at = 0; at < bytes.length; ) {
      this.stage ??= Buffer.from(this.stages.take());
      const n = Math.min(this.stage.length - this.staged, bytes.length - at);
      copyInto(this.stage, this.staged, bytes.subarray(at, at + n));
      this.staged += n;
      at += n;
      if (this.staged === this.stage.length) this.send();
    }
  }

  /** Sends the staged bytes, asking for the digests after them when `last`; false: none staged. */
  private send(last = false): boolean {
    if (!this.stage || this.staged === 0) return false;
    const buffer = this.stage.buffer as SharedArrayBuffer;
    this.backlog += this.staged;
    this.worker.postMessage({
      op: 'update',
      id: this.id,
      algorithms: this.firstMessage(),
      buffer,
      length: this.staged,
      digest: last,
    });
    this.stage = undefined;
    this.staged = 0;
    return true;
  }

  /** The algorithms, for the session's first message to the worker; undefined after it. */
  private firstMessage(): readonly OffloadedHash[] | undefined {
    if (this.opened) return undefined;
    this.opened = true;
    return this.algorithms;
  }

  /** Resolves once the unhashed backlog is under the bound; undefined when it already is. */
  drained(): Promise<void> | undefined {
    if (this.backlog <= MAX_BACKLOG_BYTES || this.state === 'ended') return undefined;
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** The digests of everything updated; the session ends. */
  digest(): Promise<Map<OffloadedHash, Buffer>> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.state !== 'open') return Promise.reject(new Error('hash session already ended'));
    this.state = 'digesting';
    return new Promise((resolve, reject) => {
      this.result = { resolve, reject };
      if (!this.send(true)) {
        this.worker.postMessage({ op: 'digest', id: this.id, algorithms: this.firstMessage() });
      }
    });
  }

  cancel(): void {
    if (this.state === 'ended') return;
    if (this.state === 'open' && this.opened) this.worker.postMessage({ op: 'cancel', id: this.id });
    this.end();
  }

  /** A message from the worker for this session. */
  reply(m: WorkerReply): void {
    if (m.hashed !== undefined) {
      if (m.buffer) this.stages.give(m.buffer);
      this.backlog -= m.hashed;
      if (this.backlog <= MAX_BACKLOG_BYTES) this.wake();
      // The last update's reply also carries the digests (or the error).
      if (m.digests === undefined && m.error === undefined) return;
    }
    const result = this.result;
    this.result = undefined;
    if (result) {
      if (m.error !== undefined || !m.digests) result.reject(new Error(m.error ?? 'no digests'));
      else {
        const out = new Map<OffloadedHash, Buffer>();
        for (const [a, d] of Object.entries(m.digests)) out.set(a as OffloadedHash, Buffer.from(d));
        result.resolve(out);
      }
    }
    this.end();
  }

  /** The worker died: a pending digest fails, a waiting producer is released. */
  fail(e: Error): void {
    this.failure = e;
    const result = this.result;
    this.result = undefined;
    result?.reject(e);
    this.end();
  }

  private end(): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.result = undefined;
    if (this.stage) this.stages.give(this.stage.buffer as SharedArrayBuffer);
    this.stage = undefined;
    this.wake();
    this.ended();
  }

  private wake(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }
}

/** The process's pool (S3 uploads share it). */
export const hashPool = new HashPool();
