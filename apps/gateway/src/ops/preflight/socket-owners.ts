import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const TCP_LISTEN = '0A';

/** Inodes of the TCP sockets listening on `port` (any address, IPv4 and IPv6), from /proc/net. */
export function listeningSocketInodes(port: number, procRoot = '/proc'): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`${procRoot}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const f = line.trim().split(/\s+/);
      const local = f[1];
      if (!local || f[3] !== TCP_LISTEN || f[9] === undefined) continue;
      if (Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) inodes.add(f[9]);
    }
  }
  return inodes;
}

function holdsSocket(pid: number, inodes: ReadonlySet<string>, procRoot: string): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`${procRoot}/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`${procRoot}/${pid}/fd/${fd}`));
      if (m?.[1] !== undefined && inodes.has(m[1])) return true;
    } catch {
      // The descriptor closed while we looked.
    }
  }
  return false;
}

export interface SocketOwner {
  pid: number;
  /** The process's name (`/proc/PID/comm`), e.g. `claudefs-gatewa`, `nginx`. */
  command: string;
}

/**
 * The processes holding a listening socket on `port`, as far as this user may see: processes
 * of other users hide their descriptors, so an empty answer with `listening` true means
 * "someone we cannot see". Linux only; elsewhere nothing is found.
 */
export function portOwners(port: number, procRoot = '/proc'): { listening: boolean; owners: SocketOwner[] } {
  const inodes = listeningSocketInodes(port, procRoot);
  if (inodes.size === 0) return { listening: false, owners: [] };
  const owners: SocketOwner[] = [];
  let pids: number[] = [];
  try {
    pids = readdirSync(procRoot)
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
  } catch {
    // No /proc.
  }
  for (const pid of pids) {
    if (!holdsSocket(pid, inodes, procRoot)) continue;
    let command = '?';
    try {
      command = readFileSync(`${procRoot}/${pid}/comm`, 'utf8').trim();
    } catch {
      // Exited meanwhile.
    }
    owners.push({ pid, command });
  }
  return { listening: true, owners };
}
