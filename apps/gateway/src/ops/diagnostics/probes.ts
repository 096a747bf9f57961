import { readFileSync } from 'node:fs';
import { connect as tcpConnectSocket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type PeerCertificate, connect as tlsConnectSocket } from 'node:tls';
import { isWildcardHost, parseListenAddress } from '../../config/address.ts';
import type { Gateway } from '../../daemon/gateway.ts';

/**
 * Measurements the wizards take of the live process and its host: each returns numbers, never
 * throws for what it measures (a refused connection is a result, not an exception).
 */

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface TcpCounters {
  outSegs: number;
  retransSegs: number;
}

/** `Tcp:` OutSegs and RetransSegs from /proc/net/snmp; undefined where the file is not there. */
export function readTcpCounters(file = '/proc/net/snmp'): TcpCounters | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const tcp = text.split('\n').filter((l) => l.startsWith('Tcp:'));
  const [head, values] = [tcp[0]?.split(/\s+/) ?? [], tcp[1]?.split(/\s+/) ?? []];
  const at = (name: string) => Number(values[head.indexOf(name)]);
  const outSegs = at('OutSegs');
  const retransSegs = at('RetransSegs');
  if (!Number.isFinite(outSegs) || !Number.isFinite(retransSegs)) return undefined;
  return { outSegs, retransSegs };
}

export interface InterfaceCounters {
  name: string;
  rxErrors: number;
  rxDropped: number;
  txErrors: number;
  txDropped: number;
}

/** Error and drop counters of every interface but loopback, from /proc/net/dev. */
export function readInterfaceCounters(file = '/proc/net/dev'): InterfaceCounters[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: InterfaceCounters[] = [];
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === 'lo') continue;
    const f = (m[2] ?? '').trim().split(/\s+/).map(Number);
    // rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes packets errs drop …
    out.push({
      name: m[1]!.trim(),
      rxErrors: f[2] ?? 0,
      rxDropped: f[3] ?? 0,
      txErrors: f[10] ?? 0,
      txDropped: f[11] ?? 0,
    });
  }
  return out;
}

export interface HostSample {
  windowMs: number;
  /** Process CPU (every thread) over the window, as a percentage of one core. */
  cpuPercent: number;
  userMs: number;
  systemMs: number;
  cores: number;
  tcp?: { outSegs: number; retransSegs: number; retransRatio: number | null };
  interfaces: Array<InterfaceCounters & { deltaErrors: number; deltaDropped: number }>;
}

/** Samples the process's CPU, TCP retransmits and interface errors over one window. */
export async function sampleHost(windowMs: number, cores: number): Promise<HostSample> {
  const cpu0 = process.cpuUsage();
  const tcp0 = readTcpCounters();
  const if0 = readInterfaceCounters();
  const t0 = performance.now();
  await sleep(windowMs);
  const cpu = process.cpuUsage(cpu0);
  const elapsedMs = performance.now() - t0;
  const tcp1 = readTcpCounters();
  const if1 = readInterfaceCounters();
  const usedMs = (cpu.user + cpu.system) / 1000;
  let tcp: HostSample['tcp'];
  if (tcp0 && tcp1) {
    const outSegs = tcp1.outSegs - tcp0.outSegs;
    const retransSegs = tcp1.retransSegs - tcp0.retransSegs;
    tcp = { outSegs, retransSegs, retransRatio: outSegs > 0 ? retransSegs / outSegs : null };
  }
  return {
    windowMs: Math.round(elapsedMs),
    cpuPercent: Math.round((usedMs / elapsedMs) * 1000) / 10,
    userMs: Math.round(cpu.user / 1000),
    systemMs: Math.round(cpu.system / 1000),
    cores,
    ...(tcp ? { tcp } : {}),
    interfaces: if1.map((i) => {
      const before = if0.find((b) => b.name === i.name);
      return {
        ...i,
        deltaErrors: before ? i.rxErrors + i.txErrors - before.rxErrors - before.txErrors : 0,
        deltaDropped: before ? i.rxDropped + i.txDropped - before.rxDropped - before.txDropped : 0,
      };
    }),
  };
}

export interface LoopLag {
  windowMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

const LAG_RESOLUTION_MS = 10;

/**
 * Event-loop delay over a window (perf_hooks monitorEventLoopDelay). The histogram records the
 * time between its timer's firings, resolution included, so the resolution is taken off.
 */
export async function sampleEventLoop(windowMs: number): Promise<LoopLag> {
  const h = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  h.enable();
  const t0 = performance.now();
  await sleep(windowMs);
  h.disable();
  const ms = (ns: number) =>
    Math.max(0, Math.round(((Number.isFinite(ns) ? ns : 0) / 1e6 - LAG_RESOLUTION_MS) * 100) / 100);
  return {
    windowMs: Math.round(performance.now() - t0),
    p50Ms: ms(h.percentile(50)),
    p99Ms: ms(h.percentile(99)),
    maxMs: ms(h.max),
    meanMs: ms(h.mean),
  };
}

export interface Timed {
  ok: boolean;
  ms: number;
  error?: string;
}

/** Runs `fn` `n` times in a row, timing each; stops at the first failure. */
export async function timeRepeatedly(fn: () => Promise<unknown>, n: number): Promise<Timed[]> {
  const out: Timed[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    try {
      await fn();
      out.push({ ok: true, ms: Math.round((performance.now() - t) * 100) / 100 });
    } catch (e) {
      out.push({
        ok: false,
        ms: Math.round((performance.now() - t) * 100) / 100,
        error: (e as Error).message,
      });
      break;
    }
  }
  return out;
}

export function median(values: number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface Endpoint {
  /** What the operator reads: `NFS`, `S3 (https)`, `health`, `metadata (postgres)`. */
  name: string;
  host: string;
  port: number;
  /** As configured or bound: `0.0.0.0:2049`. */
  address: string;
}

/** Where a client on this host reaches an address: a wildcard bind is reached on loopback. */
export function reachable(host: string): string {
  if (!isWildcardHost(host)) return host;
  return host.includes(':') ? '::1' : '127.0.0.1';
}

/** The sockets this gateway has bound (health, each protocol's), as a client would dial them. */
export function listenerEndpoints(gw: Gateway): Endpoint[] {
  const out: Endpoint[] = [];
  for (const l of gw.listeners) {
    try {
      const a = parseListenAddress(l.address);
      out.push({ name: l.name, host: reachable(a.host), port: a.port, address: l.address });
    } catch {
      // A listener that reports no host:port (none today) cannot be dialled.
    }
  }
  return out;
}

/** The metadata and transport backends when they live across the network (PostgreSQL, S3). */
export function backendEndpoints(gw: Gateway): Endpoint[] {
  const out: Endpoint[] = [];
  const { metadata, transport } = gw.config;
  if (metadata.kind === 'postgres') {
    const u = new URL(metadata.url);
    out.push({
      name: 'metadata (postgres)',
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: Number(u.port || 5432),
      address: `${u.hostname}:${u.port || 5432}`,
    });
  }
  if (transport.kind === 's3') {
    const u = new URL(transport.url);
    const endpoint = u.searchParams.get('endpoint');
    if (endpoint) {
      const e = new URL(endpoint);
      const port = Number(e.port || (e.protocol === 'https:' ? 443 : 80));
      out.push({ name: 'transport (s3)', host: e.hostname, port, address: `${e.hostname}:${port}` });
    }
  }
  return out;
}

/** A TCP connect, as `nc -zv host port` does it. */
export function tcpProbe(host: string, port: number, timeoutMs = 3000): Promise<Timed> {
  return new Promise((resolve) => {
    const t = performance.now();
    const done = (r: Omit<Timed, 'ms'>) => {
      socket.destroy();
      resolve({ ...r, ms: Math.round((performance.now() - t) * 100) / 100 });
    };
    const socket = tcpConnectSocket({ host, port });
    socket.setTimeout(timeoutMs, () =>
      done({ ok: false, error: `no answer within ${timeoutMs} ms (filtered?)` }),
    );
    socket.once('connect', () => done({ ok: true }));
    socket.once('error', (e: NodeJS.ErrnoException) => done({ ok: false, error: e.code ?? e.message }));
  });
}

export interface HandshakeResult extends Timed {
  protocol?: string;
  cipher?: string;
  /** Verified against the system trust store, as a client with default settings would. */
  authorized?: boolean;
  authorizationError?: string;
  peer?: {
    subject: string;
    subjectAltName: string;
    validFrom: string;
    validTo: string;
    fingerprint256: string;
  };
  /** The peer certificate as Node sees it (for the host-name check). */
  raw?: PeerCertificate;
}

/** A TLS handshake as an S3 client makes it: SNI, ALPN-less, the system's trust store. */
export function tlsProbe(
  host: string,
  port: number,
  servername: string | undefined,
  timeoutMs = 5000,
): Promise<HandshakeResult> {
  return new Promise((resolve) => {
    const t = performance.now();
    let settled = false;
    const finish = (r: Omit<HandshakeResult, 'ms'>) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve({ ...r, ms: Math.round((performance.now() - t) * 100) / 100 });
    };
    const socket = tlsConnectSocket({
      host,
      port,
      ...(servername ? { servername } : {}),
      // The verdict is recorded, not enforced: the wizard must see a certificate clients refuse.
      rejectUnauthorized: false,
    });
    socket.setTimeout(timeoutMs, () => finish({ ok: false, error: `no handshake within ${timeoutMs} ms` }));
    socket.once('secureConnect', () => {
      const peer = socket.getPeerCertificate();
      const cipher = socket.getCipher();
      const error = socket.authorizationError;
      finish({
        ok: true,
        protocol: socket.getProtocol() ?? undefined,
        cipher: cipher?.name,
        authorized: socket.authorized,
        ...(error ? { authorizationError: String(error) } : {}),
        ...(peer && Object.keys(peer).length > 0
          ? {
              peer: {
                subject: Object.entries(peer.subject ?? {})
                  .map(([k, v]) => `${k}=${v}`)
                  .join(', '),
                subjectAltName: peer.subjectaltname ?? '',
                validFrom: new Date(peer.valid_from).toISOString(),
                validTo: new Date(peer.valid_to).toISOString(),
                fingerprint256: peer.fingerprint256,
              },
              raw: peer,
            }
          : {}),
      });
    });
    socket.once('error', (e: NodeJS.ErrnoException) =>
      finish({ ok: false, error: e.code ? `${e.code}: ${e.message}` : e.message }),
    );
  });
}
