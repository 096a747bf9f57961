import { deepEqual, equal } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ROOT } from '../../src/storage/types.ts';
import { type Fixture, openFixture, rejectsWith } from './fixture.ts';

describe('invalidating one path drops that path, not the whole cache', () => {
  let fx: Fixture;
  let exp: bigint;
  let dir: bigint;
  let other: bigint;
  before(async () => {
    fx = await openFixture();
    exp = (await fx.ns.ensureDirectory('/export', 0o1777)).ino;
    dir = (await fx.ns.mkdir(ROOT, exp, 'projects', 0o755)).ino;
    await fx.ns.create(ROOT, dir, 'report.pdf', 0o644);
    other = (await fx.ns.create(ROOT, exp, 'other.txt', 0o644)).ino;
    // Everything looked up once, so it is cached.
    await fx.ns.resolvePath(ROOT, '/export/projects/report.pdf');
    await fx.ns.resolvePath(ROOT, '/export/other.txt');
  });
  after(() => fx.ns.close());

  const cachedName = (parent: bigint, name: string) =>
    fx.ns.entries.get(`${parent}/${name}`, undefined, false);

  test('1 the directory, its attributes and the names under it are dropped; a sibling stays cached', async () => {
    const r = await fx.ns.invalidatePath(ROOT, '/export/projects');
    // Dropped: /export and /export/projects read afresh (2), report.pdf under it (1); the
    // directory's attributes (1).
    deepEqual(r, { attributes: 1, names: 3 });
    equal(cachedName(dir, 'report.pdf'), undefined, 'a name under the path is dropped');
    equal(fx.ns.nodes.get(dir, undefined, false), undefined, 'its attributes are dropped');
    equal(cachedName(exp, 'other.txt'), other, 'a name elsewhere stays cached');
    equal(cachedName(exp, 'projects'), dir, 'the path itself was read again and is cached, fresh');
  });

  test('2 a path that does not exist is ENOENT and drops nothing else', async () => {
    await rejectsWith(fx.ns.invalidatePath(ROOT, '/export/nope'), 'ENOENT');
    equal(cachedName(exp, 'other.txt'), other);
  });
});
