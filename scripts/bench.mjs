#!/usr/bin/env node
// `npm run bench`: every benchmark suite, each printing its table (workload, gateway, peer,
// ratio, target, met/missed) and writing bench-output/<suite>.json. Speed is measured here,
// never asserted in tests. `npm run bench -- namespace` runs one suite. At the end,
// apps/gateway/bench/summary.ts prints every row of this run in one table and writes
// bench-output/summary.json and summary.png.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = join(root, 'apps/gateway/bench');
const wanted = process.argv.slice(2);
const suites = readdirSync(benchDir)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .filter((s) => wanted.length === 0 || wanted.includes(s));

// The suites start the gateway with `./cfs`: build it from the sources as they are now.
if (
  spawnSync(process.execPath, [join(root, 'scripts', 'build-gateway.mjs')], { stdio: 'inherit' }).status !== 0
) {
  process.exit(1);
}
let failed = 0;
const started = Date.now();
for (const suite of suites) {
  console.log(`\n=== ${suite} ===`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(benchDir, `${suite}.bench.ts`)], {
    stdio: 'inherit',
    cwd: root,
  });
  if (r.status !== 0) failed++;
}
spawnSync(process.execPath, ['--import', 'tsx', join(benchDir, 'summary.ts')], {
  stdio: 'inherit',
  cwd: root,
  env: { ...process.env, CFS_BENCH_STARTED: String(started) },
});
process.exit(failed > 0 ? 1 : 0);
