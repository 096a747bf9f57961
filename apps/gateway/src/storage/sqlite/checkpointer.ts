import { statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

/** Holds new write transactions until the returned release is called (SqliteMetadataStore). */
export type HoldWrites = () => () => void;

/** Longest a checkpoint may hold writes: past it they go on, and the pass is just a pass. */
const MAX_HOLD_MS = 100;

/** The checkpoint thread's handle (checkpointer.mjs); stopped before the store closes. */
export class Checkpointer {
  private readonly worker: Worker;
  private release: (() => void) | undefined;
  private holdTimer: NodeJS.Timeout | undefined;
  private holdStarted = 0;
  lastError: string | undefined;
  checkpoints = 0;
  /** Checkpoints that ended with new write transactions held, to catch up with the WAL. */
  holds = 0;
  /** Milliseconds new write transactions spent held, over all those checkpoints and restarts. */
  heldMs = 0;
  /** Times the WAL was started over by this thread's own write (its header's fsync made there). */
  restarts = 0;

  constructor(
    private readonly file: string,
    holdWrites?: HoldWrites,
    intervalMs = 250,
  ) {
    this.worker = new Worker(new URL('./checkpointer.mjs', import.meta.url), {
      workerData: { file, intervalMs, canHold: holdWrites !== undefined },
    });
    this.worker.unref();
    this.worker.on('message', (m: { type: string; message?: string }) => {
      if (m.type === 'checkpoint') this.checkpoints++;
      else if ((m.type === 'hold' || m.type === 'restart') && holdWrites) {
        // A held pass may be let go of after MAX_HOLD_MS; the thread's own write may not (a
        // write of ours would wait on SQLite's lock, on the event loop): `restart` holds until
        // released, and keeps a hold already granted for the pass it follows.
        if (m.type === 'restart' && this.release) {
          clearTimeout(this.holdTimer);
        } else {
          if (m.type === 'hold') this.holds++;
          this.endHold();
          this.release = holdWrites();
          this.holdStarted = performance.now();
          if (m.type === 'hold') this.holdTimer = setTimeout(() => this.endHold(), MAX_HOLD_MS);
        }
        this.worker.postMessage('held');
      } else if (m.type === 'restarted') {
        this.restarts++;
      } else if (m.type === 'release') {
        this.endHold();
      } else {
        this.lastError = m.message;
      }
    });
    this.worker.on('error', (e) => {
      this.lastError = String(e);
      this.endHold();
    });
    this.worker.on('exit', () => this.endHold());
  }

  /** The WAL file's size now (0 when there is none): what checkpoints keep from growing. */
  walBytes(): number {
    try {
      return statSync(`${this.file}-wal`).size;
    } catch {
      return 0;
    }
  }

  private endHold(): void {
    clearTimeout(this.holdTimer);
    if (!this.release) return;
    this.heldMs += performance.now() - this.holdStarted;
    this.release();
    this.release = undefined;
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage('stop');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
    await this.worker.terminate();
    this.endHold();
  }
}
