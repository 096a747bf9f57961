import { Worker } from 'node:worker_threads';

/**
 * A worker thread for a pool (S3 hashing, SMB encryption): `onMessage` gets its answers,
 * `onFail` runs once it fails or exits (the pool drops it and fails what it had queued). It
 * starts unreferenced: the pool refs it while it has work, so an idle pool never holds the
 * process open.
 */
export function idleWorker<M>(
  url: URL,
  name: string,
  onMessage: (message: M) => void,
  onFail: (e: Error) => void,
): Worker {
  const worker = new Worker(url);
  worker.on('message', onMessage);
  let failed = false;
  const fail = (e: Error) => {
    if (failed) return;
    failed = true;
    onFail(e);
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`${name} exited with code ${code}`)));
  // After the listeners: adding a 'message' listener refs the worker again.
  worker.unref();
  return worker;
}
