import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ControlError, ntHash } from '../../src/control/index.ts';
import { CONTROL_STORES, useFreshControlPlane } from './helpers.ts';

for (const store of CONTROL_STORES) {
  describe(`control plane on ${store.name}`, store.options, () => {
    const cp = useFreshControlPlane(store);

    const code = (c: string) => (err: unknown) => err instanceof ControlError && err.code === c;

    describe('NT hash', () => {
      test('NTOWFv1("Password") matches MS-NLMP 4.2.2.1.2', () => {
        assert.equal(ntHash('Password'), 'a4f49c406510bdcab6824ee7c30fd852');
      });

      test('hashes the UTF-16LE encoding, so non-ASCII passwords work', () => {
        // MD4(UTF-16LE("")) and a non-Latin-1 password differ from their UTF-8 forms' hashes.
        assert.equal(ntHash(''), '31d6cfe0d16ae931b73c59d7e0c089c0');
        assert.match(ntHash('пароль€'), /^[0-9a-f]{32}$/);
        assert.notEqual(ntHash('пароль€'), ntHash('пароль'));
      });
    });

    describe('users', () => {
      test('new users get unique uids from 1000 up and a private primary group', async () => {
        const a = await cp.users.add({ name: 'ann' });
        const b = await cp.users.add({ name: 'ben' });
        assert.ok(a.uid >= 1000 && b.uid >= 1000);
        assert.notEqual(a.uid, b.uid);
        assert.equal(a.gid, a.uid, 'private group gets gid = uid when free');
        assert.equal((await cp.groups.get('ann'))?.gid, a.gid);
        const uids = (await cp.users.list()).map((u) => u.uid);
        assert.equal(new Set(uids).size, uids.length);
      });

      test('explicit uids are honoured; taken names and uids are refused', async () => {
        const u = await cp.users.add({ name: 'svc', uid: 5000, gid: 100 });
        assert.deepEqual([u.uid, u.gid], [5000, 100]);
        assert.equal(
          (await cp.users.add({ name: 'after' })).uid,
          5001,
          'auto uids continue above the highest',
        );
        await assert.rejects(cp.users.add({ name: 'svc' }), code('EXISTS'));
        await assert.rejects(cp.users.add({ name: 'other', uid: 5000 }), code('EXISTS'));
        assert.equal(await cp.users.get('other'), null);
        // Nothing made for the refused one: no private group, no new supplementary group.
        await assert.rejects(
          cp.users.add({ name: 'carol', uid: 5000, groups: ['carols-team'] }),
          code('EXISTS'),
        );
        assert.equal(await cp.groups.get('carol'), null);
        assert.equal(await cp.groups.get('carols-team'), null);
      });

      test('bad names, uids and roles are rejected before anything is stored', async () => {
        await assert.rejects(cp.users.add({ name: 'Bad Name' }), code('INVALID'));
        await assert.rejects(cp.users.add({ name: 'neg', uid: -1 }), code('INVALID'));
        await assert.rejects(cp.users.add({ name: 'big', uid: 2 ** 31 }), code('INVALID'));
        // biome-ignore lint/suspicious/noExplicitAny: an invalid role from untyped input (CLI, API)
        await assert.rejects(cp.users.add({ name: 'rooty', role: 'root' as any }), code('INVALID'));
        assert.equal(await cp.users.get('neg'), null);
        assert.equal(await cp.groups.get('rooty'), null);
      });

      test('setPassword stores a verifiable scrypt hash and the NT hash', async () => {
        await cp.users.add({ name: 'carol', role: 'operator' });
        assert.equal(await cp.users.verifyPassword('carol', 'Password'), false, 'no password yet');
        await cp.users.setPassword('carol', 'Password');
        assert.equal(await cp.users.verifyPassword('carol', 'Password'), true);
        assert.equal(await cp.users.verifyPassword('carol', 'password'), false);
        assert.equal(await cp.users.verifyPassword('nobody', 'Password'), false);
        assert.equal(
          (await cp.users.getNtHash('carol'))?.toString('hex'),
          'a4f49c406510bdcab6824ee7c30fd852',
        );
        const row = await cp.prisma.user.findUniqueOrThrow({ where: { name: 'carol' } });
        assert.match(row.passwordHash ?? '', /^scrypt\$16384\$8\$1\$/);
        assert.ok(!row.passwordHash?.includes('Password'));
        const rec = await cp.users.get('carol');
        assert.deepEqual([rec?.hasPassword, rec?.hasNtHash, rec?.role], [true, true, 'operator']);
      });

      test('a disabled user cannot sign in over the console or SMB', async () => {
        await cp.users.add({ name: 'dave', password: 'secret-1' });
        await cp.users.setDisabled('dave', true);
        assert.equal(await cp.users.verifyPassword('dave', 'secret-1'), false);
        assert.equal(await cp.users.getNtHash('dave'), null);
        await cp.users.setDisabled('dave', false);
        assert.equal(await cp.users.verifyPassword('dave', 'secret-1'), true);
      });

      test('console role: set, clear, and lookup by uid', async () => {
        const u = await cp.users.add({ name: 'erin' });
        await cp.users.setRole('erin', 'admin');
        assert.equal((await cp.users.get(u.uid))?.role, 'admin');
        await cp.users.setRole('erin', null);
        assert.equal((await cp.users.get('erin'))?.role, null);
        await assert.rejects(cp.users.setRole('nobody', 'viewer'), code('NOT_FOUND'));
      });

      test('supplementary groups show up as gids; removing a user removes its memberships', async () => {
        const u = await cp.users.add({ name: 'fay', groups: ['staff', 'dev'] });
        assert.deepEqual(u.groups.slice().sort(), ['dev', 'staff']);
        assert.equal(u.gids.length, 2);
        await cp.users.removeFromGroup('fay', 'dev');
        assert.deepEqual((await cp.users.get('fay'))?.groups, ['staff']);
        await cp.users.addToGroup('fay', 'dev');
        await cp.users.addToGroup('fay', 'dev');
        assert.equal((await cp.users.get('fay'))?.groups.length, 2, 'adding twice is harmless');
        await assert.rejects(cp.users.removeFromGroup('fay', 'fay'), {
          code: 'INVALID',
          message: 'group fay is the primary group of user fay: give fay another primary group first',
        });
        await cp.groups.add({ name: 'fay-elsewhere' });
        await assert.rejects(cp.users.removeFromGroup('fay', 'fay-elsewhere'), {
          code: 'INVALID',
          message: 'user fay is not a member of group fay-elsewhere',
        });
        await cp.groups.remove('fay-elsewhere');
        await assert.rejects(cp.users.removeFromGroup('fay', 'nope'), code('NOT_FOUND'));
        assert.deepEqual(
          (await cp.groups.members('staff')).map((m) => m.name),
          ['fay'],
        );
        await cp.users.remove('fay');
        assert.equal(await cp.users.get('fay'), null);
        assert.equal(await cp.groups.get('fay'), null, 'the private group went with the user');
        assert.deepEqual(await cp.groups.members('staff'), []);
        await assert.rejects(cp.users.remove('fay'), code('NOT_FOUND'));
      });
    });

    describe('groups', () => {
      test('add, ensure and list; gids from 1000 and unique', async () => {
        const g = await cp.groups.add({ name: 'ops' });
        assert.ok(g.gid >= 1000);
        assert.deepEqual(await cp.groups.ensure('ops'), g, 'ensure returns the existing group');
        const h = await cp.groups.ensure('qa');
        assert.notEqual(h.gid, g.gid);
        await assert.rejects(cp.groups.add({ name: 'ops' }), code('EXISTS'));
        await assert.rejects(cp.groups.add({ name: 'ops2', gid: g.gid }), code('EXISTS'));
        const gids = (await cp.groups.list()).map((x) => x.gid);
        assert.equal(new Set(gids).size, gids.length);
      });

      test('members lists primary-group users first; a primary group cannot be removed', async () => {
        await cp.groups.add({ name: 'web', gid: 7000 });
        await cp.users.add({ name: 'gus', group: 'web' });
        await cp.users.add({ name: 'hal', groups: ['web'] });
        assert.deepEqual(await cp.groups.members('web'), [
          { name: 'gus', uid: (await cp.users.get('gus'))!.uid, primary: true },
          { name: 'hal', uid: (await cp.users.get('hal'))!.uid, primary: false },
        ]);
        await assert.rejects(cp.groups.remove('web'), /primary group of user gus/);
        await cp.groups.add({ name: 'temp' });
        await cp.groups.remove('temp');
        assert.equal(await cp.groups.get('temp'), null);
      });
    });
  });
}
