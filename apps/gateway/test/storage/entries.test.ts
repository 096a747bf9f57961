import { deepEqual, equal, ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ROOT } from '../../src/storage/types.ts';
import { ALICE, BOB, type Fixture, names, openFixture, rejectsWith } from './fixture.ts';

describe('namespace entries', () => {
  let fx: Fixture;
  let exp: bigint;
  before(async () => {
    fx = await openFixture();
    exp = (await fx.ns.ensureDirectory('/export', 0o1777)).ino;
  });
  after(() => fx.ns.close());

  test('1 ensureDirectory makes /export owned by root with mode 1777', async () => {
    const a = await fx.ns.resolvePath(ROOT, '/export');
    equal(a.type, 'dir');
    equal(a.mode, 0o1777);
    equal(a.uid, 0);
  });

  test('2 create, lookup and readdir see the same inode; the creator owns it', async () => {
    const f = await fx.ns.create(ALICE, exp, 'a.txt', 0o640);
    equal(f.uid, 1000);
    equal(f.gid, 1000);
    equal(f.mode, 0o640);
    const l = await fx.ns.lookup(ALICE, exp, 'a.txt');
    equal(l.ino, f.ino);
    ok((await names(fx, exp)).includes('a.txt'));
  });

  const badNames: Array<[number, string, string]> = [
    [1, '', 'EINVAL'],
    [2, '.', 'EINVAL'],
    [3, '..', 'EINVAL'],
    [4, 'a/b', 'EINVAL'],
    [5, 'nul\0byte', 'EINVAL'],
    [6, 'x'.repeat(256), 'ENAMETOOLONG'],
    [7, 'é'.repeat(128), 'ENAMETOOLONG'],
  ];
  for (const [row, name, code] of badNames) {
    test(`3.${row} a bad name (${JSON.stringify(name.slice(0, 12))}) gets ${code} and creates nothing`, async () => {
      const before = await names(fx, exp);
      await rejectsWith(fx.ns.create(ALICE, exp, name, 0o644), code);
      await rejectsWith(fx.ns.mkdir(ALICE, exp, name, 0o755), code);
      deepEqual(await names(fx, exp), before);
    });
  }

  test('4 a 255-byte name is fine', async () => {
    const a = await fx.ns.create(ALICE, exp, 'y'.repeat(255), 0o644);
    equal(a.type, 'file');
  });

  test('5 guarded create of an existing name is EEXIST; unchecked returns the file; exclusive honours its verifier', async () => {
    const f = await fx.ns.create(ALICE, exp, 'g', 0o644);
    await rejectsWith(fx.ns.create(ALICE, exp, 'g', 0o644, { kind: 'guarded' }), 'EEXIST');
    await fx.ns.write(ALICE, f.ino, 0n, Buffer.from('content'));
    const u = await fx.ns.create(ALICE, exp, 'g', 0o644, { kind: 'unchecked' }, { size: 0n });
    equal(u.ino, f.ino);
    equal(u.size, 0n);
    const v = Buffer.from('12345678');
    const e1 = await fx.ns.create(ALICE, exp, 'x', 0o644, { kind: 'exclusive', verifier: v });
    const e2 = await fx.ns.create(ALICE, exp, 'x', 0o644, { kind: 'exclusive', verifier: v });
    equal(e2.ino, e1.ino);
    await rejectsWith(
      fx.ns.create(ALICE, exp, 'x', 0o644, { kind: 'exclusive', verifier: Buffer.from('87654321') }),
      'EEXIST',
    );
  });

  test('6 mkdir counts links; rmdir of a non-empty directory is ENOTEMPTY and changes nothing', async () => {
    const d = await fx.ns.mkdir(ALICE, exp, 'd', 0o755);
    equal(d.nlink, 2);
    const parentBefore = (await fx.ns.getattr(exp)).nlink;
    await fx.ns.mkdir(ALICE, d.ino, 'sub', 0o755);
    equal((await fx.ns.getattr(d.ino)).nlink, 3);
    await rejectsWith(fx.ns.rmdir(ALICE, exp, 'd'), 'ENOTEMPTY');
    equal((await fx.ns.lookup(ALICE, exp, 'd')).ino, d.ino);
    await fx.ns.rmdir(ALICE, d.ino, 'sub');
    await fx.ns.rmdir(ALICE, exp, 'd');
    equal((await fx.ns.getattr(exp)).nlink, parentBefore - 1);
    await rejectsWith(fx.ns.getattr({ ino: d.ino, generation: d.generation }), 'ESTALE');
  });

  test('7 remove on a directory is EISDIR, rmdir on a file ENOTDIR, missing names ENOENT', async () => {
    await fx.ns.mkdir(ALICE, exp, 'dd', 0o755);
    await fx.ns.create(ALICE, exp, 'ff', 0o644);
    await rejectsWith(fx.ns.remove(ALICE, exp, 'dd'), 'EISDIR');
    await rejectsWith(fx.ns.rmdir(ALICE, exp, 'ff'), 'ENOTDIR');
    await rejectsWith(fx.ns.remove(ALICE, exp, 'nope'), 'ENOENT');
    await rejectsWith(fx.ns.lookup(ALICE, exp, 'nope'), 'ENOENT');
    await rejectsWith(fx.ns.rmdir(ALICE, exp, '.'), 'EINVAL');
  });

  test('8 hard links share the inode; the data lives until the last link goes', async () => {
    const f = await fx.ns.create(ALICE, exp, 'l1', 0o644);
    await fx.ns.write(ALICE, f.ino, 0n, Buffer.from('shared'));
    const l = await fx.ns.link(ALICE, f.ino, exp, 'l2');
    equal(l.nlink, 2);
    await fx.ns.remove(ALICE, exp, 'l1');
    const r = await fx.ns.read(ALICE, f.ino, 0n, 100);
    equal(r.data.toString(), 'shared');
    equal((await fx.ns.getattr(f.ino)).nlink, 1);
    await rejectsWith(fx.ns.link(ALICE, exp, exp, 'dirlink'), 'EPERM');
    await rejectsWith(fx.ns.link(ALICE, f.ino, exp, 'l2'), 'EEXIST');
  });

  test('9 symlinks keep their target; mknod makes fifos and sockets', async () => {
    const s = await fx.ns.symlink(ALICE, exp, 'sl', '../some/where');
    equal(s.type, 'symlink');
    equal(await fx.ns.readlink(ALICE, s.ino), '../some/where');
    await rejectsWith(fx.ns.readlink(ALICE, exp), 'EINVAL');
    equal((await fx.ns.mknod(ALICE, exp, 'fifo', 'fifo', 0o600)).type, 'fifo');
    equal((await fx.ns.mknod(ALICE, exp, 'sock', 'socket', 0o600)).type, 'socket');
  });

  test('10 resolvePath refuses escapes and relative paths', async () => {
    await rejectsWith(fx.ns.resolvePath(ROOT, '/export/../etc'), 'EINVAL');
    await rejectsWith(fx.ns.resolvePath(ROOT, 'export'), 'EINVAL');
    await rejectsWith(fx.ns.resolvePath(ROOT, '/export//a'), 'EINVAL');
    await rejectsWith(fx.ns.resolvePath(ROOT, '/export/missing'), 'ENOENT');
    equal((await fx.ns.resolvePath(ROOT, '/export/')).ino, exp);
  });

  test('11 handles survive a restart; a removed inode is ESTALE, a wrong generation too', async () => {
    const f = await fx.ns.create(ALICE, exp, 'keep', 0o644);
    const gone = await fx.ns.create(ALICE, exp, 'gone', 0o644);
    await fx.ns.remove(ALICE, exp, 'gone');
    const ns = await fx.reopen();
    const again = await ns.getattr({ ino: f.ino, generation: f.generation });
    equal(again.ino, f.ino);
    await rejectsWith(ns.getattr({ ino: gone.ino, generation: gone.generation }), 'ESTALE');
    await rejectsWith(ns.getattr({ ino: f.ino, generation: f.generation + 1 }), 'ESTALE');
    const next = await ns.create(ALICE, exp, 'new-after-restart', 0o644);
    ok(next.ino > gone.ino, 'inode numbers are never reused');
  });

  test('12 readdir pages by stable cookies while entries come and go', async () => {
    const ns = fx.ns;
    const d = await ns.mkdir(ROOT, exp, 'big', 0o755);
    for (let i = 0; i < 2500; i++) await ns.create(ROOT, d.ino, `e${String(i).padStart(5, '0')}`, 0o644);
    const seen: string[] = [];
    let cookie = 0n;
    let pages = 0;
    for (;;) {
      const page = await ns.readdir(ROOT, d.ino, cookie, 1000);
      pages++;
      for (const e of page.entries) seen.push(e.name);
      if (pages === 1) {
        // Changes behind and ahead of the cursor: nothing is seen twice, survivors are all seen.
        await ns.remove(ROOT, d.ino, 'e00000');
        await ns.remove(ROOT, d.ino, 'e02000');
        await ns.create(ROOT, d.ino, 'late', 0o644);
      }
      if (page.eof) break;
      cookie = page.entries.at(-1)!.cookie;
    }
    equal(pages, 3);
    equal(new Set(seen).size, seen.length);
    ok(seen.includes('late'));
    ok(!seen.includes('e02000'));
    equal(seen.length, 2500 - 1 + 1);
  });

  test('13 xattrs are set, listed and deleted', async () => {
    const f = await fx.ns.create(ALICE, exp, 'x1', 0o644);
    await fx.ns.setXattrs(ALICE, f.ino, {
      'user.a': Buffer.from('1'),
      's3.content-type': Buffer.from('text/plain'),
    });
    deepEqual([...(await fx.ns.listXattrs(f.ino)).keys()], ['s3.content-type', 'user.a']);
    await fx.ns.setXattrs(ALICE, f.ino, { 'user.a': undefined });
    equal(await fx.ns.getXattr(f.ino, 'user.a'), undefined);
    await rejectsWith(fx.ns.setXattrs(BOB, f.ino, { 'user.b': Buffer.from('x') }), 'EACCES');
  });
});
