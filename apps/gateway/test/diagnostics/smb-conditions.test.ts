import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { capturedLog } from '../support/log.ts';
import { freePorts } from '../support/ports.ts';
import { runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools, toolPath } from '../support/tools.ts';
import { type DiagGateway, path, startDiagGateway, step } from './fixture.ts';

/**
 * The smb-access wizard's step on what a share asks of the client (hosts_allow, encryption),
 * after real refusals: smbclient from 127.0.0.1, and speaking SMB 2.1, to shares that take
 * neither. The wizard finds them in the gateway's log and names them.
 */
describe('smb-access: hosts and encryption a share asks for', requireTools('smbclient'), () => {
  let g: DiagGateway;
  let port: number;
  const { log } = capturedLog();

  before(async () => {
    [port] = (await freePorts(1)) as [number];
    g = await startDiagGateway('smb-conditions', {
      protocols: ['smb'],
      log,
      smb: `smb: { bind: 127.0.0.1:${port}, shares: [{ name: lab, path: /lab, hosts_allow: [10.0.0.0/8] }, { name: vault, path: /vault, encryption: required }, { name: open, path: /open }] }`,
    });
    await g.gw.control.users.add({ name: 'dana', uid: 1100, password: 'dana-pw-12345' });
  });
  after(() => g?.stop());

  const ls = (share: string, options: string[] = []) =>
    runCommand(
      toolPath('smbclient') ?? 'smbclient',
      ['-p', String(port), `//127.0.0.1/${share}`, '-U', 'dana%dana-pw-12345', ...options, '-c', 'ls'],
      {
        timeoutMs: 30_000,
        env: { HOME: makeTempDir('smb-conditions-home') },
      },
    );

  test('1 before any refusal: the conditions, as a warning; a share without any passes', async () => {
    const run = await g.as('viewer').diagnostics.run({ tree: 'smb-access', user: 'dana', path: 'lab' });
    assert.deepEqual(path(run), ['user', 'nt-hash', 'valid-groups', 'share-conditions', 'share-permissions']);
    const s = step(run, 'share-conditions');
    assert.equal(s.outcome, 'conditions');
    assert.equal(s.summary, 'lab: hosts_allow 10.0.0.0/8');
    const open = await g.as('viewer').diagnostics.run({ tree: 'smb-access', user: 'dana', path: 'open' });
    assert.equal(step(open, 'share-conditions').outcome, 'none');
  });

  test('2 after smbclient was refused by both: the wizard names each reason, as the log did', async () => {
    assert.match((await ls('lab')).output, /tree connect failed: NT_STATUS_ACCESS_DENIED/);
    assert.match(
      (await ls('vault', ['-m', 'SMB2_10'])).output,
      /tree connect failed: NT_STATUS_ACCESS_DENIED/,
    );
    assert.equal((await ls('open')).code, 0);
    const lab = await g.as('viewer').diagnostics.run({ tree: 'smb-access', user: 'dana', path: 'lab' });
    const s = step(lab, 'share-conditions');
    assert.equal(s.outcome, 'refused');
    assert.match(s.summary, /127\.0\.0\.1 is not in lab's hosts_allow/);
    assert.doesNotMatch(s.summary, /vault/, 'only the asked share’s refusals');
    assert.equal(lab.conclusion.verdict, 'fail');
    const all = await g.as('viewer').diagnostics.run({ tree: 'smb-access', user: 'dana' });
    assert.match(
      step(all, 'share-conditions').summary,
      /vault requires encryption and the client speaks SMB2_10, which has no encryption/,
    );
  });
});
