// Runs WAL checkpoints on its own thread and connection: a checkpoint fsyncs the WAL and the
// database file, which must never stall the event loop that serves protocol requests.
// Plain JavaScript because worker threads do not inherit the tsx loader on Node 20.
//
// A checkpoint copies the frames committed before it started, and SQLite starts the WAL over
// (overwriting the blocks the file already has — a cheaper flush than growing it) only when a
// write begins with every frame copied. Under steady writes the writer has always appended
// more by the time a pass ends, and the WAL would grow without bound. So a pass that leaves
// frames behind is followed at once by another, each shorter than the last; if they still do
// not catch up and what is left is short, the last one runs with new write transactions held
// (reads go on), for the millisecond or so such a pass takes.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const FREE_PASSES = 3;
/** A held pass is tried when it would copy about this many frames (4 KiB pages) or fewer… */
const HOLD_MAX_FRAMES = 512;
/** …or whatever it would copy once the WAL holds this many: its growth is then the worse. */
const FORCE_HOLD_FRAMES = 16384;
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
// ran shows in the next pass, which finds nothing to copy (and so flushes nothing) if not, or a
// shorter WAL if the writer has started it over meanwhile.
async function checkpoint() {
  let last = pass();
  let appended = Number.POSITIVE_INFINITY;
  for (let n = 1; n <= FREE_PASSES && last.busy === 0; n++) {
    const r = pass();
    if (r.busy !== 0 || r.log <= last.log) return;
    appended = r.log - last.log;
    last = r;
  }
  // What the held pass would copy is about what the writer appended during the last pass: when
  // that is much, holding writes for it would be felt, and the next round tries again — unless
  // the WAL has grown large meanwhile.
  if (last.busy !== 0 || !workerData.canHold) return;
  if (appended > HOLD_MAX_FRAMES && last.log < FORCE_HOLD_FRAMES) return;
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
