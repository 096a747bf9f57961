import { equal, ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools, toolPath } from '../support/tools.ts';
import { type SmbGateway, startSmbGateway } from './fixture.ts';

/**
 * smbtorture (samba-testsuite 4.17) suites this server passes in full, and single subtests of
 * suites it does not; each must report no failure or error. (smb2.maxfid passes too but takes
 * minutes; it is left to manual runs.) What is left out, and why, is in the SMB server's notes.
 */
const SUITES = [
  'smb2.connect',
  'smb2.read',
  'smb2.dir',
  'smb2.compound_find',
  'smb2.compound_async',
  'smb2.rename',
  'smb2.tcon',
  'smb2.mkdir',
  'smb2.credits',
  'smb2.secleak',
  'smb2.deny',
  'smb2.winattr',
  'smb2.openattr',
  'smb2.create.quota-fake-file',
  // smb2.notify without mask-change and rec: both remove a directory whose child is still open
  // elsewhere and expect it gone (Windows' POSIX delete semantics; Samba fails them too).
  ...[
    'valid-req',
    'tcon',
    'dir',
    'mask',
    'tdis',
    'tdis1',
    'close',
    'logoff',
    'session-reconnect',
    'invalid-reauth',
    'tree',
    'basedir',
    'double',
    'file',
    'tcp',
    'overflow',
    'rmdir1',
    'rmdir2',
    'rmdir3',
    'rmdir4',
    'handle-permissions',
  ].map((t) => `smb2.notify.${t}`),
  // Durable handles with batch oplocks. Left out: the lease variants (no leases here; most skip
  // themselves), open-oplock and persistent-open-oplock (they want level II and exclusive
  // oplocks granted), delete_on_close1 (a batch oplock without a durable handle), stat-open and
  // durable_v2_reconnect_delay_msec (durability through a lease), app-instance (no
  // SMB2_CREATE_APP_INSTANCE_ID).
  'smb2.durable-open-disconnect',
  ...[
    'alloc-size',
    'delete_on_close2',
    'file-position',
    'lock-oplock',
    'open2-oplock',
    'oplock',
    'read-only',
    'reopen1',
    'reopen1a',
    'reopen2',
    'reopen2a',
    'reopen3',
    'reopen4',
  ].map((t) => `smb2.durable-open.${t}`),
  ...['create-blob', 'reopen1', 'reopen1a', 'reopen2', 'reopen2b', 'reopen2c'].map(
    (t) => `smb2.durable-v2-open.${t}`,
  ),
  'smb2.durable-v2-delay.durable_v2_reconnect_delay',
];

describe('smbtorture (Samba 4.17) against the SMB server', () => {
  let g: SmbGateway;
  let scratch: string;
  before(async () => {
    g = await startSmbGateway();
    await g.user('alice', 'Torture-pw1');
    scratch = makeTempDir('smbtorture');
  });
  after(() => g?.stop());

  for (const [i, suite] of SUITES.entries()) {
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
