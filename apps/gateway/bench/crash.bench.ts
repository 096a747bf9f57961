// Crash safety under mixed-protocol load (issue 9): CFS_BENCH_CRASH_ROUNDS (default 20) rounds of
// S3 + NFS + SMB writers against a gateway process that is SIGKILLed at a seeded random moment
// and started again; after each restart every acknowledged write is read back over another
// protocol and judged (test/crash/ledger.ts states the rules), and `./cfs fsck` must be clean.
// CFS_BENCH_CRASH_SEED replays a run's seeds. Prints one line per round and a summary table,
// writes bench-output/crash.json, and exits 1 when any round found a problem.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROTOCOLS } from '../test/crash/ledger.ts';
import { CrashRig, formatRound, type RoundReport } from '../test/crash/rig.ts';
import { type BenchRow, printTable } from './table.ts';

const ROUNDS = Number(process.env.CFS_BENCH_CRASH_ROUNDS ?? 20);
const SEED = Number(process.env.CFS_BENCH_CRASH_SEED ?? Math.floor(Math.random() * 1_000_000));

console.log(`crash bench: ${ROUNDS} rounds, CFS_BENCH_CRASH_SEED=${SEED}`);
const rig = await CrashRig.create({ writersPerProtocol: 2, namesPerWriter: 6, killWindowMs: [200, 4000] });
const reports: RoundReport[] = [];
try {
  for (let round = 1; round <= ROUNDS; round++) {
    const r = await rig.round(round, SEED + round);
    reports.push(r);
    console.log(formatRound(r));
    for (const p of r.problems) console.log(`  ${p}`);
  }
} finally {
  await rig.close();
}

const passed = reports.filter((r) => r.problems.length === 0).length;
const contentIntact = reports.every((r) => r.contentProblems === 0);
const sum = (f: (r: RoundReport) => number) => reports.reduce((s, r) => s + f(r), 0);
const rows: BenchRow[] = [
  {
    workload: `SIGKILL rounds under mixed S3 + NFS + SMB writers, passed (seed ${SEED})`,
    gateway: passed,
    unit: `of ${ROUNDS}`,
    target: 'all, ≥ 20 rounds',
    met: passed === ROUNDS && ROUNDS >= 20,
  },
  ...PROTOCOLS.map(
    (p): BenchRow => ({
      workload: `${p.toUpperCase()} writes acknowledged (every name's last acknowledged state read back)`,
      gateway: sum((r) => r.acked[p]),
      unit: 'acks',
      target: 'all intact',
      met: sum((r) => r.acked[p]) > 0 && contentIntact,
    }),
  ),
  {
    workload: `names caught in flight (applied ${sum((r) => r.outcomes.applied)}, not ${sum((r) => r.outcomes.none)}, partly ${sum((r) => r.outcomes.partial)})`,
    gateway: sum((r) => r.inFlight),
    unit: 'names',
    target: 'none half-visible',
    met: contentIntact,
  },
  {
    workload: './cfs fsck after each restart, clean',
    gateway: reports.filter((r) => r.fsckClean).length,
    unit: `of ${ROUNDS}`,
    target: 'all',
    met: reports.every((r) => r.fsckClean),
  },
  {
    workload: 'round (workload, SIGKILL, restart, read back, fsck), mean',
    gateway: sum((r) => r.ms) / Math.max(1, reports.length) / 1000,
    unit: 's',
    target: 'informational',
    met: true,
  },
];
printTable('Crash safety: SIGKILL under mixed-protocol writes (gateway process on 127.0.0.1)', rows);
const outDir = new URL('../../../bench-output/', import.meta.url).pathname;
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'crash.json'), `${JSON.stringify(rows, null, 2)}\n`);
process.exitCode = passed === ROUNDS ? 0 : 1;
