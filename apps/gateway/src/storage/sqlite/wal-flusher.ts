import { fdatasync } from 'node:fs';
import { Worker } from 'node:worker_threads';

/** Where the counters sit in the shared array (wal-flusher.mjs). */
const REQUESTED = 0;
const STOP = -1;

interface Served {
  served: number;
  error?: { message: string; code?: string; errno?: number; syscall?: string };
}

/**
 * fdatasync of the WAL on a thread of its own (wal-flusher.mjs says why: a hung data disk
 * takes the libuv thread pool). The thread starts at the first flush; one flush runs at a
 * time (GroupCommit asks for no more). Should the thread end, flushes go to the pool again.
 */
export class WalFlusher {
  private worker: Worker | undefined;
  private readonly state = new Int32Array(new SharedArrayBuffer(4));
  private asked = 0;
  private waiter: { resolve(): void; reject(e: Error): void } | undefined;
  private ended = false;

  /** `path`: the file the thread flushes; `fd`: a descriptor of it, for the pool when the thread is gone. */
  constructor(
    private readonly path: string,
    private readonly fd: number,
  ) {}

  flush(): Promise<void> {
    if (this.ended) return poolFlush(this.fd);
    if (this.waiter) return Promise.reject(new Error('WAL flush: one is already running'));
    const worker = this.worker ?? this.start();
    // Held while a flush is out, so that a command's process waits for it.
    worker.ref();
    this.asked = this.asked === 0x7fffffff ? 1 : this.asked + 1;
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      Atomics.store(this.state, REQUESTED, this.asked);
      Atomics.notify(this.state, REQUESTED);
    });
  }

  /** Ends the thread (after its flush in hand, if any). */
  close(): void {
    this.ended = true;
    Atomics.store(this.state, REQUESTED, STOP);
    Atomics.notify(this.state, REQUESTED);
  }

  private start(): Worker {
    const worker = new Worker(new URL('./wal-flusher.mjs', import.meta.url), {
      workerData: { path: this.path, state: this.state.buffer },
    });
    worker.unref();
    worker.on('message', (m: Served) => {
      worker.unref();
      const waiter = this.take();
      if (!waiter) return;
      if (m.error) waiter.reject(Object.assign(new Error(m.error.message), m.error));
      else waiter.resolve();
    });
    // Should the thread fail (it could not open the file) or end, its flush and the next ones
    // are made on the thread pool.
    worker.on('error', () => {});
    worker.on('exit', () => {
      this.ended = true;
      this.worker = undefined;
      const waiter = this.take();
      if (waiter) poolFlush(this.fd).then(waiter.resolve, waiter.reject);
    });
    this.worker = worker;
    return worker;
  }

  private take(): { resolve(): void; reject(e: Error): void } | undefined {
    const waiter = this.waiter;
    this.waiter = undefined;
    return waiter;
  }
}

function poolFlush(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}
