import { deepEqual, equal } from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { NamespaceChange } from '../../src/storage/namespace.ts';
import { ALICE, type Fixture, openFixture, rejectsWith } from './fixture.ts';

/** A change as a row a test can compare: action, entry (dir/name) or inode, and what changed. */
function row(c: NamespaceChange): string {
  if (c.kind === 'entry') return `${c.action} ${c.dir}/${c.name} ino=${c.ino} ${c.type}`;
  const x = c.xattrs ? ` [${c.xattrs.join(',')}]` : '';
  return `modified ino=${c.ino} ${c.changed.join('+')}${x}`;
}

describe('the namespace change feed', () => {
  let fx: Fixture;
  let exp: bigint;
  let seen: string[][];
  let stop: () => void;
  before(async () => {
    fx = await openFixture();
    exp = (await fx.ns.ensureDirectory('/export', 0o1777)).ino;
    stop = fx.ns.changes.listen((batch) => seen.push(batch.map(row)));
  });
  beforeEach(() => {
    seen = [];
  });
  after(() => fx.ns.close());

  test('1 create, mkdir, symlink, mknod and link each tell one added entry, with its inode and type', async () => {
    const f = await fx.ns.create(ALICE, exp, 'f1', 0o644);
    const d = await fx.ns.mkdir(ALICE, exp, 'd1', 0o755);
    const s = await fx.ns.symlink(ALICE, exp, 's1', 'f1');
    const p = await fx.ns.mknod(ALICE, exp, 'p1', 'fifo', 0o644);
    await fx.ns.link(ALICE, f.ino, d.ino, 'f1-link');
    deepEqual(seen, [
      [`added ${exp}/f1 ino=${f.ino} file`],
      [`added ${exp}/d1 ino=${d.ino} dir`],
      [`added ${exp}/s1 ino=${s.ino} symlink`],
      [`added ${exp}/p1 ino=${p.ino} fifo`],
      [`added ${d.ino}/f1-link ino=${f.ino} file`],
    ]);
  });

  test('2 remove and rmdir tell removed; a refused mutation tells nothing', async () => {
    const f = await fx.ns.create(ALICE, exp, 'f2', 0o644);
    const d = await fx.ns.mkdir(ALICE, exp, 'd2', 0o755);
    await fx.ns.create(ALICE, d.ino, 'inside', 0o644);
    seen = [];
    await rejectsWith(fx.ns.rmdir(ALICE, exp, 'd2'), 'ENOTEMPTY');
    await fx.ns.remove(ALICE, d.ino, 'inside');
    await fx.ns.rmdir(ALICE, exp, 'd2');
    await fx.ns.remove(ALICE, exp, 'f2');
    equal(seen.length, 3);
    deepEqual(seen[1], [`removed ${exp}/d2 ino=${d.ino} dir`]);
    deepEqual(seen[2], [`removed ${exp}/f2 ino=${f.ino} file`]);
  });

  test('3 rename tells renamed-from then renamed-to in one batch; over a file, the replaced one is removed first', async () => {
    const a = await fx.ns.create(ALICE, exp, 'ra3', 0o644);
    const b = await fx.ns.create(ALICE, exp, 'rb3', 0o644);
    const d = await fx.ns.mkdir(ALICE, exp, 'd3', 0o755);
    seen = [];
    await fx.ns.rename(ALICE, exp, 'ra3', d.ino, 'moved');
    await fx.ns.rename(ALICE, d.ino, 'moved', exp, 'rb3');
    deepEqual(seen, [
      [`renamed-from ${exp}/ra3 ino=${a.ino} file`, `renamed-to ${d.ino}/moved ino=${a.ino} file`],
      [
        `removed ${exp}/rb3 ino=${b.ino} file`,
        `renamed-from ${d.ino}/moved ino=${a.ino} file`,
        `renamed-to ${exp}/rb3 ino=${a.ino} file`,
      ],
    ]);
  });

  test('4 write, setattr and xattrs tell a modified inode with what changed; quiet xattrs tell nothing', async () => {
    const f = await fx.ns.create(ALICE, exp, 'f4', 0o644);
    seen = [];
    await fx.ns.write(ALICE, f.ino, 0n, Buffer.from('data'));
    await fx.ns.write(ALICE, f.ino, 4n, Buffer.from('more'), 'unstable');
    await fx.ns.setattr(ALICE, f.ino, { size: 2n, mtimeNs: 'now' });
    await fx.ns.setattr(ALICE, f.ino, { mode: 0o600, uid: 1000, gid: 1000 });
    await fx.ns.setXattrs(ALICE, f.ino, { 'user.a': Buffer.from('1'), 'user.b': undefined });
    await fx.ns.setXattrs(ALICE, f.ino, { 'user.etag': Buffer.from('x') }, { quiet: true });
    deepEqual(seen, [
      [`modified ino=${f.ino} data`],
      [`modified ino=${f.ino} data`],
      [`modified ino=${f.ino} size+mtime`],
      [`modified ino=${f.ino} mode+owner`],
      [`modified ino=${f.ino} xattrs [user.a,user.b]`],
    ]);
  });

  test('5 an upload linked into place tells added, and modified when it replaces a file', async () => {
    const up1 = await fx.ns.createDetached(ALICE, 0o644, 'upload');
    const up2 = await fx.ns.createDetached(ALICE, 0o644, 'upload');
    seen = [];
    await fx.ns.linkDetached(ALICE, up1.ino, exp, 'obj5', false);
    await fx.ns.linkDetached(ALICE, up2.ino, exp, 'obj5', true);
    deepEqual(seen, [
      [`added ${exp}/obj5 ino=${up1.ino} file`],
      [`modified ${exp}/obj5 ino=${up2.ino} file`],
    ]);
  });

  test('6 an unchecked re-create that truncates tells its entry modified; after unsubscribing, nothing', async () => {
    const f = await fx.ns.create(ALICE, exp, 'f6', 0o644);
    await fx.ns.write(ALICE, f.ino, 0n, Buffer.from('abc'));
    seen = [];
    await fx.ns.create(ALICE, exp, 'f6', 0o644, { kind: 'unchecked' }, { size: 0n });
    deepEqual(seen, [[`modified ${exp}/f6 ino=${f.ino} file`]]);
    stop();
    equal(fx.ns.changes.active, false);
    await fx.ns.create(ALICE, exp, 'f6b', 0o644);
    deepEqual(seen, [[`modified ${exp}/f6 ino=${f.ino} file`]]);
  });
});
