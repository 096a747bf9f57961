import { ok } from 'node:assert/strict';
import { after, before, type TestContext, test } from 'node:test';
import { PROTOCOLS } from './ledger.ts';
import { CrashRig, formatRound, type RoundReport } from './rig.ts';

/**
 * Crash safety under mixed NFS + S3 + SMB writes (issue 9): SIGKILL at a seeded random moment,
 * restart, every acknowledged write intact, nothing unacknowledged half-visible, fsck clean.
 * CFS_CRASH_SEED replays a run's seeds (the operations chosen and the kill moments; thread
 * timing still varies); CFS_CRASH_ROUNDS sets the number of rounds.
 */
const ROUNDS = Number(process.env.CFS_CRASH_ROUNDS ?? 3);
const SEED = Number(process.env.CFS_CRASH_SEED ?? Math.floor(Math.random() * 1_000_000));

/** Crash windows this test found, each pinned down by a test of its own until fixed. */
const KNOWN: Array<[RegExp, string]> = [
  [
    /checksum-mismatch|ETag \S+ is not the MD5/,
    'etag-window.test.ts (a stored S3 MD5 outlives an in-place write cut short)',
  ],
  [/orphan-blob/, 'orphan-blob.test.ts (removing a file whose first write a crash cut short leaks its blob)'],
];

function knownCause(problems: string[]): string {
  const hits = KNOWN.filter(([re]) => problems.some((p) => re.test(p))).map(([, what]) => what);
  if (hits.length === 0) return '';
  return `known storage bug, reproduced on its own by apps/gateway/test/crash/${hits.join(' and ')}\n`;
}

let rig: CrashRig;
let asyncRig: CrashRig;
before(async () => {
  // Short rounds: a file silent for 60 s while another reports is taken for hung (test-reporter.mjs).
  rig = await CrashRig.create({ killWindowMs: [250, 1500] });
});
after(async () => {
  await rig?.close();
  await asyncRig?.close();
});

test('1 SIGKILLs under mixed S3 + NFS + SMB writers: acknowledged writes survive, nothing half-visible, fsck clean', (t) =>
  crashRounds(t, rig));

// durability.metadata async answers NFS and SMB changes once committed to the WAL in the page
// cache; with the flush an hour away, every flush in these rounds is one a client asked for.
test('2 the same with durability.metadata async (flushed hourly): a SIGKILL loses nothing acknowledged', async (t) => {
  asyncRig = await CrashRig.create({
    killWindowMs: [250, 1500],
    extraYaml: 'durability: { metadata: async, flush_interval: 1h }',
  });
  await crashRounds(t, asyncRig);
});

async function crashRounds(t: TestContext, rig: CrashRig): Promise<void> {
  t.diagnostic(`CFS_CRASH_SEED=${SEED}, ${ROUNDS} rounds`);
  const reports: RoundReport[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    let r: RoundReport;
    try {
      r = await rig.round(round, SEED + round);
    } catch (e) {
      throw new Error(`round ${round} (CFS_CRASH_SEED=${SEED}): ${(e as Error).message}`, { cause: e });
    }
    reports.push(r);
    t.diagnostic(formatRound(r));
    ok(
      r.problems.length === 0,
      `CFS_CRASH_SEED=${SEED} ${formatRound(r)}\n${r.problems.join('\n')}\n${knownCause(r.problems)}` +
        `--- gateway output after the restart ---\n${rig.gatewayOutput()}`,
    );
  }
  // The rounds must have had something to lose: acknowledged writes over every protocol.
  for (const p of PROTOCOLS) {
    const total = reports.reduce((s, r) => s + r.acked[p], 0);
    ok(total > 0, `no ${p} write was acknowledged in ${ROUNDS} rounds (CFS_CRASH_SEED=${SEED})`);
  }
  ok(
    reports.some((r) => r.present > 0),
    'no name existed after any restart',
  );
}
