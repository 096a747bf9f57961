import { equal } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ROOT } from '../../src/storage/types.ts';
import { ALICE, BOB, CAROL_IN_1000, type Fixture, openFixture, rejectsWith } from './fixture.ts';

describe('POSIX permissions', () => {
  let fx: Fixture;
  let exp: bigint;
  let home: bigint;
  before(async () => {
    fx = await openFixture();
    exp = (await fx.ns.ensureDirectory('/export', 0o1777)).ino;
    home = (await fx.ns.mkdir(ALICE, exp, 'alice', 0o750)).ino;
  });
  after(() => fx.ns.close());

  test('1 others cannot create in a 0750 directory; the group can look but not write', async () => {
    await rejectsWith(fx.ns.create(BOB, home, 'intruder', 0o644), 'EACCES');
    await fx.ns.create(ALICE, home, 'mine', 0o640);
    equal((await fx.ns.lookup(CAROL_IN_1000, home, 'mine')).uid, 1000);
    await rejectsWith(fx.ns.lookup(BOB, home, 'mine'), 'EACCES');
    await rejectsWith(fx.ns.create(CAROL_IN_1000, home, 'c', 0o644), 'EACCES');
  });

  test('2 a supplementary group grants the group bits; others get the other bits', async () => {
    const f = await fx.ns.create(ALICE, exp, 'grp', 0o640);
    await fx.ns.write(ALICE, f.ino, 0n, Buffer.from('secret'));
    equal((await fx.ns.read(CAROL_IN_1000, f.ino, 0n, 10)).data.toString(), 'secret');
    await rejectsWith(fx.ns.read(BOB, f.ino, 0n, 10), 'EACCES');
    await rejectsWith(fx.ns.write(CAROL_IN_1000, f.ino, 0n, Buffer.from('x')), 'EACCES');
    equal(await fx.ns.access(CAROL_IN_1000, f.ino, 7), 4);
  });

  test('3 root reads and writes anything', async () => {
    const f = await fx.ns.create(ALICE, exp, 'locked', 0o000);
    await fx.ns.write(ROOT, f.ino, 0n, Buffer.from('r'));
    equal((await fx.ns.read(ROOT, f.ino, 0n, 1)).data.toString(), 'r');
  });

  test("4 sticky directory: Bob cannot remove or rename Alice's file, Alice can", async () => {
    await fx.ns.create(ALICE, exp, 'sticky-a', 0o666);
    // EPERM, as Linux answers (Bob may write the directory: it is the sticky bit that refuses).
    await rejectsWith(fx.ns.remove(BOB, exp, 'sticky-a'), 'EPERM');
    await rejectsWith(fx.ns.rename(BOB, exp, 'sticky-a', exp, 'stolen'), 'EPERM');
    await fx.ns.remove(ALICE, exp, 'sticky-a');
  });

  test('5 only the owner changes the mode; only root changes the owner; group only to own groups', async () => {
    const f = await fx.ns.create(ALICE, exp, 'own', 0o644);
    await rejectsWith(fx.ns.setattr(BOB, f.ino, { mode: 0o777 }), 'EPERM');
    await rejectsWith(fx.ns.setattr(ALICE, f.ino, { uid: 1001 }), 'EPERM');
    await rejectsWith(fx.ns.setattr(ALICE, f.ino, { gid: 4242 }), 'EPERM');
    equal((await fx.ns.setattr(ALICE, f.ino, { mode: 0o600 })).mode, 0o600);
    const c = await fx.ns.setattr(ROOT, f.ino, { uid: 1001, gid: 1001 });
    equal(c.uid, 1001);
    equal(c.gid, 1001);
  });

  test('6 setgid directories hand their group down', async () => {
    const d = await fx.ns.mkdir(ALICE, exp, 'team', 0o2775);
    await fx.ns.setattr(ROOT, d.ino, { gid: 5000 });
    const f = await fx.ns.create(ALICE, d.ino, 'doc', 0o644);
    equal(f.gid, 5000);
    const sub = await fx.ns.mkdir(ALICE, d.ino, 'sub', 0o755);
    equal(sub.gid, 5000);
    equal(sub.mode & 0o2000, 0o2000);
  });

  test('7 explicit times need ownership; "now" needs write permission', async () => {
    const f = await fx.ns.create(ALICE, exp, 'times', 0o666);
    await rejectsWith(fx.ns.setattr(BOB, f.ino, { mtimeNs: 5n }), 'EPERM');
    await fx.ns.setattr(BOB, f.ino, { mtimeNs: 'now' });
    equal((await fx.ns.setattr(ALICE, f.ino, { mtimeNs: 5_000_000_000n })).mtimeNs, 5_000_000_000n);
  });

  test('8 the ctime guard refuses a stale SETATTR', async () => {
    const f = await fx.ns.create(ALICE, exp, 'guarded', 0o644);
    await fx.ns.setattr(ALICE, f.ino, { mode: 0o600 });
    await rejectsWith(fx.ns.setattr(ALICE, f.ino, { mode: 0o644, guardCtimeNs: f.ctimeNs }), 'ENOTSYNC');
    equal((await fx.ns.getattr(f.ino)).mode, 0o600);
  });

  for (const [label, inlineMaxBytes] of [
    ['in its own blob', 0],
    ['inline in the metadata', 64 * 1024],
  ] as const) {
    test(`9 a file ${label}: a write or truncation by anyone but root drops setuid, and setgid where group execute is set; root's keeps them`, async () => {
      const f2 = await openFixture({ inlineMaxBytes });
      try {
        const dir = (await f2.ns.ensureDirectory('/export', 0o777)).ino;
        const modeOf = async (ino: bigint) => (await f2.ns.getattr(ino)).mode;
        const f = await f2.ns.create(ALICE, dir, 'prog', 0o755);
        await f2.ns.setattr(ALICE, f.ino, { mode: 0o6777 });
        await f2.ns.write(BOB, f.ino, 0n, Buffer.from('#!/bin/sh\necho planted\n'));
        equal(await modeOf(f.ino), 0o777, "another user's write");
        await f2.ns.setattr(ALICE, f.ino, { mode: 0o6755 });
        await f2.ns.write(ALICE, f.ino, 0n, Buffer.from('#'));
        equal(await modeOf(f.ino), 0o755, "the owner's own write");
        await f2.ns.setattr(ALICE, f.ino, { mode: 0o6755 });
        await f2.ns.write(ROOT, f.ino, 0n, Buffer.from('#'));
        equal(await modeOf(f.ino), 0o6755, "root's write");
        await f2.ns.setattr(ALICE, f.ino, { size: 1n });
        equal(await modeOf(f.ino), 0o755, "the owner's truncation");
        await f2.ns.setattr(ALICE, f.ino, { mode: 0o2644 });
        await f2.ns.write(ALICE, f.ino, 0n, Buffer.from('y'));
        equal(await modeOf(f.ino), 0o2644, 'setgid without group execute (a locking mark) stays');
        await f2.ns.setattr(ROOT, f.ino, { gid: 4242 });
        equal(await modeOf(f.ino), 0o2644, 'and stays through a change of group');
        await f2.ns.setattr(ROOT, f.ino, { mode: 0o6755 });
        await f2.ns.setattr(ROOT, f.ino, { uid: 1001 });
        equal(await modeOf(f.ino), 0o755, 'a change of owner drops both, even by root');
        equal((await f2.ns.read(ROOT, f.ino, 0n, 1)).data.toString(), 'y', 'the bytes are what was written');
      } finally {
        await f2.ns.close();
      }
    });
  }
});
