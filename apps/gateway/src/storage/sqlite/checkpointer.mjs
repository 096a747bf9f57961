// Runs WAL checkpoints on its own thread and connection: a checkpoint fsyncs the WAL and the
// database file, which must never stall the event loop that serves protocol requests.
// Plain JavaScript because worker threads do not inherit the tsx loader on Node 20.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
db.pragma('synchronous = NORMAL');
const timer = setInterval(() => {
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ type: 'checkpoint', ...r });
  } catch (e) {
    parentPort.postMessage({ type: 'error', message: String(e) });
  }
}, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m === 'stop') {
    clearInterval(timer);
    db.close();
    parentPort.close();
  }
});
