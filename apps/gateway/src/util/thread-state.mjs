// What one thread of a process is doing, read from /proc (Linux): its scheduler state, the
// system call it waits in, the file that call is on and the file system under that file. The
// loop watchdog (loop-watchdog.mjs) reads it for the gateway's own main thread when the event
// loop stops turning; `./cfs` reads it for a gateway that does not answer. Plain JavaScript
// because the watchdog's worker thread imports it (worker threads do not inherit the tsx
// loader on Node 20); thread-state.d.mts types it for the TypeScript side.
import { closeSync, openSync, readFileSync, readlinkSync, readSync } from 'node:fs';

/** proc(5): the state letter of /proc/PID/task/TID/stat. */
const STATES = {
  R: 'running',
  S: 'sleeping',
  D: 'uninterruptible',
  T: 'stopped',
  t: 'stopped by a debugger',
  Z: 'a zombie',
  X: 'dead',
  I: 'idle',
};

/** The system calls an event loop is found waiting in, by number (asm/unistd_64.h, asm-generic/unistd.h). */
const SYSCALLS = {
  x64: numbered(
    '0 read, 1 write, 2 open, 3 close, 4 stat, 5 fstat, 6 lstat, 7 poll, 17 pread64, 18 pwrite64, ' +
      '19 readv, 20 writev, 35 nanosleep, 72 fcntl, 74 fsync, 75 fdatasync, 76 truncate, ' +
      '77 ftruncate, 82 rename, 83 mkdir, 84 rmdir, 87 unlink, 202 futex, 230 clock_nanosleep, ' +
      '232 epoll_wait, 257 openat, 258 mkdirat, 262 newfstatat, 263 unlinkat, 264 renameat, ' +
      '277 sync_file_range, 281 epoll_pwait, 285 fallocate, 295 preadv, 296 pwritev, 316 renameat2, 332 statx',
  ),
  arm64: numbered(
    '22 epoll_pwait, 25 fcntl, 34 mkdirat, 35 unlinkat, 38 renameat, 46 ftruncate, 47 fallocate, ' +
      '56 openat, 57 close, 63 read, 64 write, 65 readv, 66 writev, 67 pread64, 68 pwrite64, ' +
      '69 preadv, 70 pwritev, 73 ppoll, 79 newfstatat, 80 fstat, 82 fsync, 83 fdatasync, ' +
      '84 sync_file_range, 98 futex, 101 nanosleep, 115 clock_nanosleep, 276 renameat2, 291 statx',
  ),
};

function numbered(list) {
  return new Map(
    list.split(', ').map((entry) => {
      const [n, name] = entry.split(' ');
      return [Number(n), name];
    }),
  );
}

/** Calls whose first argument is a file descriptor. */
const ON_FD = new Set(
  'read write close fstat pread64 pwrite64 readv writev fcntl fsync fdatasync ftruncate sync_file_range fallocate preadv pwritev'.split(
    ' ',
  ),
);
/** Calls whose first argument is a path. */
const ON_PATH = new Set('open stat lstat truncate rename mkdir rmdir unlink'.split(' '));
/** Calls whose first argument is a directory descriptor and second a path under it. */
const ON_AT = new Set('openat mkdirat newfstatat unlinkat renameat renameat2 statx'.split(' '));
/** openat(2)'s "the current directory". */
const AT_FDCWD = 0xffffff9cn;

/**
 * The thread `tid` of process `pid` (its main thread when `tid` is left out), or undefined when
 * it is gone or /proc cannot be read. `syscall` and `file` need the right to trace the process
 * (the same user, or root); they are left out where that is refused.
 */
export function readThread(pid, tid = pid) {
  const dir = `/proc/${pid}/task/${tid}`;
  let stat;
  try {
    stat = readFileSync(`${dir}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const thread = parseStat(stat);
  if (!thread) return undefined;
  let line;
  try {
    line = readFileSync(`${dir}/syscall`, 'utf8');
  } catch {
    return thread;
  }
  let call;
  try {
    call = parseSyscall(line, process.arch);
  } catch {
    return thread; // A line this reader does not know: the state alone.
  }
  if (!call) return thread;
  thread.inSyscall = call.name !== undefined || call.number >= 0;
  if (call.number < 0) return thread;
  thread.syscall = call.name ?? `system call ${call.number}`;
  const file = call.name === undefined ? undefined : fileOf(pid, call);
  if (file) {
    thread.file = file;
    const mount = file.startsWith('/') ? mountOf(pid, file) : undefined;
    if (mount) thread.mount = mount;
  }
  return thread;
}

/** proc(5) stat: state, and the user and system CPU time in clock ticks (100 a second on Linux). */
export function parseStat(text) {
  // The command name (field 2) is in parentheses and may hold spaces and parentheses itself.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = text.slice(close + 2).split(' ');
  const state = fields[0];
  if (!state) return undefined;
  const ticks = Number(fields[11]) + Number(fields[12]);
  return {
    state,
    stateName: STATES[state] ?? `state ${state}`,
    cpuTicks: Number.isFinite(ticks) ? ticks : 0,
    inSyscall: false,
  };
}

/**
 * proc(5) syscall: "NR ARG1 … ARG6 SP PC" in a system call, "-1 SP PC" blocked outside one (a
 * page fault), "running" on a CPU. Arguments as bigints.
 */
export function parseSyscall(line, arch) {
  const parts = line.trim().split(' ');
  if (parts[0] === 'running' || parts[0] === undefined || parts[0] === '') return undefined;
  const number = Number(parts[0]);
  if (!Number.isInteger(number)) return undefined;
  if (number < 0) return { number, args: [] };
  const args = parts.slice(1, 7).map((a) => BigInt(a));
  return { number, name: SYSCALLS[arch]?.get(number), args };
}

/** The file a call is on: its descriptor's target, or the path it was given (read from the process's memory). */
function fileOf(pid, call) {
  const [a0, a1] = call.args;
  if (ON_FD.has(call.name) && a0 !== undefined) return fdTarget(pid, a0);
  if (ON_PATH.has(call.name) && a0 !== undefined) return pathAt(pid, a0);
  if (ON_AT.has(call.name) && a0 !== undefined && a1 !== undefined) {
    const path = pathAt(pid, a1);
    // An empty path (AT_EMPTY_PATH: Node's fstat is statx(fd, "")) is the descriptor itself.
    if (path === '') return fdTarget(pid, a0);
    if (path === undefined || path.startsWith('/')) return path;
    const base = (a0 & 0xffffffffn) === AT_FDCWD ? cwdOf(pid) : fdTarget(pid, a0);
    return base === undefined ? path : `${base.replace(/\/$/, '')}/${path}`;
  }
  return undefined;
}

/** Control characters as \xNN: a file name may hold any byte but `/` and NUL. */
function printable(text) {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching the control characters is the point
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function fdTarget(pid, fd) {
  try {
    return printable(readlinkSync(`/proc/${pid}/fd/${fd}`));
  } catch {
    return undefined;
  }
}

function cwdOf(pid) {
  try {
    return printable(readlinkSync(`/proc/${pid}/cwd`));
  } catch {
    return undefined;
  }
}

/**
 * A NUL-ended string at `address` in the process's memory (at most 4 KiB), or undefined. Read
 * while the call waits, so it is the path the call was given; control characters are escaped
 * (it goes to a terminal and a log).
 */
function pathAt(pid, address) {
  if (address === 0n || address > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  let fd;
  try {
    fd = openSync(`/proc/${pid}/mem`, 'r');
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, Number(address));
    const end = buf.subarray(0, n).indexOf(0);
    return end < 0 ? undefined : printable(buf.toString('utf8', 0, end));
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The mount a path is on, from the process's mountinfo: its mount point, type and source. */
export function mountOf(pid, path) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
  } catch {
    return undefined;
  }
  return longestMount(text, path);
}

/** proc(5) mountinfo: the last-listed mount whose point is the longest prefix of `path`. */
export function longestMount(text, path) {
  let best;
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const point = unescapeMount(left.split(' ')[4] ?? '');
    const under = point === '/' || path === point || path.startsWith(`${point}/`);
    if (!under || (best && point.length < best.mountPoint.length)) continue;
    const [type, source] = right.split(' ');
    best = {
      mountPoint: printable(point),
      type: type ?? '?',
      source: printable(unescapeMount(source ?? '?')),
    };
  }
  return best;
}

/** mountinfo writes space, tab, newline and backslash as three octal digits after a backslash. */
function unescapeMount(s) {
  return s.replace(/\\([0-7]{3})/g, (_, oct) => String.fromCharCode(Number.parseInt(oct, 8)));
}

/**
 * One phrase for an operator: what the thread waits in and on which file, and for a thread
 * that cannot be interrupted, that a disk or network file system under it is not answering.
 */
export function describeThread(t) {
  const on = t.file
    ? ` on ${t.file}${t.mount ? ` (${t.mount.type} file system ${t.mount.mountPoint}, ${t.mount.source})` : ''}`
    : '';
  if (t.state === 'D') {
    if (t.syscall) {
      return `waits in the kernel, uninterruptible, in ${t.syscall}${on}: the disk or network file system under it is not answering`;
    }
    return t.inSyscall
      ? 'waits in the kernel, uninterruptible: a disk or network file system is not answering'
      : 'waits in the kernel, uninterruptible, outside a system call (a page fault on a memory-mapped file): the disk under that file is not answering';
  }
  if (t.state === 'R') return 'is running on a CPU (a long synchronous computation or call)';
  if (t.state === 'T') return 'is stopped (SIGSTOP): it runs again on SIGCONT';
  if (t.state === 't') return 'is stopped by a debugger (ptrace): it runs again when the debugger lets it go';
  if (t.syscall) return `is ${t.stateName} in ${t.syscall}${on}`;
  return `is ${t.stateName}`;
}
