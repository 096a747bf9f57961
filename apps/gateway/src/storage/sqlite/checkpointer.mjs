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
//
// Starting the WAL over is also made here. With synchronous=NORMAL SQLite fsyncs the WAL's new
// header before the first frame overwrites the old ones (so that a power loss can never bring
// an already copied transaction back), and it does so in the connection whose write starts
// the WAL over — which was the event loop's: an fsync there stalled every protocol, for 0.1–0.5
// s while a large SMB upload kept the disk busy. So once a pass has copied every frame, this
// thread makes the next write itself (one row of `meta`), with the gateway's writes held for
// it, and the fsync is made here. Between those, a read snapshot that this thread keeps open on
// a second connection stops the gateway's writes from starting the WAL over themselves (SQLite
// starts it over only with no reader on it, and appends otherwise); it is taken anew before
// each pass, which copies every frame up to it.
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const FREE_PASSES = 3;
/** A held pass is tried when it would copy about this many frames (4 KiB pages) or fewer… */
const HOLD_MAX_FRAMES = 512;
/** …or whatever it would copy once the WAL holds this many: its growth is then the worse. */
const FORCE_HOLD_FRAMES = 16384;
/**
 * A WAL of this many frames (4 KiB pages) or fewer is not started over: it is appended to.
 * Starting over holds the gateway's writes for a pass and the new header's fsync, which on a
 * disk busy with a large upload took 75 ms a time (0.3 s of a 1 GiB SMB put's 1.4 s, its
 * few metadata commits waiting). Appending to a WAL this small costs nothing a reader feels,
 * and the file keeps its largest size: a start-over overwrites it in place.
 */
const RESTART_MIN_FRAMES = 1024;
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
db.pragma('synchronous = NORMAL');
/** The connection whose open read transaction keeps the WAL from being started over elsewhere. */
const pin = new Database(workerData.file);
pin.pragma('busy_timeout = 1000');
const pinRead = pin.prepare('SELECT 1 FROM meta LIMIT 1');

function unpin() {
  if (pin.inTransaction) pin.exec('COMMIT');
}

/** A read snapshot of the WAL as it is now (a pass copies the frames up to it). */
function repin() {
  unpin();
  pin.exec('BEGIN');
  pinRead.get();
}

let stopped = false;
let onHeld;
let timer;

/**
 * Whether the last pass copied every frame. The snapshot is then kept, not taken anew: taken
 * on a WAL with every frame copied, it would not count as a reader of the WAL, and the next
 * write of the gateway's could start the WAL over itself.
 */
let copiedToEnd = false;

/** One passive checkpoint; `fresh`: up to a snapshot taken now, whatever the last pass did. */
function pass(fresh = false) {
  if (workerData.canHold && (fresh || !copiedToEnd)) repin();
  const [r] = db.pragma('wal_checkpoint(PASSIVE)');
  copiedToEnd = r.busy === 0 && r.checkpointed === r.log;
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
    if (r.busy !== 0 || r.log <= last.log) return restartIfCopied(r);
    appended = r.log - last.log;
    last = r;
  }
  // What the held pass would copy is about what the writer appended during the last pass: when
  // that is much, holding writes for it would be felt, and the next round tries again — unless
  // the WAL has grown large meanwhile.
  if (last.busy !== 0 || !workerData.canHold) return;
  if (appended > HOLD_MAX_FRAMES && last.log < FORCE_HOLD_FRAMES) return;
  // A held pass that copies every frame turns into a start-over in the same hold: let go of
  // in between, the gateway's next write could start the WAL over itself.
  await held('hold', async () => {
    if (!copiedAll(pass(true))) return;
    await request('restart');
    restart();
  });
}

/** Whether a pass left every frame copied, in a WAL worth starting over. */
function copiedAll(r) {
  return r.busy === 0 && r.log > RESTART_MIN_FRAMES && r.checkpointed === r.log;
}

/**
 * Runs `work` with the gateway's new write transactions held, when this thread may hold them:
 * `hold` for a pass (the gateway lets its writes go after MAX_HOLD_MS), `restart` for a write
 * of this thread's own (held until it is committed: a write of the gateway's would wait on
 * SQLite's write lock instead, blocking its event loop).
 */
async function held(kind, work) {
  if (!workerData.canHold || stopped) return;
  await request(kind);
  try {
    if (!stopped) await work();
  } finally {
    parentPort.postMessage({ type: 'release' });
  }
}

/** Asks the gateway to hold its writes (`hold`), or to hold them until released (`restart`). */
function request(kind) {
  const granted = new Promise((resolve) => {
    onHeld = resolve;
  });
  parentPort.postMessage({ type: kind });
  return granted;
}

/**
 * The WAL header's checkpoint sequence number, which SQLite counts up each time it starts the
 * WAL over (0 when there is no WAL yet).
 */
function walSequence() {
  const header = Buffer.alloc(16);
  let fd;
  try {
    fd = openSync(`${workerData.file}-wal`, 'r');
    return readSync(fd, header, 0, 16, 0) === 16 ? header.readUInt32BE(12) : 0;
  } catch {
    return 0;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** After a pass that copied every frame: starts the WAL over, with the gateway's writes held. */
async function restartIfCopied(r) {
  if (copiedAll(r)) await held('restart', restart);
}

/** With writes held: starts the WAL over with a write made here, if every frame is copied. */
function restart() {
  // The gateway may have written since the last pass: its frames are copied first, or left.
  if (stopped || !copiedAll(pass(true))) return;
  unpin();
  const before = walSequence();
  try {
    // Appended instead when one of the gateway's reads was on the WAL just then.
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('wal_restarted_at', ?)").run(
      new Date().toISOString(),
    );
  } finally {
    repin();
    copiedToEnd = false;
  }
  if (walSequence() !== before) parentPort.postMessage({ type: 'restarted' });
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
    unpin();
    pin.close();
    db.close();
    parentPort.close();
  }
});
