import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeDirs } from '../util/make-dirs.ts';
import type { Logger } from './logger.ts';
import { StartError } from './start-error.ts';

/** The title `./cfs gateway start` gives its process (start-gateway.ts): what `ps` shows. */
export const GATEWAY_TITLE = 'claudefs-gateway';

/**
 * /proc/PID/comm of a process that may be a gateway: the title, as the kernel keeps it (15
 * characters), or an untitled Node process — a program running a gateway inside it, as the test
 * suites do, cannot be told from other Node programs, so it counts as one.
 */
const GATEWAY_COMMS: ReadonlySet<string> = new Set([GATEWAY_TITLE.slice(0, 15), 'node', 'nodejs']);

/** How many stale files a start sets aside before giving up (each try races other starts only). */
const CLAIM_ATTEMPTS = 5;

export function pidFilePath(stateDir: string): string {
  return join(stateDir, 'gateway.pid');
}

/** The PID of a live gateway holding the state folder, or undefined. */
export function runningGatewayPid(stateDir: string): number | undefined {
  const pid = pidIn(pidFilePath(stateDir));
  return pid !== undefined && processAt(pid) === 'gateway' ? pid : undefined;
}

/**
 * Claims the state folder for this process; refuses when another live gateway holds it. A file
 * naming no process, or a process that is no gateway (its PID reused after a reboot), is stale:
 * it is replaced, and the log says so. The file is created whole and exclusively (a link of a
 * written file), so of gateways starting at the same moment only one claims the folder.
 */
export function claimPidFile(
  stateDir: string,
  log?: Pick<Logger, 'info' | 'warn'>,
  /** What the folder is, for the refusal: a gateway's state folder, or the folder of its database or data. */
  what = 'state folder',
): () => void {
  makeDirs(stateDir, 0o700);
  const path = pidFilePath(stateDir);
  const mine = `${path}.${process.pid}`;
  writeFileSync(mine, `${process.pid}\n`);
  try {
    claim(path, mine, `${what} ${stateDir}`, log);
  } finally {
    rmSync(mine, { force: true });
  }
  return () => {
    if (runningGatewayPid(stateDir) === process.pid) rmSync(path, { force: true });
  };
}

function claim(path: string, mine: string, folder: string, log?: Pick<Logger, 'info' | 'warn'>): void {
  for (let attempt = 1; ; attempt++) {
    if (linkedExclusively(mine, path)) return;
    const holder = pidIn(path);
    if (holder === process.pid) return;
    const at = holder === undefined ? undefined : processAt(holder);
    if (at === 'gateway') {
      throw new StartError(`another gateway (PID ${holder}) is running on ${folder}`);
    }
    if (attempt >= CLAIM_ATTEMPTS) {
      throw new StartError(`could not claim ${path}: other gateways keep starting on ${folder}`);
    }
    if (setAside(path, holder)) log?.[at ? 'warn' : 'info'](staleReason(path, holder, at));
  }
}

/** Link errors of a file system without hard links (vfat, some network mounts). */
const NO_LINKS: ReadonlySet<string> = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/**
 * Creates `path` as a link of the written file `from`, so no one reads it empty; false when
 * `path` exists. Without hard links, an exclusive create then a write.
 */
function linkedExclusively(from: string, path: string): boolean {
  try {
    try {
      linkSync(from, path);
    } catch (e) {
      if (!NO_LINKS.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
      writeFileSync(path, readFileSync(from), { flag: 'wx' });
    }
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/**
 * Removes the stale file that named `stale`, unless another start got there first: it is moved
 * aside before it is read again, so a gateway's fresh file taken by mistake goes back in place
 * (and the next look at it refuses). True when the stale file itself was removed.
 */
function setAside(path: string, stale: number | undefined): boolean {
  const aside = `${path}.stale-${process.pid}`;
  try {
    renameSync(path, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  try {
    if (pidIn(aside) === stale) return true;
    linkedExclusively(aside, path);
    return false;
  } finally {
    rmSync(aside, { force: true });
  }
}

/** The log line for a replaced file: what its PID turned out to be. */
function staleReason(path: string, pid: number | undefined, at: { program: string } | undefined): string {
  if (pid === undefined) return `replacing ${path}: it names no PID`;
  if (at === undefined)
    return `replacing stale ${path}: PID ${pid} is not running (a gateway that did not stop cleanly)`;
  return `replacing stale ${path}: PID ${pid} is not a gateway but ${JSON.stringify(at.program)} (its PID reused, as after a reboot)`;
}

/** The PID a gateway.pid holds, or undefined (no file, empty, not a PID). */
function pidIn(path: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(path, 'utf8').trim());
  } catch {
    return undefined;
  }
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * What runs as `pid`: a gateway, nothing (undefined), or another program (its name, from
 * /proc/PID/comm). Where that cannot be read (no /proc, a process hidden by hidepid), a live
 * process counts as a gateway: refusing a start is safer than two gateways on one state folder.
 */
function processAt(pid: number): 'gateway' | { program: string } | undefined {
  if (pid === process.pid) return 'gateway';
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  let comm: string;
  try {
    comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return 'gateway';
  }
  return GATEWAY_COMMS.has(comm) ? 'gateway' : { program: comm };
}
