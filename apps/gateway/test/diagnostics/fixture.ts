import { statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCaller, type Role } from '@claudefs/api';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import type { Protocol } from '../../src/config/types.ts';
import { Gateway } from '../../src/daemon/gateway.ts';
import { createLogger, type Logger } from '../../src/daemon/logger.ts';
import type { DiagnosticRun, DiagnosticStepResult } from '../../src/ops/diagnostics/api.ts';
import { createGatewayControl } from '../../src/ops/trpc/control.ts';
import { freePorts } from '../support/ports.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { waitFor } from '../support/wait.ts';

export const CFS = fileURLToPath(new URL('../../../../cfs', import.meta.url));

export interface DiagGateway {
  gw: Gateway;
  dir: string;
  file: string;
  ports: { s3: number; health: number };
  /** A tRPC caller with a console session of this role, as the console's requests reach the router. */
  as(role: Role, user?: string): ReturnType<typeof createCaller>;
  stop(): Promise<void>;
}

export interface DiagGatewayOptions {
  /** YAML lines added to the file (sections not given: nfs, smb and s3 off). */
  yaml?: string[];
  protocols?: Protocol[];
  /** Default: JSON lines at `error` to stdout, as the faults tests use. */
  log?: Logger;
  s3?: string;
  smb?: string;
  nfs?: string;
}

/** The config file a test gateway runs from, on free loopback ports. */
export async function writeConfig(prefix: string, o: DiagGatewayOptions = {}) {
  const dir = makeTempDir(`diag-${prefix}`);
  const [s3 = 0, health = 0] = await freePorts(2);
  const file = join(dir, 'gateway.yaml');
  writeFileSync(
    file,
    [
      `node: { name: gw-diag, state_dir: ${dir}/state }`,
      'log_level: info',
      o.nfs ?? 'nfs: { enabled: false }',
      o.smb ?? 'smb: { enabled: false }',
      (o.s3 ?? 's3: { enabled: false }').replace('S3PORT', String(s3)),
      `health: { bind: 127.0.0.1:${health}, probe_interval: 200ms }`,
      'circuit_breaker: { failure_threshold: 2, reset_timeout: 600ms }',
      ...(o.yaml ?? []),
      '',
    ].join('\n'),
  );
  return { dir, file, ports: { s3, health } };
}

/** A gateway in this process (its ops listener up), for wizards run through createCaller. */
export async function startDiagGateway(prefix: string, o: DiagGatewayOptions = {}): Promise<DiagGateway> {
  const { dir, file, ports } = await writeConfig(prefix, o);
  const { config, problems } = await loadConfig(file);
  if (!config) throw new Error(`bad test config: ${JSON.stringify(problems)}`);
  process.env.CFS_ADMIN_PASSWORD ??= 'diag-Admin-pw-12';
  const gw = new Gateway(config, o.protocols ?? [], o.log ?? createLogger('error', { pretty: false }));
  await gw.start();
  const control = createGatewayControl(gw);
  return {
    gw,
    dir,
    file,
    ports,
    as: (role, user = role) => createCaller({ control, session: { user, role } }),
    stop: () => gw.stop(),
  };
}

/** A pino logger at `level` whose lines stay in memory (and reach the diagnostics' log ring). */
export function memoryLogger(level = 'info'): { log: Logger; text: () => string } {
  const lines: string[] = [];
  return { log: pino({ level }, { write: (l: string) => void lines.push(l) }), text: () => lines.join('') };
}

/** The ids of the steps a run went through, in order. */
export const path = (run: DiagnosticRun) => run.steps.map((s) => s.id);

export function step(run: DiagnosticRun, id: string): DiagnosticStepResult {
  const s = run.steps.find((x) => x.id === id);
  if (!s) throw new Error(`run ${run.tree} did not visit ${id}: ${path(run).join(' → ')}`);
  return s;
}

export const until = (what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> =>
  waitFor(cond, what, ms);

/** A day-stamp as `openssl ca -startdate/-enddate` takes it: YYYYMMDDHHMMSSZ. */
export function opensslTime(d: Date): string {
  return `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

/**
 * What the backend tree's room step finds on the file system under `folder` now, as statfs
 * reads it (the test machine's own disk: its room is not the test's to choose).
 */
export function roomAt(folder: string): 'room' | 'low' | 'full' {
  const s = statfsSync(folder, { bigint: true });
  const left = Number(s.bavail) / Number(s.blocks);
  return left < 0.01 ? 'full' : left < 0.15 ? 'low' : 'room';
}
