import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Ports for the servers tests start. They come from below the kernel's ephemeral range
 * (`net.ipv4.ip_local_port_range` starts at 32768), so no `listen(0)` and no outgoing
 * connection anywhere on the machine is ever given one; and each is reserved for the life of
 * the test process by a file named after it, so a gateway killed and restarted on its own
 * ports finds them still free while other test files run beside it.
 */
const RANGE_START = 20_000;
const RANGE_END = 32_768;
const RESERVATIONS = join(tmpdir(), 'cfs-test-ports');

/** Ports reserved by this process: never handed out twice. */
const reserved = new Set<number>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Claims `port` for this process unless a live process holds its reservation file. */
function reserve(port: number): boolean {
  const file = join(RESERVATIONS, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder = Number.NaN;
    try {
      holder = Number(readFileSync(file, 'utf8'));
    } catch {
      // Released between the two calls: try the claim again.
      continue;
    }
    if (Number.isInteger(holder) && holder > 0 && alive(holder)) return false;
    try {
      unlinkSync(file); // a reservation left by a process that is gone
    } catch {
      // Another process removed it first; the second claim decides.
    }
  }
  return false;
}

function release(): void {
  for (const port of reserved) {
    try {
      unlinkSync(join(RESERVATIONS, String(port)));
    } catch {
      // Already gone.
    }
  }
}

let releaseOnExit = false;

function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server: Server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * `n` distinct TCP ports, free on `host` (default 127.0.0.1) and reserved for this process
 * until it exits.
 */
export async function freePorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  mkdirSync(RESERVATIONS, { recursive: true });
  if (!releaseOnExit) {
    process.once('exit', release);
    releaseOnExit = true;
  }
  const ports: number[] = [];
  for (let attempts = 0; ports.length < n; attempts++) {
    if (attempts > n + 2_000) throw new Error(`could not find ${n} free ports on ${host}`);
    const port = RANGE_START + Math.floor(Math.random() * (RANGE_END - RANGE_START));
    if (reserved.has(port) || !reserve(port)) continue;
    reserved.add(port);
    if (await canListen(port, host)) ports.push(port);
  }
  return ports;
}

/** One TCP port that was free on `host` (default 127.0.0.1). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await freePorts(1, host);
  if (port === undefined) throw new Error('no free port');
  return port;
}
