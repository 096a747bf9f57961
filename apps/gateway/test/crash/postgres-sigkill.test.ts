import { ok } from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type StoreServer, startStoreServer } from '../data-s3/store-server.ts';
import { type PostgresServer, requirePostgres, startPostgres } from '../support/postgres.ts';
import { PROTOCOLS } from './ledger.ts';
import { CrashRig, formatRound, type RoundReport } from './rig.ts';

/**
 * The crash rounds of mixed-sigkill.test.ts with the scale-out backends: metadata on PostgreSQL
 * (durable when a commit returns) and file data in an object store (another gateway). The
 * gateway is SIGKILLed at random moments under S3 + NFS + SMB writers; after each restart every
 * acknowledged write is intact and nothing unacknowledged is half-visible. (`./cfs fsck` checks
 * the embedded backends only, so it is not run here.)
 */
const ROUNDS = Number(process.env.CFS_CRASH_ROUNDS ?? 3);
const SEED = Number(process.env.CFS_CRASH_SEED ?? Math.floor(Math.random() * 1_000_000));

let pg: PostgresServer;
let store: StoreServer;
let rig: CrashRig;
before(async () => {
  if (requirePostgres().skip) return;
  pg = await startPostgres();
  store = await startStoreServer();
  rig = await CrashRig.create({
    killWindowMs: [250, 1500],
    extraYaml: `metadata: { url: "${await pg.createDatabase()}" }\n${store.transportYaml('crash')}`,
  });
});
after(async () => {
  await rig?.close();
  await store?.stop();
  await pg?.destroy();
});

test(
  '1 SIGKILLs on PostgreSQL + an object store under mixed S3 + NFS + SMB writers: acknowledged writes survive, nothing half-visible',
  requirePostgres(),
  async (t) => {
    t.diagnostic(`CFS_CRASH_SEED=${SEED}, ${ROUNDS} rounds`);
    const reports: RoundReport[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const r = await rig.round(round, SEED + round);
      reports.push(r);
      t.diagnostic(formatRound(r));
      ok(
        r.problems.length === 0,
        `CFS_CRASH_SEED=${SEED} ${formatRound(r)}\n${r.problems.join('\n')}\n` +
          `--- gateway output after the restart ---\n${rig.gatewayOutput()}`,
      );
    }
    for (const p of PROTOCOLS) {
      const total = reports.reduce((s, r) => s + r.acked[p], 0);
      ok(total > 0, `no ${p} write was acknowledged in ${ROUNDS} rounds (CFS_CRASH_SEED=${SEED})`);
    }
  },
);
