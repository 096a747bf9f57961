import { equal, ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools, toolPath } from '../support/tools.ts';
import { type SmbGateway, startSmbGateway } from './fixture.ts';

/**
 * Runs smbtorture suites against a fresh SMB gateway, one test per suite: each must report no
 * failure or error and at least one success.
 */
export function tortureSuites(title: string, suites: readonly string[]): void {
  describe(title, () => {
    let g: SmbGateway;
    let scratch: string;
    before(async () => {
      g = await startSmbGateway();
      await g.user('alice', 'Torture-pw1');
      scratch = makeTempDir('smbtorture');
    });
    after(() => g?.stop());

    for (const [i, suite] of suites.entries()) {
      test(
        `${i + 1} ${suite}: every subtest succeeds (or is skipped by smbtorture)`,
        requireTools('smbtorture'),
        async () => {
          const r = await runCommand(
            toolPath('smbtorture') ?? 'smbtorture',
            ['//127.0.0.1/export', '-p', String(g.port), '-U', 'alice%Torture-pw1', suite],
            { cwd: scratch, timeoutMs: 240_000 },
          );
          const failures = r.stdout.split('\n').filter((l) => /^(failure|error):/.test(l));
          equal(failures.length, 0, `${suite}:\n${failures.join('\n')}\n${r.stdout.slice(-3000)}`);
          ok(/^success:/m.test(r.stdout), r.output.slice(-2000));
          equal(r.code, 0, r.output.slice(-2000));
        },
      );
    }
  });
}
