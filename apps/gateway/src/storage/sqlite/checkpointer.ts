import { Worker } from 'node:worker_threads';

/** The checkpoint thread's handle (checkpointer.mjs); stopped before the store closes. */
export class Checkpointer {
  private readonly worker: Worker;
  lastError: string | undefined;
  checkpoints = 0;

  constructor(file: string, intervalMs = 1000) {
    this.worker = new Worker(new URL('./checkpointer.mjs', import.meta.url), {
      workerData: { file, intervalMs },
    });
    this.worker.unref();
    this.worker.on('message', (m: { type: string; message?: string }) => {
      if (m.type === 'checkpoint') this.checkpoints++;
      else this.lastError = m.message;
    });
    this.worker.on('error', (e) => {
      this.lastError = String(e);
    });
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage('stop');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
    await this.worker.terminate();
  }
}
