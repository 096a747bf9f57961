import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load.ts';
import { Gateway } from '../../src/daemon/gateway.ts';
import { createLogger } from '../../src/daemon/logger.ts';
import { fetchText } from '../support/http.ts';
import { freePorts } from '../support/ports.ts';
import { runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';

export const CFS = fileURLToPath(new URL('../../../../cfs', import.meta.url));

/** A gateway configuration on free 127.0.0.1 ports; `extra` is appended as YAML. */
export async function writeConfig(
  dir: string,
  { probeInterval = '1h', extra = '' }: { probeInterval?: string; extra?: string } = {},
): Promise<{
  file: string;
  opsPort: number;
  ports: { nfs: number; mount: number; s3: number; smb: number };
}> {
  const [nfs, mount, s3, smb, ops] = await freePorts(5);
  const file = join(dir, 'gateway.yaml');
  writeFileSync(
    file,
    `node: { name: gw-metrics, state_dir: ${dir}/state }
log_level: info
nfs: { bind: 127.0.0.1:${nfs}, mount_bind: 127.0.0.1:${mount}, exports: [{ path: /export }] }
s3: { bind: 127.0.0.1:${s3}, root: /export }
smb: { bind: 127.0.0.1:${smb}, shares: [{ name: export, path: /export }] }
health: { bind: 127.0.0.1:${ops}, probe_interval: ${probeInterval} }
${extra}
`,
  );
  return { file, opsPort: ops!, ports: { nfs: nfs!, mount: mount!, s3: s3!, smb: smb! } };
}

export interface InProcessGateway {
  gw: Gateway;
  dir: string;
  opsUrl: string;
}

/**
 * A gateway started in this process (no protocol servers: tests report requests through the
 * connection registry, as the protocol servers will). Background health probes run once an
 * hour so breaker counters only move when a test moves them.
 */
export async function startInProcess(extra = ''): Promise<InProcessGateway> {
  const dir = makeTempDir('metrics');
  const { file, opsPort } = await writeConfig(dir, { extra });
  const { config, problems } = await loadConfig(file);
  if (!config) throw new Error(`bad test config: ${JSON.stringify(problems)}`);
  const gw = new Gateway(config, [], createLogger('error', { pretty: false }));
  await gw.start();
  return { gw, dir, opsUrl: `http://127.0.0.1:${opsPort}` };
}

/** One sample line of the text exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (the subset prom-client writes). */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The samples of `name` whose labels include `labels`. */
export function select(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

/** The value of the one sample of `name` with exactly these labels; undefined when absent. */
export function sampleValue(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const want = Object.keys(labels).length;
  const hits = select(samples, name, labels).filter((s) => Object.keys(s.labels).length === want);
  if (hits.length > 1) throw new Error(`${hits.length} samples of ${name} ${JSON.stringify(labels)}`);
  return hits[0]?.value;
}

export async function scrape(
  opsUrl: string,
): Promise<{ text: string; samples: Sample[]; contentType: string }> {
  const r = await fetchText(`${opsUrl}/metrics`);
  if (r.status !== 200) throw new Error(`GET /metrics: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
  return { text: r.body, samples: parseExposition(r.body), contentType: r.headers.get('content-type') ?? '' };
}

/** `promtool check metrics` on an exposition body: its exit code and its findings, one a line. */
export async function promtoolCheck(body: string): Promise<{ code: number | null; findings: string[] }> {
  const r = await runCommand('promtool', ['check', 'metrics'], { input: body, timeoutMs: 30_000 });
  return {
    code: r.code,
    findings: r.output
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean),
  };
}

export const P99_LINT = 'gateway_latency_p99_us metric names should not contain abbreviated units';

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not after ${timeoutMs} ms${last ? ` (${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
