/**
 * Large aligned writes past the page cache (storage/data/direct-io.ts), on this machine's disk
 * (the temp folder), on a small full tmpfs and on /dev/shm: the bytes read back are the bytes
 * written, whichever way each write and read went, failures reach the next sync, and nothing
 * is left open.
 */
import { deepEqual, equal, ok, rejects } from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DIRECT_MAX, DIRECT_MIN, DirectIo } from '../../src/storage/data/direct-io.ts';
import { LocalBlobStore } from '../../src/storage/data/local-blobs.ts';
import { openNamespace } from '../../src/storage/open.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { mountTmpfs } from '../support/tmpfs.ts';
import { ALICE, rejectsWith } from './fixture.ts';

const MiB = 1024 * 1024;

/** Descriptors of this process open on `path` (removed or not). */
function openOn(path: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(path);
    } catch {
      return false;
    }
  }).length;
}

async function readBack(
  store: LocalBlobStore,
  blob: bigint,
  offset: number,
  length: number,
): Promise<Buffer> {
  const target = Buffer.alloc(length);
  const n = await store.readInto(blob, offset, target);
  return target.subarray(0, n);
}

describe('direct I/O on a disk file system', () => {
  let store: LocalBlobStore;
  let blob = 100n;
  const written = () => store.directIo!.written;
  const read = () => store.directIo!.read;

  before(async () => {
    store = await LocalBlobStore.open(join(makeTempDir('direct-io'), 'data'));
  });
  after(() => store.close());

  test('1 the store finds O_DIRECT and an aligned offset for its buffers; no probe file is left', () => {
    ok(store.direct, 'direct I/O available on the temp folder (ext4 here)');
    deepEqual(
      readdirSync(store.root).filter((n) => n.startsWith('.direct-probe')),
      [],
    );
  });

  test('1b the bounce buffers start on a memory page, where 8 MiB direct writes are fast', () => {
    // They come from shared WebAssembly memory, mapped page by page. A malloc'd
    // SharedArrayBuffer starts 16 bytes past a page: this VM's disk (512-byte blocks) took
    // writes from 496 bytes in, and 8 MiB direct writes so ran at a quarter of dd's speed.
    equal(store.direct!.start, 0);
  });

  test('2 8 MiB writes at aligned offsets go direct and read back identical, direct and buffered', async () => {
    const b = ++blob;
    const data = randomBytes(16 * MiB);
    const before = written();
    await store.write(b, 0, data.subarray(0, 8 * MiB));
    await store.write(b, 8 * MiB, data.subarray(8 * MiB));
    await store.sync(b);
    equal(written() - before, 16 * MiB, 'both writes went past the page cache');
    deepEqual(readFileSync(store.pathOf(b)), data, 'the file holds the bytes');

    const r0 = read();
    deepEqual(await readBack(store, b, 4 * MiB, 8 * MiB), data.subarray(4 * MiB, 12 * MiB));
    equal(read() - r0, 8 * MiB, 'a large aligned read of a directly written blob goes direct');
    // Not aligned: through the page cache, same bytes.
    deepEqual(await readBack(store, b, 4097, 2 * MiB), data.subarray(4097, 4097 + 2 * MiB));
    equal(read() - r0, 8 * MiB);
  });

  test('3 what does not suit goes buffered: small, unaligned, or past the largest direct size', async () => {
    const b = ++blob;
    const before = written();
    await store.write(b, 0, randomBytes(DIRECT_MIN - 4096));
    await store.write(b, 4096 + 512, randomBytes(DIRECT_MIN));
    await store.write(b, 0, randomBytes(DIRECT_MIN + 100));
    await store.write(b, 0, randomBytes(DIRECT_MAX + 4096));
    equal(written(), before);
  });

  test('4 a buffered tail after direct writes: a direct read stops at the end of the file, bytes exact', async () => {
    const b = ++blob;
    const head = randomBytes(8 * MiB);
    const tail = randomBytes(5000);
    await store.write(b, 0, head);
    await store.write(b, 8 * MiB, tail);
    const r0 = read();
    const back = await readBack(store, b, 4 * MiB, 8 * MiB);
    equal(read() - r0, 4 * MiB + 5000, 'read direct, up to the end');
    deepEqual(back, Buffer.concat([head.subarray(4 * MiB), tail]));
  });

  test('4a once a reader has gone to the end, the next reads use the page cache (a file read again gets cached)', async () => {
    const b = ++blob;
    const data = randomBytes(16 * MiB);
    await store.write(b, 0, data.subarray(0, 8 * MiB));
    await store.write(b, 8 * MiB, data.subarray(8 * MiB));
    const r0 = read();
    deepEqual(await readBack(store, b, 0, 8 * MiB), data.subarray(0, 8 * MiB));
    deepEqual(await readBack(store, b, 8 * MiB, 8 * MiB), data.subarray(8 * MiB));
    equal(read() - r0, 16 * MiB, 'the first pass, direct');
    deepEqual(await readBack(store, b, 0, 8 * MiB), data.subarray(0, 8 * MiB));
    equal(read() - r0, 16 * MiB, 'the second, through the page cache');
    // A new direct write makes the next pass direct again.
    await store.write(b, 0, data.subarray(0, 8 * MiB));
    deepEqual(await readBack(store, b, 0, 8 * MiB), data.subarray(0, 8 * MiB));
    equal(read() - r0, 24 * MiB);
  });

  test('4b a file cut shorter behind the store’s back: the direct read stops where it ends', async () => {
    const b = ++blob;
    const data = randomBytes(8 * MiB);
    await store.write(b, 0, data);
    await store.sync(b); // on disk: the write is answered before it lands
    // As another node sharing the data folder would (the store still believes 8 MiB).
    truncateSync(store.pathOf(b), 4 * MiB + 100);
    deepEqual(await readBack(store, b, 0, 8 * MiB), data.subarray(0, 4 * MiB + 100));
  });

  test('5 buffered and direct writes over the same bytes: the last one wins, whichever way it is read', async () => {
    const b = ++blob;
    const first = randomBytes(8 * MiB);
    await store.write(b, 0, first);
    // A small buffered write inside the directly written range: dirty in the page cache.
    const patch = randomBytes(3000);
    await store.write(b, 1 * MiB + 17, patch);
    const expected = Buffer.from(first);
    patch.copy(expected, 1 * MiB + 17);
    deepEqual(await readBack(store, b, 0, 8 * MiB), expected, 'the direct read sees the dirty page');
    deepEqual(await readBack(store, b, 1 * MiB, 4096), expected.subarray(1 * MiB, 1 * MiB + 4096));
    // Then a direct write over it all.
    const second = randomBytes(8 * MiB);
    await store.write(b, 0, second);
    deepEqual(await readBack(store, b, 1 * MiB + 17, 3000), second.subarray(1 * MiB + 17, 1 * MiB + 3017));
    deepEqual(await readBack(store, b, 0, 8 * MiB), second);
  });

  test('5b a small file read while it is being written large: the copy in memory of the small file is not served after', async () => {
    const b = ++blob;
    await store.write(b, 0, Buffer.from('small'));
    equal((await readBack(store, b, 0, 5)).toString(), 'small', 'held in memory now');
    const large = randomBytes(8 * MiB);
    const writing = store.write(b, 0, large);
    const during = store.read(b, 0, 5); // may see either
    await Promise.all([writing, during]);
    deepEqual(await readBack(store, b, 0, 8 * MiB), large, 'read to the end: direct');
    deepEqual(await readBack(store, b, 0, 100), large.subarray(0, 100), 'then through the page cache');
  });

  test('6 more large writes at once than bounce buffers: the later ones wait for a buffer, every byte lands direct', async () => {
    const b = ++blob;
    const data = randomBytes(48 * MiB);
    const before = written();
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        store.write(b, i * 8 * MiB, data.subarray(i * 8 * MiB, (i + 1) * 8 * MiB)),
      ),
    );
    await store.sync(b);
    equal(written() - before, 48 * MiB);
    deepEqual(readFileSync(store.pathOf(b)), data);
  });

  test('6b a write is answered once its bytes are staged: the caller may reuse its buffer; reads, later writes and sync see it', async () => {
    const b = ++blob;
    const first = randomBytes(8 * MiB);
    const copy = Buffer.from(first);
    await store.write(b, 0, first);
    first.fill(0); // the caller's buffer, reused at once (SMB hands its frame back)
    // A small buffered write right after, inside the same bytes: it must land after the
    // direct one, not be overwritten by it.
    const patch = randomBytes(1000);
    await store.write(b, 4096 + 3, patch);
    patch.copy(copy, 4096 + 3);
    deepEqual(await readBack(store, b, 0, 8 * MiB), copy);
    await store.sync(b);
    deepEqual(readFileSync(store.pathOf(b)), copy);
  });

  test('7 removing a blob closes both its descriptors and removes the file', async () => {
    const b = ++blob;
    await store.write(b, 0, randomBytes(8 * MiB));
    const path = store.pathOf(b);
    equal(openOn(path), 2, 'the buffered and the direct descriptor');
    await store.remove([b]);
    equal(openOn(path), 0);
    ok(!existsSync(path));
  });
});

describe('direct I/O elsewhere', () => {
  test('0 a direct write that fails on its way to the disk (a full file system) is reported by the next sync', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to mount a small tmpfs');
    const dir = mountTmpfs(join(makeTempDir('direct-io-full'), 'fs'), '12m');
    if (!dir) return t.skip('mounting a tmpfs failed');
    const store = await LocalBlobStore.open(join(dir, 'data'));
    try {
      if (!store.direct) return t.skip('this kernel has no O_DIRECT on tmpfs (before Linux 6.6)');
      await store.write(1n, 0, randomBytes(8 * MiB));
      // Answered once staged; the disk has room for part of it only.
      await store.write(1n, 8 * MiB, randomBytes(8 * MiB));
      await rejects(store.sync(1n), { code: 'ENOSPC' });
      // Reported once, as the kernel reports a writeback error; the first 8 MiB are intact.
      await store.sync(1n);
    } finally {
      await store.close();
    }
  });

  test('0b through the namespace: the WRITE is answered, the COMMIT (SMB FLUSH/CLOSE, NFS COMMIT) fails with ENOSPC', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to mount a small tmpfs');
    const dir = mountTmpfs(join(makeTempDir('direct-io-ns'), 'fs'), '12m');
    if (!dir) return t.skip('mounting a tmpfs failed');
    const ns = await openNamespace({
      metadataUrl: `sqlite://${makeTempDir('direct-io-ns-meta')}/meta.db`,
      transportUrl: `file://${dir}/data`,
      cacheTtlMs: 0,
      directIo: true,
    });
    try {
      if (!(ns.data as LocalBlobStore).direct) return t.skip('this kernel has no O_DIRECT on tmpfs');
      const exp = (await ns.ensureDirectory('/export', 0o1777)).ino;
      const f = await ns.create(ALICE, exp, 'big.bin', 0o644);
      await ns.write(ALICE, f.ino, 0n, randomBytes(8 * MiB), 'unstable');
      await ns.write(ALICE, f.ino, BigInt(8 * MiB), randomBytes(8 * MiB), 'unstable');
      await rejectsWith(ns.commit(f.ino), 'ENOSPC');
    } finally {
      await ns.close();
    }
  });

  test('1 no direct I/O where the probe cannot make its file: the store would write buffered', () => {
    equal(DirectIo.probe(join(makeTempDir('direct-io-none'), 'missing')), undefined);
  });

  test('2 on a tmpfs (O_DIRECT there since Linux 6.6, a copy without a disk), bytes intact either way', async (t) => {
    if (!existsSync('/dev/shm')) return t.skip('no /dev/shm here');
    const dir = join('/dev/shm', `cfs-direct-io-${process.pid}`);
    const store = await LocalBlobStore.open(dir);
    try {
      const data = randomBytes(16 * MiB);
      await store.write(1n, 0, data.subarray(0, 8 * MiB));
      await store.write(1n, 8 * MiB, data.subarray(8 * MiB));
      await store.sync(1n);
      deepEqual(await readBack(store, 1n, 0, 8 * MiB), data.subarray(0, 8 * MiB));
      deepEqual(readFileSync(store.pathOf(1n)), data);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
