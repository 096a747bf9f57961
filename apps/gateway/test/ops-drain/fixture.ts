import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import type { GatewayConfig, Protocol } from '../../src/config/types.ts';
import type { Role } from '../../src/control/index.ts';
import { Gateway } from '../../src/daemon/gateway.ts';
import { createLogger, type Logger } from '../../src/daemon/logger.ts';
import type { Listener, ProtocolServer } from '../../src/daemon/protocol-server.ts';
import { type Caller, roleAllows } from '../../src/ops/admin/routes.ts';
import type { HealthCheck } from '../../src/ops/health.ts';
import { freePorts } from '../support/ports.ts';
import { makeTempDir } from '../support/tmpdir.ts';

export const CFS = fileURLToPath(new URL('../../../../cfs', import.meta.url));

export interface TestConfig {
  dir: string;
  file: string;
  health: number;
  ports: { nfs: number; mount: number; s3: number; smb: number; health: number };
}

/** A gateway.yaml on free 127.0.0.1 ports with its state in a fresh temp folder; `extra` is appended. */
export async function writeGatewayConfig(
  prefix: string,
  extra: string[] = [],
  s3Extra = '',
): Promise<TestConfig> {
  const dir = makeTempDir(prefix);
  const [nfs = 0, mount = 0, s3 = 0, smb = 0, health = 0] = await freePorts(5);
  const file = join(dir, 'gateway.yaml');
  writeFileSync(
    file,
    [
      `node: { name: gw-test, state_dir: ${dir}/state }`,
      'log_level: info',
      `nfs: { bind: 127.0.0.1:${nfs}, mount_bind: 127.0.0.1:${mount} }`,
      `s3: { bind: 127.0.0.1:${s3}${s3Extra} }`,
      `smb: { bind: 127.0.0.1:${smb} }`,
      `health: { bind: 127.0.0.1:${health}, probe_interval: 200ms }`,
      ...extra,
      '',
    ].join('\n'),
  );
  return { dir, file, health, ports: { nfs, mount, s3, smb, health } };
}

export async function loadTestConfig(file: string): Promise<GatewayConfig> {
  const { config, problems } = await loadConfig(file);
  if (!config) throw new Error(`test config invalid: ${JSON.stringify(problems)}`);
  return config;
}

/** A logger whose JSON lines the test can read (the gateway's own writes to fd 1). */
export function capturedLogger(level = 'info'): { log: Logger; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const log = pino({ level, base: { node: 'gw-test' } }, sink);
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log, lines };
}

/**
 * A protocol listener stand-in: it accepts a connection into the gateway's registry only
 * while accepting, as a real server's accept loop would, and records each setAccepting call.
 */
export class FakeServer implements ProtocolServer {
  accepting = true;
  readonly calls: boolean[] = [];
  stopped = false;

  constructor(
    readonly protocol: Protocol,
    private readonly gw: Gateway,
  ) {}

  async start(): Promise<Listener[]> {
    return [];
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }

  setAccepting(accepting: boolean): void {
    this.accepting = accepting;
    this.calls.push(accepting);
  }

  /** A client connects: a Connection, or undefined when refused. */
  connect(remotePort = 40000) {
    if (!this.accepting) return undefined;
    return this.gw.connections.accept(this.protocol, '192.0.2.10', remotePort, 2049);
  }

  /** As the real servers' checks: degraded while a drain keeps the listener closed. */
  healthCheck(): HealthCheck {
    return {
      name: this.protocol,
      run: async () =>
        this.accepting ? undefined : { status: 'degraded', message: 'not accepting connections (drain)' },
    };
  }
}

export interface InProcessGateway {
  gw: Gateway;
  config: GatewayConfig;
  base: string;
  /** Admin API calls are made as a caller with this role (the real authenticator is not here). */
  role: Role;
  audits: Array<{ action: string; outcome: string; detail?: unknown }>;
  stop(): Promise<void>;
}

/** A started in-process gateway whose admin API trusts every caller with `role` (settable). */
export async function startInProcess(
  file: string,
  opts: { log?: Logger; protocols?: Protocol[] } = {},
): Promise<InProcessGateway> {
  const config = await loadTestConfig(file);
  const gw = new Gateway(config, opts.protocols ?? [], opts.log ?? createLogger('error', { pretty: false }));
  await gw.start();
  const h: InProcessGateway = {
    gw,
    config,
    base: `http://127.0.0.1:${config.health.bind.port}`,
    role: 'admin',
    audits: [],
    stop: () => gw.stop(),
  };
  gw.admin.authenticate = async (_req, minRole) => {
    const caller: Caller = { actor: 'test', role: h.role, remoteAddress: '127.0.0.1' };
    return roleAllows(h.role, minRole) ? caller : { status: 403, error: `needs role ${minRole}` };
  };
  gw.admin.audit = (e) => {
    h.audits.push({ action: e.action, outcome: e.outcome, detail: e.detail });
  };
  return h;
}

export async function call<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns true; rejects after `timeoutMs`. */
export async function until(
  probe: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await sleep(25);
  }
}
