import { Worker } from 'node:worker_threads';

/** Where the counters sit in the shared array (loop-watchdog.mjs). */
const BEAT = 0;
const STOP = 1;

export interface LoopWatchdogOptions {
  /** The log's descriptor: the watchdog writes its lines there itself (1: stdout). */
  fd?: number;
  /** Lines as pino-pretty prints them, not JSON. */
  pretty?: boolean;
  /** The node's name, as the gateway's other log lines carry it. */
  name?: string;
  /** The event loop has stood still this long before the first report (10 s). */
  blockedMs?: number;
  /** How often the main thread beats and the watchdog looks. */
  tickMs?: number;
  /** The thread failed (it then watches no more). */
  onError?: (e: Error) => void;
}

/**
 * A thread that tells the log what the event loop's thread waits in when the loop has not
 * turned for `blockedMs` (loop-watchdog.mjs): a call on a disk that has stopped answering holds
 * every protocol, /health and ./cfs with it, and the loop cannot report that itself. One per
 * gateway process; it keeps no process alive.
 */
export class LoopWatchdog {
  private readonly state = new Int32Array(new SharedArrayBuffer(8));
  private worker: Worker | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: LoopWatchdogOptions = {}) {}

  start(): void {
    if (this.worker) return;
    Atomics.store(this.state, STOP, 0);
    const tickMs = this.o.tickMs ?? 500;
    const worker = new Worker(new URL('./loop-watchdog.mjs', import.meta.url), {
      workerData: {
        state: this.state.buffer,
        blockedMs: this.o.blockedMs ?? 10_000,
        checkMs: tickMs,
        fd: this.o.fd ?? 1,
        pretty: this.o.pretty ?? false,
        name: this.o.name,
      },
    });
    worker.unref();
    // A watchdog that cannot run takes nothing else down; it is said once.
    worker.on('error', (e) => this.o.onError?.(e));
    this.worker = worker;
    this.timer = setInterval(() => Atomics.add(this.state, BEAT, 1), tickMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    Atomics.store(this.state, STOP, 1);
    Atomics.notify(this.state, STOP);
    this.worker = undefined;
  }
}
