import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { idleWorker } from '../../../util/idle-worker.ts';
import { opensslName, type Smb2Cipher } from './types.ts';

/**
 * Messages at least this large are encrypted or decrypted on a worker thread; smaller ones on
 * the event loop, where a round trip to a worker (tens of microseconds) would cost more.
 */
export const OFFLOAD_MIN_BYTES = 256 * 1024;

/** Bytes in SharedArrayBuffer memory: what a worker reads where it is. */
export function isShared(b: Uint8Array): boolean {
  return b.buffer instanceof SharedArrayBuffer;
}

/** Parts a worker can take as they are: shared memory, or small enough to copy to it. */
export function sealable(b: Uint8Array): boolean {
  return isShared(b) || b.length <= 4096;
}

interface Span {
  buffer: SharedArrayBuffer;
  offset: number;
  length: number;
}

const span = (b: Uint8Array): Span => ({
  buffer: b.buffer as SharedArrayBuffer,
  offset: b.byteOffset,
  length: b.length,
});

interface Reply {
  id: number;
  ok?: boolean;
  tag?: Uint8Array;
  error?: string;
}

interface Job {
  resolve(r: Reply): void;
  reject(e: Error): void;
  op: 'open' | 'seal';
  bytes: number;
}

interface PoolWorker {
  worker: Worker;
  jobs: Map<number, Job>;
  bytes: number;
}

/**
 * Copies of small byte strings with memory of their own: a message to a worker copies a view's
 * whole ArrayBuffer (a key in Node's 8 KiB slab would copy the slab).
 */
function own<T extends Record<string, Uint8Array>>(fields: T): T {
  const out: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = new Uint8Array(v);
  return out as T;
}

/** A sealed message to decrypt in place: its cipher, key, nonce, AAD, tag and the bytes (shared memory). */
export interface SealedInput {
  cipher: Smb2Cipher;
  key: Buffer;
  nonce: Buffer;
  aad: Buffer;
  tag: Buffer;
  data: Buffer;
}

/** A worker's message to decrypt a sealed message in place. */
function openMessage(caller: string, s: SealedInput): { op: 'open' } & Record<string, unknown> {
  if (!isShared(s.data)) throw new TypeError(`AeadPool.${caller}: data must be shared memory`);
  const { key, nonce, aad, tag } = s;
  return {
    op: 'open',
    algorithm: opensslName(s.cipher),
    ...own({ key, nonce, aad, tag }),
    data: span(s.data),
  };
}

const WORKER_URL = new URL('./aead-worker.mjs', import.meta.url);

/**
 * AES-GCM/CCM of large SMB3 messages on worker threads. Node's ciphers return every output
 * piece in a fresh buffer; at a gigabyte a second those allocations made V8 run a full
 * collection every 80 ms on the event loop (41 in one encrypted 1 GiB put). On a worker they
 * die in a small heap, and the cipher runs beside the event loop instead of on it. The bytes
 * stay where they are, in SharedArrayBuffer memory both threads see (the SMB frame pool, the
 * namespace's read buffers): moving an ArrayBuffer to a worker and back counts as a new
 * external allocation each way, which presses the collector just the same. Jobs go to an idle
 * worker, else the one with the fewest bytes queued; a worker holds the process open only
 * while it has jobs.
 */
export class AeadPool {
  private readonly workers: PoolWorker[] = [];
  private nextId = 1;
  /** Bytes decrypted (open) and encrypted (seal) on the workers so far. */
  readonly bytesDone = { open: 0, seal: 0 };

  constructor(private readonly size = Math.max(1, Math.min(2, availableParallelism()))) {}

  /** Jobs sent to the workers and not yet answered (decryptions of arriving frames included). */
  get pendingJobs(): number {
    return this.workers.reduce((n, w) => n + w.jobs.size, 0);
  }

  /**
   * Decrypts `data` (shared memory) in place and checks the tag: true when the message is
   * authentic. Its bytes are garbage afterwards when it is not.
   */
  async open(sealed: SealedInput): Promise<boolean> {
    const r = await this.run(openMessage('open', sealed), sealed.data.length);
    return r.ok === true;
  }

  /**
   * Encrypts `parts` in order into `out` (shared memory, exactly their total size); resolves
   * to the tag. Every part must be `sealable`.
   */
  async seal(
    cipher: Smb2Cipher,
    key: Buffer,
    nonce: Buffer,
    aad: Buffer,
    parts: Buffer[],
    out: Buffer,
  ): Promise<Buffer> {
    if (!isShared(out)) throw new TypeError('AeadPool.seal: out must be shared memory');
    const r = await this.run(
      {
        op: 'seal',
        algorithm: opensslName(cipher),
        ...own({ key, nonce, aad }),
        parts: parts.map((p) => {
          if (!sealable(p)) throw new RangeError('AeadPool.seal: a large part must be shared memory');
          return isShared(p) ? span(p) : new Uint8Array(p);
        }),
        out: span(out),
      },
      out.length,
    );
    if (!r.tag) throw new Error('AEAD worker answered without a tag');
    return Buffer.from(r.tag);
  }

  /**
   * Decryption in place that starts while `data` still arrives (GCM only: it streams). Tell
   * the stream how much has arrived with `more`, and `end` once all of it has; `drop` it when
   * the frame never completes.
   */
  openAsArriving(sealed: SealedInput): ArrivingOpen {
    const message = { ...openMessage('openAsArriving', sealed), arriving: true };
    const { worker, id, reply } = this.start(message, sealed.data.length);
    return new ArrivingOpen(worker, id, reply);
  }

  private async run(message: { op: Job['op'] } & Record<string, unknown>, bytes: number): Promise<Reply> {
    return this.start(message, bytes).reply;
  }

  private start(
    message: { op: Job['op'] } & Record<string, unknown>,
    bytes: number,
  ): { worker: Worker; id: number; reply: Promise<Reply> } {
    const w = this.pick();
    const id = this.nextId++;
    const reply = new Promise<Reply>((resolve, reject) => {
      if (w.jobs.size === 0) w.worker.ref();
      w.jobs.set(id, { resolve, reject, op: message.op, bytes });
      w.bytes += bytes;
      w.worker.postMessage({ ...message, id });
    });
    return { worker: w.worker, id, reply };
  }

  private settle(w: PoolWorker, r: Reply): void {
    const job = w.jobs.get(r.id);
    if (!job) return;
    w.jobs.delete(r.id);
    w.bytes -= job.bytes;
    if (w.jobs.size === 0) w.worker.unref();
    if (r.error !== undefined) job.reject(new Error(`AEAD worker: ${r.error}`));
    else {
      if (r.ok === true || r.tag) this.bytesDone[job.op] += job.bytes;
      job.resolve(r);
    }
  }

  private pick(): PoolWorker {
    const idle = this.workers.find((w) => w.jobs.size === 0);
    if (idle) return idle;
    if (this.workers.length >= this.size) return this.workers.reduce((a, b) => (b.bytes < a.bytes ? b : a));
    const w: PoolWorker = {
      worker: idleWorker(
        WORKER_URL,
        'AEAD worker',
        (r: Reply) => this.settle(w, r),
        (e) => {
          const at = this.workers.indexOf(w);
          if (at >= 0) this.workers.splice(at, 1);
          const jobs = [...w.jobs.values()];
          w.jobs.clear();
          for (const j of jobs) j.reject(e);
        },
      ),
      jobs: new Map(),
      bytes: 0,
    };
    this.workers.push(w);
    return w;
  }
}

/** The process's pool (every SMB connection shares it). */
export const aeadPool = new AeadPool();

/** Bytes that arrived since the last `more` before the worker is told again. */
const MORE_EVERY = 128 * 1024;

/** A decryption running while its frame arrives (AeadPool.openAsArriving). */
export class ArrivingOpen {
  private told = 0;
  private ended = false;

  constructor(
    private readonly worker: Worker,
    private readonly id: number,
    private readonly reply: Promise<Reply>,
  ) {
    // A stream dropped or failed before anyone waits for it is not an unhandled rejection.
    reply.catch(() => {});
  }

  /** `received` bytes of the data are in place. */
  more(received: number): void {
    if (this.ended || received - this.told < MORE_EVERY) return;
    this.told = received;
    this.worker.postMessage({ op: 'more', id: this.id, upTo: received });
  }

  /** All of the data is in place: true when the message is authentic. */
  async end(): Promise<boolean> {
    if (this.ended) throw new Error('ArrivingOpen.end: already ended');
    this.ended = true;
    this.worker.postMessage({ op: 'end', id: this.id });
    return (await this.reply).ok === true;
  }

  /** The frame will never be whole: the worker forgets it. */
  drop(): void {
    if (this.ended) return;
    this.ended = true;
    this.worker.postMessage({ op: 'drop', id: this.id });
  }
}
