import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** Digests the pool computes: what a large upload would otherwise hash on the event loop. */
export type OffloadedHash = 'md5' | 'sha256';

/** Bytes a session may have sent and not yet seen hashed; past it the producer waits. */
const MAX_BACKLOG_BYTES = 8 * 1024 * 1024;

interface WorkerReply {
  id: number;
  hashed?: number;
  digests?: Record<string, Uint8Array>;
  error?: string;
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
 * busy worker. Bytes are copied once into a transferred buffer (the caller may reuse its own)
 * and a session's unhashed backlog is bounded, so memory does not grow with a body the
 * workers cannot keep up with. A worker holds the process open only while it has sessions.
 */
export class HashPool {
  private readonly workers: PoolWorker[] = [];
  private nextId = 1;

  constructor(private readonly size = Math.max(1, Math.min(4, availableParallelism()))) {}

  session(algorithms: readonly OffloadedHash[]): HashSession {
    const w = this.pick();
    const s = new HashSession(w.worker, this.nextId++, () => {
      w.sessions.delete(s.id);
      if (w.sessions.size === 0) w.worker.unref();
    });
    if (w.sessions.size === 0) w.worker.ref();
    w.sessions.set(s.id, s);
    w.worker.postMessage({ op: 'open', id: s.id, algorithms });
    return s;
  }

  private pick(): PoolWorker {
    if (this.workers.length >= this.size)
      return this.workers.reduce((a, b) => (b.sessions.size < a.sessions.size ? b : a));
    const worker = new Worker(WORKER_URL);
    const w: PoolWorker = { worker, sessions: new Map() };
    worker.on('message', (m: WorkerReply) => w.sessions.get(m.id)?.reply(m));
    const fail = (e: Error) => {
      this.workers.splice(this.workers.indexOf(w), 1);
      for (const s of [...w.sessions.values()]) s.fail(e);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`hash worker exited with code ${code}`)));
    // After the listeners: adding a 'message' listener refs the worker again.
    worker.unref();
    this.workers.push(w);
    return w;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.splice(0).map((w) => w.worker.terminate()));
  }
}

export class HashSession {
  private state: 'open' | 'digesting' | 'ended' = 'open';
  private backlog = 0;
  private drainWaiters: Array<() => void> = [];
  private result: { resolve(d: Map<OffloadedHash, Buffer>): void; reject(e: Error): void } | undefined;
  private failure: Error | undefined;

  constructor(
    private readonly worker: Worker,
    readonly id: number,
    private readonly ended: () => void,
  ) {}

  update(bytes: Buffer): void {
    if (this.state !== 'open' || bytes.length === 0) return;
    const copy = new Uint8Array(bytes);
    this.backlog += copy.length;
    this.worker.postMessage({ op: 'update', id: this.id, bytes: copy }, [copy.buffer]);
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
      this.worker.postMessage({ op: 'digest', id: this.id });
    });
  }

  cancel(): void {
    if (this.state === 'ended') return;
    if (this.state === 'open') this.worker.postMessage({ op: 'cancel', id: this.id });
    this.end();
  }

  /** A message from the worker for this session. */
  reply(m: WorkerReply): void {
    if (m.hashed !== undefined) {
      this.backlog -= m.hashed;
      if (this.backlog <= MAX_BACKLOG_BYTES) this.wake();
      return;
    }
    const result = this.result;
    this.end();
    if (!result) return;
    if (m.error !== undefined || !m.digests) result.reject(new Error(m.error ?? 'no digests'));
    else {
      const out = new Map<OffloadedHash, Buffer>();
      for (const [a, d] of Object.entries(m.digests)) out.set(a as OffloadedHash, Buffer.from(d));
      result.resolve(out);
    }
  }

  /** The worker died: a pending digest fails, a waiting producer is released. */
  fail(e: Error): void {
    this.failure = e;
    const result = this.result;
    this.end();
    result?.reject(e);
  }

  private end(): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.result = undefined;
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
