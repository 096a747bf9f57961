// Runs WAL checkpoints on its own thread and connection: a checkpoint fsyncs the WAL and the
// database file, which must never stall the event loop that serves protocol requests.
// Plain JavaScript because worker threads do not inherit the tsx loader on Node 20.
//
// A checkpoint copies the frames committed before it started, and SQLite starts the WAL over
// (overwriting the blocks the file already has — a cheaper flush than growing it) only when a
// write begins with every frame copied. Under steady writes the writer has always appended
// more by the time a pass ends, and the WAL would grow without bound. So a pass that leaves
// frames behind is followed at once by another, each shorter than the last; if they still do
// not catch up, the last one runs with new write transactions held (reads go on), for the
// millisecond or so a short pass takes.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const FREE_PASSES = 3;
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
db.pragma('synchronous = NORMAL');

let stopped = false;
let onHeld;
let timer;

function pass() {
  const [r] = db.pragma('wal_checkpoint(PASSIVE)');
  parentPort.postMessage({ type: 'checkpoint', ...r });
  return r;
}

// A pass copies the frames there were when it began; whether the writer appended more while it
// ran shows in the next pass, which finds nothing to copy (and so flushes nothing) if not.
async function checkpoint() {
  let last = pass();
  for (let n = 1; n <= FREE_PASSES && last.busy === 0; n++) {
    const r = pass();
    if (r.busy !== 0 || r.log === last.log) return;
    last = r;
  }
  if (last.busy !== 0 || !workerData.canHold) return;
  const held = new Promise((resolve) => {
    onHeld = resolve;
  });
  parentPort.postMessage({ type: 'hold' });
  await held;
  try {
    if (!stopped) pass();
  } finally {
    parentPort.postMessage({ type: 'release' });
  }
}

async function loop() {
  try {
    await checkpoint();
  } catch (e) {
    parentPort.postMessage({ type: 'error', message: String(e) });
  }
  if (!stopped) timer = setTimeout(loop, workerData.intervalMs);
}

timer = setTimeout(loop, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m === 'held') onHeld?.();
  else if (m === 'stop') {
    stopped = true;
    clearTimeout(timer);
    onHeld?.();
    db.close();
    parentPort.close();
  }
});
