import { equal, ok } from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runCommand } from '../support/proc.ts';
import { requireTools } from '../support/tools.ts';
import { compileHarness, requireLibnfsDev, startClientGateway } from './gateway.ts';

/**
 * `durability.metadata` as a libnfs client meets it: one session creating, writing 4 KiB to and
 * closing files (the bench's small-file workload; libnfs closes with a COMMIT). Sync flushes
 * the WAL for each CREATE and again for each COMMIT; async only for each COMMIT, which still
 * makes the file's creation durable with its data. Counted in the WAL flushes
 * (`gateway_metadata_flushes_total`); what async answered surviving a SIGKILL is
 * crash/mixed-sigkill.test.ts.
 */
const FILES = 40;

async function flushesFor(durability: 'sync' | 'async', harness: string): Promise<number> {
  const g = await startClientGateway({
    extraYaml: `durability: { metadata: ${durability}${durability === 'async' ? ', flush_interval: 1h' : ''} }`,
  });
  try {
    const before = g.gw.ns.barrierFlushes;
    const r = await runCommand(harness, [g.url('/export'), 'files', '/small', String(FILES)], {
      timeoutMs: 120_000,
    });
    equal(r.code, 0, r.output);
    const flushes = g.gw.ns.barrierFlushes - before;
    // Every file is there, 4 KiB each, as another client lists it.
    const ls = await runCommand('nfs-ls', [g.url('/export/small')], { timeoutMs: 60_000 });
    equal(ls.code, 0, ls.output);
    equal(ls.stdout.split('\n').filter((l) => /\s4096\s+f\d+$/.test(l)).length, FILES, ls.stdout);
    return flushes;
  } finally {
    await g.stop();
  }
}

describe('metadata durability with a libnfs client', requireTools('nfs-ls'), () => {
  test(
    'sync: two WAL flushes a file (CREATE, COMMIT); async: one (COMMIT)',
    requireLibnfsDev(),
    async (t) => {
      const harness = await compileHarness();
      const sync = await flushesFor('sync', harness);
      const async = await flushesFor('async', harness);
      t.diagnostic(`${FILES} files: ${sync} flushes with sync, ${async} with async`);
      ok(sync >= 2 * FILES, `sync made ${sync} flushes for ${FILES} files`);
      ok(async >= FILES && async < 1.25 * FILES, `async made ${async} flushes for ${FILES} files`);
    },
  );
});
