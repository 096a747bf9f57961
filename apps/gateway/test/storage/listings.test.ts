import { deepEqual, equal, ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ROOT } from '../../src/storage/types.ts';
import { ALICE, BOB, type Fixture, openFixture, rejectsWith } from './fixture.ts';

/** Names whose bytewise (UTF-8) order differs from UTF-16's, a locale's and creation order. */
const NAMES = ['b', 'B', 'a-c', 'ab', 'a c', 'é', 'e', 'z', '\uE000', '😀', 'a.b', 'A', '_x', '0', 'ß', 'a'];
const bytewise = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

describe('namespace listings: pages with attributes, by cookie and by name', () => {
  let fx: Fixture;
  let dir: bigint;
  before(async () => {
    fx = await openFixture();
    const exp = (await fx.ns.ensureDirectory('/export', 0o1777)).ino;
    dir = (await fx.ns.mkdir(ALICE, exp, 'listed', 0o755)).ino;
    for (const [i, name] of NAMES.entries()) {
      if (i % 3 === 0) await fx.ns.mkdir(ALICE, dir, name, 0o755);
      else await fx.ns.create(ALICE, dir, name, 0o644);
    }
  });
  after(() => fx.ns.close());

  test('1 readdirByName pages through every name in bytewise order, each with its attributes', async () => {
    const seen: string[] = [];
    let from = '';
    for (let pages = 0; ; pages++) {
      ok(pages < NAMES.length, 'the listing ends');
      const page = await fx.ns.readdirByName(BOB, dir, from, 3);
      for (const e of page.entries) {
        deepEqual(e.attrs, await fx.ns.getattr(e.ino));
        equal(e.type, e.attrs?.type);
        seen.push(e.name);
      }
      if (page.eof) break;
      equal(page.entries.length, 3);
      from = page.entries.at(-1)!.name;
    }
    deepEqual(seen, [...NAMES].sort(bytewise));
  });

  test('2 readdirByName starts after any name, listed or not', async () => {
    const sorted = [...NAMES].sort(bytewise);
    for (const from of ['a', 'a-', 'a-c', 'B', 'Z', 'é', '\uFFFF', '😀😀']) {
      const page = await fx.ns.readdirByName(ROOT, dir, from, 100);
      deepEqual(
        page.entries.map((e) => e.name),
        sorted.filter((n) => bytewise(n, from) > 0),
        `after ${JSON.stringify(from)}`,
      );
      ok(page.eof);
    }
  });

  test('3 readdirPlus pages in creation order with the attributes getattr answers', async () => {
    const seen: string[] = [];
    let cookie = 0n;
    for (;;) {
      const page = await fx.ns.readdirPlus(BOB, dir, cookie, 4);
      for (const e of page.entries) {
        deepEqual(e.attrs, await fx.ns.getattr(e.ino));
        seen.push(e.name);
      }
      if (page.eof) break;
      cookie = page.entries.at(-1)!.cookie;
    }
    deepEqual(seen, NAMES);
  });

  test('4 both need read permission on a directory', async () => {
    const closed = (await fx.ns.mkdir(ALICE, dir, 'closed', 0o700)).ino;
    await rejectsWith(fx.ns.readdirByName(BOB, closed, '', 10), 'EACCES');
    await rejectsWith(fx.ns.readdirPlus(BOB, closed, 0n, 10), 'EACCES');
    const file = (await fx.ns.lookup(ROOT, dir, 'a-c')).ino;
    await rejectsWith(fx.ns.readdirByName(ALICE, file, '', 10), 'ENOTDIR');
    await rejectsWith(fx.ns.readdirPlus(ALICE, file, 0n, 10), 'ENOTDIR');
    await fx.ns.rmdir(ALICE, dir, 'closed');
  });

  test("5 preloadXattrs reads a page's attributes in one statement; listXattrs then answers from them", async () => {
    const files = (await fx.ns.readdirByName(ROOT, dir, '', 100)).entries.filter((e) => e.type === 'file');
    for (const [i, f] of files.entries()) {
      await fx.ns.setXattrs(ROOT, f.ino, { [`user.n${i}`]: Buffer.from(`v${i}`) });
    }
    // The changes dropped what was cached; a page caches the attributes again.
    const page = await fx.ns.readdirByName(ROOT, dir, '', 100);
    const before = fx.ns.meta.statements;
    await fx.ns.preloadXattrs(page.entries.map((e) => e.ino));
    equal(fx.ns.meta.statements - before, 1);
    for (const [i, f] of files.entries()) {
      deepEqual([...(await fx.ns.listXattrs(f.ino))], [[`user.n${i}`, Buffer.from(`v${i}`)]]);
    }
    equal(fx.ns.meta.statements - before, 1, 'every listXattrs answered from the preload');
    // Nothing left to load: no statement.
    await fx.ns.preloadXattrs(page.entries.map((e) => e.ino));
    equal(fx.ns.meta.statements - before, 1);
  });
});
