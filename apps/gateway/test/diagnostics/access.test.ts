import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TRPCError } from '@trpc/server';
import { ROOT } from '../../src/storage/types.ts';
import { type DiagGateway, path, startDiagGateway, step } from './fixture.ts';

/**
 * The two permission trees against a real namespace and control plane: a uid that does not own
 * a 0600 file, a directory it cannot search, and an SMB user outside the share's group.
 */
describe('access and smb-access wizards', () => {
  let g: DiagGateway;

  before(async () => {
    g = await startDiagGateway('access', {
      nfs: 'nfs: { bind: 127.0.0.1:1, mount_bind: 127.0.0.1:2, exports: [{ path: /export, squash: root, secure: true }] }',
      smb: 'smb: { bind: 127.0.0.1:3, shares: [{ name: projects, path: /export/projects, valid_groups: [claudefs-users], mode: "0770", owner_gid: 1500 }] }',
    });
    const { ns, control } = g.gw;
    const exp = await ns.ensureDirectory('/export', 0o1777);
    const a = await ns.mkdir(ROOT, exp.ino, 'a', 0o755);
    const f = await ns.create(ROOT, a.ino, 'f', 0o600);
    await ns.setattr(ROOT, f.ino, { uid: 1000, gid: 1000 });
    const priv = await ns.mkdir(ROOT, exp.ino, 'private', 0o700);
    await ns.setattr(ROOT, priv.ino, { uid: 1000, gid: 1000 });
    await ns.create(ROOT, priv.ino, 'x', 0o666);
    await control.groups.add({ name: 'claudefs-users', gid: 1500 });
    await control.users.add({ name: 'alice', uid: 1000, password: 'alice-pw-123456' });
    await control.users.add({ name: 'bob', uid: 1001, password: 'bob-pw-1234567' });
    await control.users.add({ name: 'carol', uid: 1002 });
  });
  after(() => g.stop());

  test('1 uid mismatch on a 0600 file: read denied, with the rule that denies it', async () => {
    const run = await g
      .as('viewer')
      .diagnostics.run({ tree: 'access', path: '/export/a/f', uid: 1001, gid: 1001 });
    assert.deepEqual(path(run), ['identity', 'export-mapping', 'walk', 'ownership']);
    assert.equal(step(run, 'export-mapping').outcome, 'unchanged');
    const walk = step(run, 'walk');
    assert.equal(walk.outcome, 'denied');
    assert.equal(
      walk.summary,
      'read denied on /export/a/f: other bits --- on /export/a/f: uid 1001 is not the owner (1000) and not in group 1000',
    );
    const rows = walk.measured.components as Array<{
      path: string;
      needs: string;
      granted: boolean;
      class: string;
    }>;
    assert.deepEqual(
      rows.map((r) => [r.path, r.needs, r.granted, r.class]),
      [
        ['/', 'x', true, 'other'],
        ['/export', 'x', true, 'other'],
        ['/export/a', 'x', true, 'other'],
        ['/export/a/f', 'rw', false, 'other'],
      ],
    );
    assert.equal(walk.measured.namespaceAgrees, true, 'the namespace’s own check refuses it too');
    const fix = step(run, 'ownership');
    assert.ok(fix.commands?.product.includes('./cfs ls -la /export/a/f'), 'the stand-in for ls -la');
    assert.ok(fix.commands?.runbook.includes('id'));
    assert.match(fix.commands?.note ?? '', /NFSv3.*numeric/);
    assert.equal(run.conclusion.verdict, 'fail');
    assert.match(run.conclusion.summary, /uid 1001 gid 1001 cannot read \/export\/a\/f: other bits ---/);
  });

  test('2 the owner may read and write it; root is squashed to nobody by the export', async () => {
    const owner = await g.as('viewer').diagnostics.run({ tree: 'access', path: '/export/a/f', uid: 1000 });
    assert.equal(step(owner, 'identity').summary, 'NFS client uid 1000 gid 1000');
    assert.equal(step(owner, 'walk').outcome, 'allowed');
    assert.match(step(owner, 'walk').summary, /owner bits rw- on \/export\/a\/f: uid 1000 is the owner/);
    assert.equal(owner.conclusion.verdict, 'pass');

    const root = await g
      .as('viewer')
      .diagnostics.run({ tree: 'access', path: '/export/a/f', uid: 0, gid: 0 });
    const mapping = step(root, 'export-mapping');
    assert.equal(mapping.outcome, 'mapped');
    assert.match(mapping.summary, /squash root.*uid 0 gid 0 → uid 65534 gid 65534/);
    assert.match(mapping.evidence?.[1] ?? '', /export \/export is secure: only calls from ports below 1024/);
    assert.equal(step(root, 'walk').outcome, 'denied');
  });

  test('3 an S3/SMB user is resolved by name; a directory it cannot search is named', async () => {
    const run = await g
      .as('viewer')
      .diagnostics.run({ tree: 'access', path: '/export/private/x', user: 'bob' });
    assert.equal(step(run, 'identity').summary, 'bob is bob: uid 1001 gid 1001');
    assert.equal(step(run, 'export-mapping').outcome, 'not nfs');
    assert.equal(
      step(run, 'walk').summary,
      'search (x) denied on /export/private: other bits --- on /export/private: uid 1001 is not the owner (1000) and not in group 1000',
    );
    const unknown = await g
      .as('viewer')
      .diagnostics.run({ tree: 'access', path: '/export/a/f', user: 'nobody-here' });
    assert.deepEqual(path(unknown), ['identity']);
    assert.equal(unknown.conclusion.verdict, 'fail');
  });

  test('4 a request the tree cannot use is BAD_REQUEST', async () => {
    await assert.rejects(
      g.as('viewer').diagnostics.run({ tree: 'access', uid: 1 }),
      (e: unknown) => e instanceof TRPCError && e.code === 'BAD_REQUEST' && /--path/.test(e.message),
    );
  });

  test('5 smb-access: bob is outside the share’s valid_groups; adding him (admin) lets him in', async () => {
    const run = await g.as('operator').diagnostics.run({ tree: 'smb-access', user: 'Bob', path: 'projects' });
    assert.deepEqual(path(run), [
      'user',
      'nt-hash',
      'valid-groups',
      'add-to-group',
      'share-conditions',
      'share-permissions',
    ]);
    assert.equal(step(run, 'nt-hash').outcome, 'set');
    const groups = step(run, 'valid-groups');
    assert.equal(groups.outcome, 'outside');
    assert.equal(groups.summary, "bob is in none of projects's valid_groups (claudefs-users)");
    const add = run.actions.find((a) => a.request.action === 'group.add-member');
    assert.deepEqual(add?.request, { action: 'group.add-member', user: 'bob', group: 'claudefs-users' });
    assert.equal(add?.minRole, 'admin');
    assert.equal(add?.cli, './cfs group add-member claudefs-users bob', 'the same change from a shell');
    assert.ok(
      step(run, 'add-to-group').commands?.product.includes('./cfs group add-member claudefs-users bob'),
    );
    assert.ok(
      step(run, 'add-to-group').commands?.product.includes('./cfs group show claudefs-users'),
      'the stand-in for getent',
    );
    assert.equal(step(run, 'share-permissions').outcome, 'denied', 'the share root is 0770 root:1500');
    assert.equal(run.conclusion.verdict, 'fail');
    assert.match(
      run.conclusion.summary,
      /bob is in none of projects's valid_groups \(claudefs-users\): TREE_CONNECT is refused/,
    );

    await assert.rejects(
      g
        .as('operator')
        .diagnostics.remediate({ action: 'group.add-member', user: 'bob', group: 'claudefs-users' }),
      (e: unknown) =>
        e instanceof TRPCError && e.code === 'FORBIDDEN' && /needs the admin role/.test(e.message),
    );
    const done = await g.as('admin').diagnostics.remediate({
      action: 'group.add-member',
      user: 'bob',
      group: 'claudefs-users',
      tree: 'smb-access',
    });
    assert.equal(done.summary, 'bob added to group claudefs-users');

    const again = await g
      .as('operator')
      .diagnostics.run({ tree: 'smb-access', user: 'bob', path: 'projects' });
    assert.deepEqual(
      again.steps.map((s) => [s.id, s.outcome]),
      [
        ['user', 'exists'],
        ['nt-hash', 'set'],
        ['valid-groups', 'member'],
        ['share-conditions', 'none'],
        ['share-permissions', 'ok'],
      ],
    );
    assert.equal(again.conclusion.verdict, 'pass');
  });

  test('6 smb-access: no password means no NT hash; an unknown user stops at the first step', async () => {
    const carol = await g.as('viewer').diagnostics.run({ tree: 'smb-access', user: 'carol' });
    assert.equal(step(carol, 'nt-hash').outcome, 'missing');
    assert.equal(step(carol, 'nt-hash').next, 'set-password');
    assert.ok(step(carol, 'set-password').commands?.product.includes('./cfs user passwd carol'));
    const ghost = await g.as('viewer').diagnostics.run({ tree: 'smb-access', user: 'ghost' });
    assert.deepEqual(path(ghost), ['user']);
    assert.equal(ghost.conclusion.verdict, 'fail');
  });
});
