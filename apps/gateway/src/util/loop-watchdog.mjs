// Watches the gateway's event loop from a thread of its own (loop-watchdog.ts starts it). The
// main thread raises a shared counter every tick; when it has not moved for `blockedMs`, every
// protocol, /health and ./cfs are waiting on that thread, and nothing on it can say so. This
// thread can: it reads from /proc what the main thread waits in (thread-state.mjs) and writes
// an error line to the log itself, then again at longer intervals while it lasts. It writes
// nothing to disk (the disk may be what hangs) and takes no lock the main thread may hold: one
// write(2) of a line to the log's descriptor. The main thread logs the end ("event loop stood
// still for N s") when it runs again.
//
// A pause of the whole process (SIGSTOP, a VM stall) stops this thread too; a wait of its own
// that overran by more than a second is taken for one, and the count starts again.
import { writeSync } from 'node:fs';
import { workerData } from 'node:worker_threads';
import { describeThread, readThread } from './thread-state.mjs';

const BEAT = 0;
const STOP = 1;
const state = new Int32Array(workerData.state);
const { blockedMs, checkMs, fd, pretty, name } = workerData;
/** Reports come when the loop has been quiet this many times blockedMs, then every 30 times more. */
const REPORT_AT = [1, 3, 6, 12, 30];
const TICKS_PER_S = 100;

let beat = Atomics.load(state, BEAT);
let quietSince = performance.now();
let reports = 0;

for (;;) {
  const before = performance.now();
  Atomics.wait(state, STOP, 0, checkMs);
  if (Atomics.load(state, STOP) !== 0) break;
  const now = performance.now();
  const seen = Atomics.load(state, BEAT);
  if (seen !== beat || now - before > checkMs + 1000) {
    // The loop turned, or the whole process stood still (this thread too): start again.
    beat = seen;
    quietSince = now;
    reports = 0;
    continue;
  }
  const quietMs = now - quietSince;
  if (quietMs < dueMs(reports)) continue;
  reports++;
  report(quietMs);
}

function dueMs(reports) {
  const times = reports < REPORT_AT.length ? REPORT_AT[reports] : 30 * (reports - REPORT_AT.length + 2);
  return blockedMs * times;
}

function report(quietMs) {
  const thread = readThread(process.pid);
  const seconds = Math.round(quietMs / 1000);
  let what = thread ? describeThread(thread) : 'could not be read from /proc';
  if (thread?.state === 'R') {
    // How busy: its CPU time over the next second.
    Atomics.wait(state, STOP, 0, 1000);
    const later = readThread(process.pid);
    const cpu = later ? (later.cpuTicks - thread.cpuTicks) / TICKS_PER_S : 0;
    what += ` (${Math.min(100, Math.round(cpu * 100))} % of a core over a second)`;
  }
  const msg = `event loop blocked for ${seconds} s: the main thread ${what}; NFS, S3, SMB, /health and ./cfs wait until it ends (./cfs diagnose unresponsive)`;
  const fields = { blockedMs: Math.round(quietMs), mainThread: thread };
  const line = pretty
    ? `[${new Date().toISOString().slice(11, 23)}] ERROR: ${msg}\n`
    : `${JSON.stringify({ level: 50, time: Date.now(), node: name, ...fields, msg })}\n`;
  say(Buffer.from(line));
}

/**
 * Writes the whole line. The log's descriptor may be non-blocking (Node makes a pipe or socket
 * so when it opens process.stdout): while it is full, wait and try again, a second at most.
 */
function say(bytes) {
  let at = 0;
  for (let tries = 0; at < bytes.length && tries < 100; ) {
    try {
      at += writeSync(fd, bytes, at);
    } catch (e) {
      if (e.code !== 'EAGAIN') return; // Nowhere to say it.
      tries++;
      Atomics.wait(state, STOP, 0, 10);
    }
  }
}
