/**
 * Every metric name an operator reads — in the runbook's table and queries, the other docs, the
 * console's pages and the diagnostics trees' steps — is one the gateway's `/metrics` serves. A
 * name followed by `*` or searched with `grep` may be a prefix of some.
 */
import { deepEqual, ok } from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { Gateway } from '../../src/daemon/gateway.ts';
import { createLogger } from '../../src/daemon/logger.ts';
import { fetchText } from '../support/http.ts';
import { operatorFiles, REPO_ROOT } from '../support/operator-text.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { writeConfig } from './fixture.ts';

/** Besides the docs and the console: the diagnostics' steps and the health checks' findings. */
const SOURCES = ['apps/gateway/src/ops/diagnostics/', 'apps/gateway/src/ops/health/'];

/** Sample suffixes of histograms and summaries, which are names a query uses too. */
const SERIES_SUFFIXES: Record<string, string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['_sum', '_count'],
};

let gw: Gateway;
let exposition = '';

before(async () => {
  const dir = makeTempDir('documented-metrics');
  const { file, opsPort } = await writeConfig(dir);
  const { config, problems } = await loadConfig(file);
  if (!config) throw new Error(`bad test config: ${JSON.stringify(problems)}`);
  // Every protocol served, so each one's metrics are registered as they are in production.
  gw = new Gateway(config, ['nfs', 's3', 'smb'], createLogger('error', { pretty: false }));
  await gw.start();
  exposition = (await fetchText(`http://127.0.0.1:${opsPort}/metrics`)).body;
});

after(async () => {
  await gw?.stop();
});

function served(): Set<string> {
  const names = new Set<string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(m[1]!);
    for (const suffix of SERIES_SUFFIXES[m[2]!] ?? []) names.add(`${m[1]}${suffix}`);
  }
  return names;
}

test('1 every metric the docs, the console and the diagnostics name is served at /metrics', () => {
  const names = served();
  ok(names.has('gateway_requests_total'), 'the exposition has the gateway metrics');
  const missing: string[] = [];
  let checked = 0;
  for (const file of operatorFiles(SOURCES)) {
    const lines = readFileSync(join(REPO_ROOT, file), 'utf8').split('\n');
    lines.forEach((line, i) => {
      for (const m of line.matchAll(/\bgateway_[a-z0-9_]*[a-z0-9]\b(\*|_\*)?/g)) {
        const name = m[0].replace(/_?\*$/, '');
        checked++;
        if (names.has(name)) continue;
        const prefix = m[1] !== undefined || /\bgrep\b[^|]*$/.test(line.slice(0, m.index));
        if (prefix && [...names].some((n) => n.startsWith(`${name}_`))) continue;
        missing.push(`${file}:${i + 1}: ${m[0]}`);
      }
    });
  }
  ok(checked > 50, `only ${checked} metric names found`);
  deepEqual(missing, [], `named but not served at /metrics:\n${missing.join('\n')}`);
});
