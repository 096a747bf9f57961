import { deepEqual, doesNotMatch, equal, ok, rejects } from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { ETAG_CHANGE_XATTR, ETAG_MD5_XATTR, STREAM_XATTR_PREFIX } from '../../src/storage/annotations.ts';
import { fsError } from '../../src/storage/errors.ts';
import { runFsck } from '../../src/storage/fsck/index.ts';
import { LAYOUT } from '../../src/storage/meta/rows.ts';
import { type OpenedNamespace, openNamespace } from '../../src/storage/open.ts';
import { type Attributes, ROOT } from '../../src/storage/types.ts';
import { BackendFaults } from '../support/faults.ts';
import { requirePostgres, sharedPostgres } from '../support/postgres.ts';
import { makeTempDir } from '../support/tmpdir.ts';

/**
 * Small files kept in the metadata database (`transport.inline_max`, layout 2): a write is
 * one transaction, a COMMIT one flush of the database's log, and no blob file exists; a write
 * past the limit moves the bytes to the file's own blob, losing none.
 */
const INLINE_MAX = 16 * 1024;

interface Opened {
  ns: OpenedNamespace;
  dir: Attributes;
  stateDir: string;
}

async function open(metadataUrl: string | undefined, inlineMaxBytes = INLINE_MAX): Promise<Opened> {
  const stateDir = makeTempDir('inline');
  const ns = await openNamespace({
    metadataUrl: metadataUrl ?? `sqlite://${stateDir}/meta.db`,
    transportUrl: `file://${stateDir}/data`,
    inlineMaxBytes,
  });
  return { ns, dir: await ns.ensureDirectory('/d', 0o777), stateDir };
}

/** Runs `body` on a fresh namespace (metadata at `url()`, else SQLite), and closes it. */
async function withOpened(
  url: () => Promise<string | undefined>,
  body: (o: Opened) => Promise<void>,
): Promise<void> {
  const o = await open(await url());
  try {
    await body(o);
  } finally {
    await o.ns.close();
  }
}

async function readAll(ns: OpenedNamespace, ino: bigint): Promise<Buffer> {
  const { size } = await ns.getattr(ino);
  return (await ns.read(ROOT, ino, 0n, Number(size))).data;
}

async function layoutOf(ns: OpenedNamespace, ino: bigint): Promise<bigint | undefined> {
  return (await ns.meta.row(ino))?.layout;
}

function pattern(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

function backends(): Array<[string, () => Promise<string | undefined>, { skip?: string }]> {
  return [
    ['SQLite', async () => undefined, {}],
    ['PostgreSQL', async () => (await sharedPostgres()).createDatabase(), requirePostgres()],
  ];
}

for (const [name, url, skip] of backends()) {
  describe(`inline small files on ${name}`, skip, () => {
    test('1 a small file keeps its bytes in the metadata: no blob file, the bytes read back, COMMIT is one log flush', () =>
      withOpened(url, async ({ ns, dir }) => {
        const a = await ns.create(ROOT, dir.ino, 'small', 0o644);
        const body = pattern(4096, 1);
        const before = ns.barrierFlushes;
        await ns.write(ROOT, a.ino, 0n, body, 'unstable');
        equal(await layoutOf(ns, a.ino), LAYOUT.inline);
        equal(await ns.data.physicalSize(a.ino), undefined, 'no blob file');
        deepEqual(await readAll(ns, a.ino), body);
        equal((await ns.getattr(a.ino)).size, 4096n);
        await ns.commit(a.ino);
        // (The flush starts with the unstable write, and the COMMIT waits for that one.)
        if (name === 'SQLite') equal(ns.barrierFlushes - before, 1, 'one flush of the metadata log');
        // A write in the middle and one that extends, each a read-modify-write of the row.
        await ns.write(ROOT, a.ino, 100n, Buffer.from('middle'), 'unstable');
        await ns.write(ROOT, a.ino, 5000n, Buffer.from('tail'), 'file');
        const expected = Buffer.alloc(5004);
        body.copy(expected);
        Buffer.from('middle').copy(expected, 100);
        Buffer.from('tail').copy(expected, 5000);
        deepEqual(await readAll(ns, a.ino), expected);
        equal(await ns.data.physicalSize(a.ino), undefined);
      }));

    test('2 a write past inline_max moves the bytes to the own blob, losing none', () =>
      withOpened(url, async ({ ns, dir }) => {
        const a = await ns.create(ROOT, dir.ino, 'grows', 0o644);
        const head = pattern(10_000, 2);
        await ns.write(ROOT, a.ino, 0n, head, 'unstable');
        const more = pattern(20_000, 3);
        await ns.write(ROOT, a.ino, 10_000n, more, 'unstable');
        equal(await layoutOf(ns, a.ino), LAYOUT.ownBlob);
        equal(await ns.meta.inlineBytes(a.ino), undefined, 'the inline copy is gone');
        equal(await ns.data.physicalSize(a.ino), 30_000);
        deepEqual(await readAll(ns, a.ino), Buffer.concat([head, more]));
        await ns.commit(a.ino);
        // Later writes are ordinary blob writes.
        await ns.write(ROOT, a.ino, 0n, Buffer.from('HEAD'), 'file');
        deepEqual((await ns.read(ROOT, a.ino, 0n, 4)).data, Buffer.from('HEAD'));
      }));

    test('3 truncation cuts the inline bytes; an extension reads zeros, even past inline_max', () =>
      withOpened(url, async ({ ns, dir }) => {
        const a = await ns.create(ROOT, dir.ino, 'cut', 0o644);
        await ns.write(ROOT, a.ino, 0n, pattern(8000, 4), 'file');
        await ns.setattr(ROOT, a.ino, { size: 100n });
        await ns.setattr(ROOT, a.ino, { size: 1_000_000n });
        equal(await layoutOf(ns, a.ino), LAYOUT.inline, 'a sparse extension keeps the bytes inline');
        const all = await readAll(ns, a.ino);
        equal(all.length, 1_000_000);
        deepEqual(all.subarray(0, 100), pattern(8000, 4).subarray(0, 100));
        ok(
          all.subarray(100).every((b) => b === 0),
          'bytes past the cut read as zeros',
        );
        // A write far out moves it; the head and the hole survive the move.
        await ns.write(ROOT, a.ino, 500_000n, Buffer.from('far'), 'file');
        equal(await layoutOf(ns, a.ino), LAYOUT.ownBlob);
        const moved = await readAll(ns, a.ino);
        deepEqual(moved.subarray(0, 100), pattern(8000, 4).subarray(0, 100));
        ok(moved.subarray(100, 500_000).every((b) => b === 0));
        deepEqual(moved.subarray(500_000, 500_003), Buffer.from('far'));
      }));

    test('4 concurrent writes to one inline file, one of them past the limit, all land', () =>
      withOpened(url, async ({ ns, dir }) => {
        const a = await ns.create(ROOT, dir.ino, 'busy', 0o644);
        const pieces = Array.from({ length: 12 }, (_, i) => pattern(2048, 10 + i));
        await Promise.all(pieces.map((p, i) => ns.write(ROOT, a.ino, BigInt(i * 2048), p, 'unstable')));
        equal(await layoutOf(ns, a.ino), LAYOUT.ownBlob, '24 KiB is past the limit');
        deepEqual(await readAll(ns, a.ino), Buffer.concat(pieces));
      }));

    test('5 removing an inline file removes its bytes and gives back its space', () =>
      withOpened(url, async ({ ns, dir }) => {
        const usage = async () => (await ns.quotaUsage('uid', 0)).bytes;
        const before = await usage();
        const a = await ns.create(ROOT, dir.ino, 'gone', 0o644);
        await ns.write(ROOT, a.ino, 0n, pattern(3000, 5), 'file');
        equal((await usage()) - before, 3000n);
        await ns.remove(ROOT, dir.ino, 'gone');
        equal(await usage(), before);
        equal(await ns.meta.inlineBytes(a.ino), undefined);
      }));

    test('4b a small upload gathered whole (S3 PUT) is created with its bytes in one transaction: inline, charged once; refused by the quota, it leaves nothing', async () => {
      const stateDir = makeTempDir('inline');
      let limit = 1n << 62n;
      const ns = await openNamespace({
        metadataUrl: (await url()) ?? `sqlite://${stateDir}/meta.db`,
        transportUrl: `file://${stateDir}/data`,
        inlineMaxBytes: INLINE_MAX,
        gate: {
          check(c) {
            if (c.usage('uid', c.uid).bytes + c.addBytes > limit)
              throw fsError('EDQUOT', 'hard quota exceeded');
          },
        },
      });
      try {
        const dir = await ns.ensureDirectory('/d', 0o777);
        const before = await ns.quotaUsage('uid', 0);
        const body = pattern(3000, 11);
        const a = await ns.createDetachedWith(ROOT, 0o644, 'upload', null, body);
        equal(a.size, 3000n);
        equal(await layoutOf(ns, a.ino), LAYOUT.inline);
        const after = await ns.quotaUsage('uid', 0);
        deepEqual([after.bytes - before.bytes, after.inodes - before.inodes], [3000n, 1n]);
        await ns.linkDetached(ROOT, a.ino, dir.ino, 'object', false);
        deepEqual(await readAll(ns, (await ns.lookup(ROOT, dir.ino, 'object')).ino), body);
        equal(await ns.data.physicalSize(a.ino), undefined, 'no blob file');

        limit = after.bytes + 100n;
        const detached = (await ns.meta.detached()).length;
        await rejects(ns.createDetachedWith(ROOT, 0o644, 'upload', null, body), { code: 'EDQUOT' });
        deepEqual(await ns.quotaUsage('uid', 0), after, 'the ledger unchanged');
        equal((await ns.meta.detached()).length, detached, 'no detached file left');
        await rejects(ns.createDetachedWith(ROOT, 0o644, 'upload', null, Buffer.alloc(INLINE_MAX + 1)), {
          code: 'EINVAL',
        });
      } finally {
        await ns.close();
      }
    });
  });
}

test('5b a write without write permission is refused and changes nothing', () =>
  withOpened(
    async () => undefined,
    async ({ ns, dir }) => {
      const a = await ns.create(ROOT, dir.ino, 'mine', 0o644);
      await ns.write(ROOT, a.ino, 0n, Buffer.from('root wrote this'), 'file');
      const other = { uid: 1000, gid: 1000, gids: [] };
      await rejects(ns.write(other, a.ino, 0n, Buffer.from('intruder'), 'file'), { code: 'EACCES' });
      deepEqual(await readAll(ns, a.ino), Buffer.from('root wrote this'));
    },
  ));

test('5c a shared read (an S3 GET) of an inline file is a view of its cached bytes; a write then reads anew, the view unchanged', () =>
  withOpened(
    async () => undefined,
    async ({ ns, dir }) => {
      const a = await ns.create(ROOT, dir.ino, 'shared', 0o644);
      await ns.write(ROOT, a.ino, 0n, Buffer.from('inline bytes'), 'file');
      const first = (await ns.read(ROOT, a.ino, 0n, 12, { shared: true })).data;
      const again = (await ns.read(ROOT, a.ino, 7n, 5, { shared: true })).data;
      equal(first.toString(), 'inline bytes');
      equal(again.buffer, first.buffer, 'the same memory, not a copy');
      equal(again.toString(), 'bytes');
      await ns.write(ROOT, a.ino, 0n, Buffer.from('INLINE'), 'file');
      equal((await ns.read(ROOT, a.ino, 0n, 12, { shared: true })).data.toString(), 'INLINE bytes');
      equal(first.toString(), 'inline bytes', 'a view handed out is never written into');
      // Past the stored bytes (a hole at the end after an extension) reads as zeros.
      await ns.setattr(ROOT, a.ino, { size: 14n });
      deepEqual([...(await ns.read(ROOT, a.ino, 10n, 4, { shared: true })).data], [0x65, 0x73, 0, 0]);
    },
  ));

test('5d cachedRead/cachedAccess/cachedXattrs answer from the caches only: the bytes a read left cached, never stale, never to a caller who may not read', () =>
  withOpened(
    async () => undefined,
    async ({ ns, dir }) => {
      const a = await ns.create(ROOT, dir.ino, 'cached', 0o640);
      await ns.write(ROOT, a.ino, 0n, Buffer.from('inline bytes'), 'file');
      equal(ns.cachedRead(ROOT, a.ino, 0n, 12), undefined, 'the bytes are not cached before a read');
      const shared = (await ns.read(ROOT, a.ino, 0n, 12, { shared: true })).data;
      const view = ns.cachedRead(ROOT, a.ino, 7n, 100);
      equal(view?.toString(), 'bytes', 'clipped at the end of the file');
      equal(view?.buffer, shared.buffer, 'a view of the cached bytes, not a copy');
      equal(ns.cachedRead(ROOT, a.ino, 12n, 4), undefined, 'nothing past the end');
      const other = { uid: 1000, gid: 1000, gids: [] };
      equal(ns.cachedRead(other, a.ino, 0n, 12), undefined, 'mode 0640: others may not read');
      equal(ns.cachedAccess(other, a.ino, 4), 0);
      equal(ns.cachedAccess(ROOT, a.ino, 6), 6);
      const none = await ns.listXattrs(a.ino);
      equal(ns.cachedXattrs(a.ino), none, 'cached with the attributes once listed');
      await ns.setXattrs(ROOT, a.ino, { 'user.k': Buffer.from('v') });
      equal(
        ns.cachedXattrs(a.ino),
        undefined,
        'a change drops the cached attributes and extended attributes',
      );
      const listed = await ns.listXattrs(a.ino);
      equal(ns.cachedXattrs(a.ino), listed);
      equal(listed.get('user.k')?.toString(), 'v');
      await ns.write(ROOT, a.ino, 0n, Buffer.from('INLINE'), 'file');
      equal(ns.cachedRead(ROOT, a.ino, 0n, 12), undefined, 'a write drops the cached bytes');
      await ns.read(ROOT, a.ino, 0n, 12, { shared: true });
      equal(ns.cachedRead(ROOT, a.ino, 0n, 12)?.toString(), 'INLINE bytes');
      await ns.setattr(ROOT, a.ino, { mode: 0o644 });
      equal(
        ns.cachedAccess(other, a.ino, 4) ?? (await ns.access(other, a.ino, 4)),
        4,
        'chmod is seen at once',
      );
      const big = await ns.create(ROOT, dir.ino, 'big', 0o644);
      await ns.write(ROOT, big.ino, 0n, pattern(INLINE_MAX + 1, 3), 'file');
      await ns.read(ROOT, big.ino, 0n, 100, { shared: true });
      equal(ns.cachedRead(ROOT, big.ino, 0n, 100), undefined, 'a file with its own blob is read by read()');
    },
  ));

test('6 inline_max 0: every file has its own blob, as before', async () => {
  const { ns, dir } = await open(undefined, 0);
  try {
    const a = await ns.create(ROOT, dir.ino, 'blob', 0o644);
    await ns.write(ROOT, a.ino, 0n, Buffer.from('bytes'), 'file');
    equal(await layoutOf(ns, a.ino), LAYOUT.ownBlob);
    equal(await ns.data.physicalSize(a.ino), 5);
  } finally {
    await ns.close();
  }
});

test('7 the bytes survive a reopen; fsck counts inline files, verifies their checksums, finds them clean', async () => {
  const { ns, dir, stateDir } = await open(undefined);
  const body = pattern(5000, 6);
  const a = await ns.create(ROOT, dir.ino, 'kept', 0o644);
  await ns.write(ROOT, a.ino, 0n, body, 'unstable');
  await ns.commit(a.ino);
  // What an S3 GET caches: the content's MD5 at the file's current change id.
  const md5 = createHash('md5').update(body).digest('hex');
  const { changeId } = await ns.getattr(a.ino);
  await ns.setXattrs(
    ROOT,
    a.ino,
    { [ETAG_MD5_XATTR]: Buffer.from(md5), [ETAG_CHANGE_XATTR]: Buffer.from(String(changeId)) },
    { quiet: true },
  );
  await ns.close();
  const again = await openNamespace({
    metadataUrl: `sqlite://${stateDir}/meta.db`,
    transportUrl: `file://${stateDir}/data`,
    inlineMaxBytes: INLINE_MAX,
  });
  try {
    deepEqual(await readAll(again, a.ino), body);
  } finally {
    await again.close();
  }
  const report = await runFsck({ dbFile: `${stateDir}/meta.db`, dataDir: `${stateDir}/data` });
  deepEqual(report.problems, []);
  equal(report.info.inlineFiles, 1);
  equal(report.info.checksumsVerified, 1);
});

test('8 with the data store failing, small files still take writes; a move fails cleanly, keeps the bytes, and succeeds once the store is back', async () => {
  const faults = new BackendFaults();
  const stateDir = makeTempDir('inline-faults');
  const ns = await openNamespace({
    metadataUrl: `sqlite://${stateDir}/meta.db`,
    transportUrl: `file://${stateDir}/data`,
    inlineMaxBytes: INLINE_MAX,
    wrapStores: faults.wrap,
  });
  try {
    const dir = await ns.ensureDirectory('/d', 0o777);
    const a = await ns.create(ROOT, dir.ino, 'resilient', 0o644);
    faults.arm('transport', { errno: 'EIO', calls: 'writes' });
    const head = pattern(6000, 7);
    await ns.write(ROOT, a.ino, 0n, head, 'file');
    await rejects(ns.write(ROOT, a.ino, 6000n, pattern(20_000, 8), 'file'), { code: 'EIO' });
    equal(await layoutOf(ns, a.ino), LAYOUT.inline, 'still inline');
    deepEqual(await readAll(ns, a.ino), head, 'the acknowledged bytes are all there');
    faults.clear();
    ns.breakers.transport.reset();
    const more = pattern(20_000, 9);
    await ns.write(ROOT, a.ino, 6000n, more, 'file');
    equal(await layoutOf(ns, a.ino), LAYOUT.ownBlob);
    deepEqual(await readAll(ns, a.ino), Buffer.concat([head, more]));
  } finally {
    await ns.close();
  }
});

test('9 an upload written aside starts inline when its declared size fits (S3 PUT); without one (a part) it has a blob', () =>
  withOpened(
    async () => undefined,
    async ({ ns, dir }) => {
      const body = pattern(3000, 10);
      const small = await ns.createDetached(ROOT, 0o644, 'upload', null, 3000n);
      await ns.write(ROOT, small.ino, 0n, body, 'unstable');
      await ns.commit(small.ino);
      await ns.linkDetached(ROOT, small.ino, dir.ino, 'object', false);
      equal(await layoutOf(ns, small.ino), LAYOUT.inline);
      equal(await ns.data.physicalSize(small.ino), undefined);
      deepEqual((await ns.read(ROOT, small.ino, 0n, 3000)).data, body);
      const large = await ns.createDetached(ROOT, 0o644, 'upload', null, 1_000_000n);
      equal(await layoutOf(ns, large.ino), LAYOUT.ownBlob);
      const part = await ns.createDetached(ROOT, 0o644, 'multipart', 'u1');
      await ns.write(ROOT, part.ino, 0n, body, 'unstable');
      equal(await layoutOf(ns, part.ino), LAYOUT.ownBlob, 'parts keep blobs for compose() to refer to');
    },
  ));

test('10 a version-1 store gains the inline table and the hold column, its xattrs a rowid table with every row kept, and is marked version 4 (an older gateway then refuses it); a newer store is refused', async () => {
  const { ns, stateDir } = await open(undefined);
  const f = await ns.create(ROOT, 1n, 'photo.jpg', 0o644);
  const fork = Buffer.alloc(600_000, 9);
  await ns.setXattrs(ROOT, f.ino, {
    'user.tag': Buffer.from('red'),
    [`${STREAM_XATTR_PREFIX}AFP_Resource`]: fork,
  });
  await ns.close();
  const file = `${stateDir}/meta.db`;
  const db = new Database(file);
  db.exec(
    "DROP TABLE inline_data; ALTER TABLE inodes DROP COLUMN hold; UPDATE meta SET value = '1' WHERE key = 'schema_version'",
  );
  // The xattrs table as versions 1 to 3 made it.
  db.exec(`CREATE TABLE old_xattrs (ino INTEGER NOT NULL, name TEXT NOT NULL, value BLOB NOT NULL,
    PRIMARY KEY (ino, name)) WITHOUT ROWID;
    INSERT INTO old_xattrs SELECT ino, name, value FROM xattrs; DROP TABLE xattrs;
    ALTER TABLE old_xattrs RENAME TO xattrs`);
  db.close();
  const again = await openNamespace({
    metadataUrl: `sqlite://${file}`,
    transportUrl: `file://${stateDir}/data`,
  });
  deepEqual(await again.listStreams(f.ino), [{ name: 'AFP_Resource', size: fork.length }]);
  deepEqual((await again.getXattr(f.ino, `${STREAM_XATTR_PREFIX}AFP_Resource`))?.length, fork.length);
  deepEqual([...(await again.listXattrs(f.ino))], [['user.tag', Buffer.from('red')]]);
  await again.close();
  const check = new Database(file, { readonly: true });
  try {
    equal(check.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get(), '4');
    doesNotMatch(
      check.prepare("SELECT sql FROM sqlite_master WHERE name = 'xattrs'").pluck().get() as string,
      /WITHOUT ROWID/,
    );
    ok(check.prepare("SELECT name FROM sqlite_master WHERE name = 'inline_data'").get());
    ok(
      (check.prepare('PRAGMA table_info(inodes)').all() as Array<{ name: string }>).some(
        (c) => c.name === 'hold',
      ),
    );
  } finally {
    check.close();
  }
  const newer = new Database(file);
  newer.exec("UPDATE meta SET value = '5' WHERE key = 'schema_version'");
  newer.close();
  await rejects(
    openNamespace({ metadataUrl: `sqlite://${file}`, transportUrl: `file://${stateDir}/data` }),
    /metadata schema 5 is newer than this gateway understands \(4\)/,
  );
});
