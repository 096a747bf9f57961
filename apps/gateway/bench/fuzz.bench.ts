// Hostile input at bench scale (issue 9, item 5): every fuzz test file, run by scripts/test.mjs
// with FUZZ_CASES_SCALE = CFS_BENCH_FUZZ_CASES / 20,000 (CI runs 20,000 cases per decoder; the
// bench default, 1,000,000, is fifty times that), each file appending one line per fuzzer to
// CFS_FUZZ_REPORT (test/support/fuzz.ts). The lines are summed per decoder: one row each, with
// cases run against the target, and the rate and peak RSS in the workload text. A decoder is
// met with at least the target's cases and no failure; a test file that fails after its fuzz
// loop (a post-check: memory, coverage, the server still answering) counts as a failure of
// every decoder it reported. Files run CFS_BENCH_FUZZ_PARALLEL at a time (1: two shared cores).
// Output of a failing file is printed (its fuzzers print their FUZZ_SEED); the bench exits 1.
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FuzzRow } from '../test/support/fuzz.ts';
import { type BenchRow, printTable } from './table.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const testDir = fileURLToPath(new URL('../test/', import.meta.url));
/** The CI count per decoder (test/support/fuzz.ts `fuzzCases` is scaled from it). */
const CI_CASES = 20_000;
const TARGET = Number(process.env.CFS_BENCH_FUZZ_CASES ?? 1_000_000);
const SCALE = TARGET / CI_CASES;
const PARALLEL = Math.max(1, Number(process.env.CFS_BENCH_FUZZ_PARALLEL ?? 1));
const work = mkdtempSync(join(tmpdir(), 'cfs-fuzz-bench-'));

/** Every fuzz test file: test/fuzz/*.test.ts and the protocol suites' own fuzz.test.ts. */
function fuzzFiles(): string[] {
  const files = readdirSync(join(testDir, 'fuzz'))
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => join(testDir, 'fuzz', f));
  for (const suite of readdirSync(testDir, { withFileTypes: true })) {
    const f = join(testDir, suite.name, 'fuzz.test.ts');
    if (suite.isDirectory() && existsSync(f)) files.push(f);
  }
  return files.sort();
}

interface FileRun {
  file: string;
  code: number | null;
  ms: number;
  rows: FuzzRow[];
  output: string;
}

function runFile(file: string, index: number): Promise<FileRun> {
  const report = join(work, `report-${index}.jsonl`);
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'scripts/test.mjs'), file], {
      cwd: root,
      env: {
        ...process.env,
        FUZZ_CASES_SCALE: String(SCALE),
        CFS_FUZZ_REPORT: report,
        // Hang limits grown with the cases (the fuzzers' own limits grow the same way).
        TEST_TIMEOUT_MS: String(Math.ceil(300_000 * Math.max(1, SCALE))),
        TEST_RUN_TIMEOUT_MS: String(Math.ceil(1_200_000 * Math.max(1, SCALE))),
        // A fuzz loop that runs synchronously holds back its file's test events until it ends
        // (a second or two in CI, a minute at fifty times the cases): not a hang.
        TEST_IDLE_TIMEOUT_MS: String(Math.ceil(60_000 * Math.max(1, SCALE))),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.on('close', (code) => {
      const rows = existsSync(report)
        ? readFileSync(report, 'utf8')
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => JSON.parse(l) as FuzzRow)
        : [];
      resolve({ file, code, ms: performance.now() - started, rows, output });
    });
  });
}

const files = fuzzFiles();
console.log(
  `${files.length} fuzz test files, ${TARGET.toLocaleString('en-US')} cases per decoder (FUZZ_CASES_SCALE=${SCALE}), ${PARALLEL} at a time`,
);
const runs: FileRun[] = [];
let next = 0;
await Promise.all(
  Array.from({ length: Math.min(PARALLEL, files.length) }, async () => {
    while (next < files.length) {
      const i = next++;
      const run = await runFile(files[i]!, i);
      runs.push(run);
      const name = relative(root, run.file);
      const cases = run.rows.reduce((n, r) => n + r.cases, 0);
      console.log(
        `${run.code === 0 ? 'ok  ' : 'FAIL'} ${name}: ${cases.toLocaleString('en-US')} cases in ${(run.ms / 1000).toFixed(1)} s`,
      );
      if (run.code !== 0) console.log(run.output.split('\n').slice(-80).join('\n'));
    }
  }),
);
rmSync(work, { recursive: true, force: true });

interface Decoder {
  cases: number;
  failures: number;
  ms: number;
  peakRssBytes: number;
}
const decoders = new Map<string, Decoder>();
for (const run of runs) {
  const own = new Map<string, Decoder>();
  for (const r of run.rows) {
    const d = decoders.get(r.decoder) ?? { cases: 0, failures: 0, ms: 0, peakRssBytes: 0 };
    d.cases += r.cases;
    d.failures += r.failures;
    d.ms += r.ms;
    d.peakRssBytes = Math.max(d.peakRssBytes, r.peakRssBytes);
    decoders.set(r.decoder, d);
    own.set(r.decoder, d);
  }
  if (run.code !== 0 && run.rows.every((r) => r.failures === 0)) {
    for (const d of own.values()) d.failures++;
    // A file that failed before any fuzzer reported still gets a row.
    if (own.size === 0)
      decoders.set(`(${relative(root, run.file)})`, { cases: 0, failures: 1, ms: 0, peakRssBytes: 0 });
  }
}

const MiB = 1024 * 1024;
const target = `≥ ${TARGET.toLocaleString('en-US')} cases, 0 failures`;
const rows: BenchRow[] = [...decoders]
  .sort((a, b) => a[0].localeCompare(b[0]))
  .map(([decoder, d]) => ({
    workload: `${decoder} (${Math.round(d.cases / Math.max(d.ms / 1000, 1e-3)).toLocaleString('en-US')} cases/s, peak RSS ${Math.round(d.peakRssBytes / MiB)} MiB${d.failures > 0 ? `, ${d.failures} FAILED` : ''})`,
    gateway: d.cases,
    unit: 'cases',
    target,
    met: d.cases >= TARGET && d.failures === 0,
  }));
printTable('Hostile input: every decoder fuzzed in process and over loopback (gateway code, no peer)', rows);
const outDir = fileURLToPath(new URL('../../../bench-output/', import.meta.url));
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'fuzz.json'), `${JSON.stringify(rows, null, 2)}\n`);
process.exitCode = [...decoders.values()].every((d) => d.failures === 0) ? 0 : 1;
