import { equal, ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ROOT } from '../../src/storage/types.ts';
import { ALICE, type Fixture, names, openFixture, rejectsWith } from './fixture.ts';

describe('rename', () => {
  let fx: Fixture;
  let exp: bigint;
  before(async () => {
    fx = await openFixture();
    exp = (await fx.ns.ensureDirectory('/export', 0o1777)).ino;
  });
  after(() => fx.ns.close());

  test('1 replaces a file atomically: the target name names the source inode, the old target is gone', async () => {
    const a = await fx.ns.create(ALICE, exp, 'ra', 0o644);
    await fx.ns.write(ALICE, a.ino, 0n, Buffer.from('new'));
    const b = await fx.ns.create(ALICE, exp, 'rb', 0o644);
    await fx.ns.write(ALICE, b.ino, 0n, Buffer.from('old'));
    await fx.ns.rename(ALICE, exp, 'ra', exp, 'rb');
    const now = await fx.ns.lookup(ALICE, exp, 'rb');
    equal(now.ino, a.ino);
    equal((await fx.ns.read(ALICE, now.ino, 0n, 10)).data.toString(), 'new');
    await rejectsWith(fx.ns.lookup(ALICE, exp, 'ra'), 'ENOENT');
    await rejectsWith(fx.ns.getattr({ ino: b.ino, generation: b.generation }), 'ESTALE');
  });

  test('2 moves a directory across parents: ".." and both link counts follow', async () => {
    const p1 = await fx.ns.mkdir(ALICE, exp, 'p1', 0o755);
    const p2 = await fx.ns.mkdir(ALICE, exp, 'p2', 0o755);
    const d = await fx.ns.mkdir(ALICE, p1.ino, 'child', 0o755);
    await fx.ns.rename(ALICE, p1.ino, 'child', p2.ino, 'moved');
    equal((await fx.ns.lookup(ALICE, d.ino, '..')).ino, p2.ino);
    equal((await fx.ns.getattr(p1.ino)).nlink, 2);
    equal((await fx.ns.getattr(p2.ino)).nlink, 3);
  });

  test('3 a directory into its own subtree is EINVAL and nothing moves', async () => {
    const top = await fx.ns.mkdir(ALICE, exp, 'top', 0o755);
    const mid = await fx.ns.mkdir(ALICE, top.ino, 'mid', 0o755);
    await rejectsWith(fx.ns.rename(ALICE, exp, 'top', mid.ino, 'loop'), 'EINVAL');
    await rejectsWith(fx.ns.rename(ALICE, exp, 'top', top.ino, 'self'), 'EINVAL');
    equal((await fx.ns.lookup(ALICE, exp, 'top')).ino, top.ino);
  });

  const clashes: Array<[number, 'file' | 'dir', 'file' | 'dir' | 'full-dir', string]> = [
    [1, 'file', 'dir', 'EISDIR'],
    [2, 'dir', 'file', 'ENOTDIR'],
    [3, 'dir', 'full-dir', 'ENOTEMPTY'],
  ];
  for (const [row, from, to, code] of clashes) {
    test(`4.${row} ${from} over ${to} is ${code}, both stay`, async () => {
      const src = `s${row}`;
      const dst = `t${row}`;
      if (from === 'file') await fx.ns.create(ALICE, exp, src, 0o644);
      else await fx.ns.mkdir(ALICE, exp, src, 0o755);
      if (to === 'file') await fx.ns.create(ALICE, exp, dst, 0o644);
      else {
        const d = await fx.ns.mkdir(ALICE, exp, dst, 0o755);
        if (to === 'full-dir') await fx.ns.create(ALICE, d.ino, 'inside', 0o644);
      }
      await rejectsWith(fx.ns.rename(ALICE, exp, src, exp, dst), code);
      const all = await names(fx, exp);
      ok(all.includes(src) && all.includes(dst));
    });
  }

  test('5 a directory replaces an empty directory', async () => {
    const s = await fx.ns.mkdir(ALICE, exp, 'srcdir', 0o755);
    await fx.ns.mkdir(ALICE, exp, 'emptydir', 0o755);
    const before = (await fx.ns.getattr(exp)).nlink;
    await fx.ns.rename(ALICE, exp, 'srcdir', exp, 'emptydir');
    equal((await fx.ns.lookup(ALICE, exp, 'emptydir')).ino, s.ino);
    equal((await fx.ns.getattr(exp)).nlink, before - 1);
  });

  test('6 renaming onto another link of the same inode changes nothing', async () => {
    const f = await fx.ns.create(ALICE, exp, 'h1', 0o644);
    await fx.ns.link(ALICE, f.ino, exp, 'h2');
    await fx.ns.rename(ALICE, exp, 'h1', exp, 'h2');
    const all = await names(fx, exp);
    ok(all.includes('h1') && all.includes('h2'));
    equal((await fx.ns.getattr(f.ino)).nlink, 2);
  });

  test('7 bad names and missing sources', async () => {
    await rejectsWith(fx.ns.rename(ALICE, exp, 'missing', exp, 'x'), 'ENOENT');
    await fx.ns.create(ALICE, exp, 'ok', 0o644);
    await rejectsWith(fx.ns.rename(ALICE, exp, 'ok', exp, 'a/b'), 'EINVAL');
    await rejectsWith(fx.ns.rename(ALICE, exp, 'ok', exp, '..'), 'EINVAL');
    await rejectsWith(fx.ns.rename(ALICE, exp, '.', exp, 'x'), 'EINVAL');
    await rejectsWith(fx.ns.rename(ALICE, exp, 'ok', exp, 'z'.repeat(300)), 'ENAMETOOLONG');
    ok((await names(fx, exp)).includes('ok'));
  });

  test('8 rename survives a restart (it was durable when it returned)', async () => {
    const f = await fx.ns.create(ROOT, exp, 'before-restart', 0o644);
    await fx.ns.rename(ROOT, exp, 'before-restart', exp, 'after-restart');
    const ns = await fx.reopen();
    equal((await ns.lookup(ROOT, exp, 'after-restart')).ino, f.ino);
  });
});
