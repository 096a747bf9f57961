import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import { Gateway } from '../../src/daemon/gateway.ts';
import { freePorts } from '../support/ports.ts';
import { type RunResult, runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';

export const CFS = fileURLToPath(new URL('../../../../cfs', import.meta.url));

/** A gateway configuration on free loopback ports; `extra` is appended YAML (quota:, identity:). */
export async function writeGatewayConfig(dir: string, extra = ''): Promise<string> {
  const [nfs, mount, s3, smb, health] = await freePorts(5);
  const file = join(dir, 'gateway.yaml');
  writeFileSync(
    file,
    `node: { name: gw-test, state_dir: ${dir}/state }
log_level: info
nfs: { bind: 127.0.0.1:${nfs}, mount_bind: 127.0.0.1:${mount}, exports: [{ path: /export }] }
s3: { bind: 127.0.0.1:${s3}, root: /export }
smb: { bind: 127.0.0.1:${smb}, shares: [{ name: export, path: /export }] }
health: { bind: 127.0.0.1:${health}, probe_interval: 200ms }
${extra}
`,
  );
  return file;
}

/** Every log line a gateway wrote, parsed, in order. */
export class CapturedLog {
  readonly raw: string[] = [];

  get lines(): Array<{ level: number; msg: string; [k: string]: unknown }> {
    return this.raw.map((l) => JSON.parse(l));
  }

  /** Lines whose `msg` is exactly `msg`. */
  withMsg(msg: string): Array<{ level: number; msg: string }> {
    return this.lines.filter((l) => l.msg === msg);
  }

  text(): string {
    return this.raw.join('');
  }

  /** A pino destination: pino writes one whole line per call. */
  stream(): { write(line: string): void } {
    return { write: (line: string) => void this.raw.push(line) };
  }
}

export const LEVEL = { info: 30, warn: 40, error: 50 } as const;

export interface InProcessGateway {
  gw: Gateway;
  log: CapturedLog;
  dir: string;
  configFile: string;
  cfs(args: readonly string[], input?: string): Promise<RunResult>;
  stop(): Promise<void>;
}

/**
 * A gateway in this process, serving no protocol: tests use `gw.ns` as a protocol would and
 * read what it logged. The console admin gets a known password so nothing is printed.
 */
export async function startGateway(extraYaml = '', prefix = 'quota'): Promise<InProcessGateway> {
  const dir = makeTempDir(prefix);
  const configFile = await writeGatewayConfig(dir, extraYaml);
  const { config, problems } = await loadConfig(configFile, { checkPorts: false });
  if (!config) throw new Error(`bad test config: ${JSON.stringify(problems)}`);
  process.env.CFS_ADMIN_PASSWORD ??= 'in-process-admin-password';
  const log = new CapturedLog();
  const logger = pino(
    {
      level: 'info',
      redact: { paths: ['password', 'secret', 'token', '*.password', '*.secret', '*.token'] },
    },
    log.stream(),
  );
  const gw = new Gateway(config, [], logger);
  await gw.start();
  return {
    gw,
    log,
    dir,
    configFile,
    cfs: (args, input) =>
      runCommand(CFS, [...args, '--config', configFile], {
        timeoutMs: 60_000,
        ...(input === undefined ? {} : { input }),
      }),
    stop: () => gw.stop(),
  };
}

/** Polls `probe` every 20 ms until it returns true; rejects after `timeoutMs`. Resolves with the wait. */
export async function waitUntil(
  probe: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await probe()) return performance.now() - start;
    if (performance.now() - start > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
