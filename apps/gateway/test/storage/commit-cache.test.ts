import { deepEqual, equal } from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { toAttributes } from '../../src/storage/meta/rows.ts';
import { type OpenedNamespace, openNamespace } from '../../src/storage/open.ts';
import { type Attributes, ROOT } from '../../src/storage/types.ts';
import { makeTempDir } from '../support/tmpdir.ts';

/**
 * On SQLite a commit brings the attribute cache up to date at once (namespace.ts
 * cacheCommitted): a file's CREATE and WRITE leave its attributes and its directory's cached
 * as committed, so the calls after them read no row — and whatever order the callers of
 * concurrent changes resume in, what is cached is what the database holds.
 */
let ns: OpenedNamespace;
before(async () => {
  const dir = makeTempDir('commit-cache');
  ns = await openNamespace({
    metadataUrl: `sqlite://${dir}/meta.db`,
    transportUrl: `file://${dir}/data`,
    inlineMaxBytes: 16 * 1024,
  });
});
after(() => ns.close());

/** The inode's attributes as the database holds them (no cache). */
async function stored(ino: bigint): Promise<Attributes> {
  const row = await ns.meta.row(ino);
  if (!row) throw new Error(`inode ${ino} is gone`);
  return toAttributes(row);
}

test('1 after CREATE and an inline WRITE, the file and its directory are served as committed, with no row read', async () => {
  const dir = await ns.ensureDirectory('/one', 0o777);
  await ns.getattr(dir.ino);
  const f = await ns.create(ROOT, dir.ino, 'f', 0o644);
  const written = await ns.write(ROOT, f.ino, 0n, Buffer.alloc(4096, 7), 'unstable');
  equal(written.size, 4096n);
  const statements = ns.meta.statements;
  const [d, a] = [await ns.getattr(dir.ino), await ns.getattr(f.ino)];
  equal(ns.meta.statements, statements, 'the directory and the file came from the cache');
  deepEqual(d, await stored(dir.ino));
  deepEqual(a, await stored(f.ino));
  equal(a.size, 4096n);
  equal(d.mtimeNs, (await stored(dir.ino)).mtimeNs);
});

test('2 concurrent creates in one directory and writes to one file: the cache ends as the database', async () => {
  const dir = await ns.ensureDirectory('/many', 0o777);
  const f = await ns.create(ROOT, dir.ino, 'shared', 0o644);
  // Blob writes (past inline_max) run concurrently; each commit's caller resumes later, in
  // an order the commits do not set.
  const big = (i: number) => Buffer.alloc(64 * 1024, i);
  await Promise.all([
    ...Array.from({ length: 20 }, (_, i) => ns.create(ROOT, dir.ino, `f${i}`, 0o644)),
    ...Array.from({ length: 12 }, (_, i) => ns.write(ROOT, f.ino, BigInt(i * 65536), big(i), 'unstable')),
    ns.setattr(ROOT, dir.ino, { mode: 0o755 }),
  ]);
  const d = await ns.getattr(dir.ino);
  deepEqual(d, await stored(dir.ino));
  equal(d.mode & 0o777, 0o755);
  const a = await ns.getattr(f.ino);
  deepEqual(a, await stored(f.ino));
  equal(a.size, 12n * 65536n);
});

test('3 a refused change leaves the cached attributes as they were', async () => {
  const dir = await ns.ensureDirectory('/refused', 0o755);
  const before = await ns.getattr(dir.ino);
  await ns.create({ uid: 4242, gid: 4242, gids: [] }, dir.ino, 'x', 0o644).then(
    () => {
      throw new Error('a create without write permission succeeded');
    },
    (e: { code?: string }) => equal(e.code, 'EACCES'),
  );
  deepEqual(await ns.getattr(dir.ino), before);
  deepEqual(before, await stored(dir.ino));
});
