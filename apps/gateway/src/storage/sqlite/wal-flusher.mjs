// Flushes the WAL file (fdatasync) on a thread of its own, for durability.ts's WalBarrier.
// The libuv thread pool, where an asynchronous fdatasync would run, is shared with the data
// store's file calls: when the data folder's disk hangs (a frozen file system, a dead NFS or
// iSCSI volume under it) its calls take every pool thread and keep them, and a WAL flush queued
// behind them would never run — every metadata commit would wait, and the metadata circuit
// would open for the data disk's fault. On this thread a flush waits only for its own disk.
//
// The thread waits on a shared counter (Atomics.wait): the main thread raises REQUESTED and
// wakes it; it flushes and posts the number it served (or the error). STOP ends it.
// Plain JavaScript because worker threads do not inherit the tsx loader on Node 20.
import { closeSync, fdatasyncSync, openSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

const REQUESTED = 0;
const STOP = -1;
const state = new Int32Array(workerData.state);
// Its own descriptor: any descriptor of a file flushes that file's dirty pages.
const fd = openSync(workerData.path, 'r');

let served = 0;
for (;;) {
  Atomics.wait(state, REQUESTED, served);
  const asked = Atomics.load(state, REQUESTED);
  if (asked === STOP) break;
  if (asked === served) continue;
  served = asked;
  try {
    fdatasyncSync(fd);
    parentPort.postMessage({ served });
  } catch (e) {
    parentPort.postMessage({
      served,
      error: { message: e.message, code: e.code, errno: e.errno, syscall: e.syscall },
    });
  }
}
closeSync(fd);
