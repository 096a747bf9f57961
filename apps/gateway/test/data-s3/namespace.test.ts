import { deepEqual, equal, ok, rejects } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { S3DataStore } from '../../src/storage/data/s3-blobs.ts';
import { type OpenedNamespace, openNamespace } from '../../src/storage/open.ts';
import type { Credential } from '../../src/storage/types.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { BUCKET, type StoreServer, startStoreServer } from './store-server.ts';

const ALICE: Credential = { uid: 1000, gid: 1000, gids: [] };
const CS = 64 * 1024;

/** The namespace with its file data in the object store (metadata stays in SQLite). */
describe('the namespace over S3DataStore', () => {
  let server: StoreServer;
  let ns: OpenedNamespace;
  let exp: bigint;
  const dir = makeTempDir('ns-s3');
  let data: S3DataStore;
  const reopen = async (requestTimeoutMs?: number) => {
    await ns?.close();
    data = await server.open('ns', { chunkSize: CS, ...(requestTimeoutMs ? { requestTimeoutMs } : {}) });
    ns = await openNamespace({
      metadataUrl: `sqlite://${dir}/meta.db`,
      transportUrl: `file://${dir}/unused`,
      wrapStores: (stores) => ({ ...stores, data }),
    });
    return ns;
  };
  const stored = async (blob: bigint) => {
    const c = server.client();
    const r = await c.send(
      new ListObjectsV2Command({
        Bucket: BUCKET,
        Prefix: `ns/blobs/${blob.toString(16).padStart(16, '0')}/`,
      }),
    );
    c.destroy();
    return (r.Contents ?? []).length;
  };

  before(async () => {
    server = await startStoreServer();
    await reopen();
    exp = (await ns.ensureDirectory('/export', 0o1777)).ino;
  });
  after(async () => {
    await ns.close();
    await server.stop();
  });

  test('1 a sparse file: holes read as zeros, eof is reported, bytes past the end are none', async () => {
    const f = await ns.create(ALICE, exp, 'sparse', 0o644);
    await ns.write(ALICE, f.ino, 1_000_000n, Buffer.from('tail'));
    equal((await ns.getattr(f.ino)).size, 1_000_004n);
    const head = await ns.read(ALICE, f.ino, 0n, 16);
    deepEqual(head.data, Buffer.alloc(16));
    equal(head.eof, false);
    const tail = await ns.read(ALICE, f.ino, 999_998n, 100);
    deepEqual(tail.data, Buffer.from('\0\0tail'));
    equal(tail.eof, true);
    equal((await ns.read(ALICE, f.ino, 5_000_000n, 10)).data.length, 0);
  });

  test('2 truncate shrinks; extending reads zeros where the old bytes were, also after a restart', async () => {
    const f = await ns.create(ALICE, exp, 'trunc', 0o644);
    await ns.write(ALICE, f.ino, BigInt(CS - 5), Buffer.from('abcdefghij'));
    await ns.setattr(ALICE, f.ino, { size: BigInt(CS - 2) });
    await ns.setattr(ALICE, f.ino, { size: BigInt(CS + 3) });
    deepEqual((await ns.read(ALICE, f.ino, BigInt(CS - 5), 100)).data, Buffer.from('abc\0\0\0\0\0'));
    await reopen();
    deepEqual((await ns.read(ALICE, f.ino, BigInt(CS - 5), 100)).data, Buffer.from('abc\0\0\0\0\0'));
  });

  test('2a bytes a crash left past the committed size stay hidden when a SETATTR extends the file', async () => {
    const f = await ns.create(ALICE, exp, 'extended', 0o644);
    await ns.write(ALICE, f.ino, 0n, Buffer.from('0123456789'));
    // A write past EOF whose bytes reached the blob before a crash cut off its metadata commit.
    await data.write(f.ino, 100, Buffer.from('stale'));
    await data.sync(f.ino);
    await reopen();
    await ns.setattr(ALICE, f.ino, { size: 200n });
    const seen = (await ns.read(ALICE, f.ino, 0n, 300)).data;
    deepEqual(seen, Buffer.concat([Buffer.from('0123456789'), Buffer.alloc(190)]));
  });

  test('2b a truncate whose cut the store refused: a later write past the new end still reads zeros between', async () => {
    await reopen(1000);
    const f = await ns.create(ALICE, exp, 'cut-refused', 0o644);
    await ns.write(ALICE, f.ino, 0n, Buffer.alloc(1000, 0x78));
    server.pause();
    try {
      // The size is committed; the store never hears of the cut.
      await rejects(ns.setattr(ALICE, f.ino, { size: 100n }));
    } finally {
      server.resume();
    }
    equal((await ns.getattr(f.ino)).size, 100n);
    await ns.write(ALICE, f.ino, 500n, Buffer.alloc(100, 0x79));
    const seen = (await ns.read(ALICE, f.ino, 0n, 1000)).data;
    deepEqual(seen, Buffer.concat([Buffer.alloc(100, 0x78), Buffer.alloc(400), Buffer.alloc(100, 0x79)]));
    await reopen();
  });

  test('3 unstable writes: committed ones and, after an orderly stop, uncommitted ones survive a restart', async () => {
    const f = await ns.create(ALICE, exp, 'unstable', 0o644);
    await ns.write(ALICE, f.ino, 0n, Buffer.from('committed '), 'unstable');
    await ns.commit(f.ino);
    equal(await stored(f.ino), 1);
    await ns.write(ALICE, f.ino, 10n, Buffer.from('and kept at close'), 'unstable');
    await reopen();
    equal((await ns.read(ALICE, f.ino, 0n, 100)).data.toString(), 'committed and kept at close');
  });

  test('4 an S3-style upload: parts composed into one file read through the extents into their blobs', async () => {
    const parts: bigint[] = [];
    for (const piece of ['first-', 'second-', 'third']) {
      const p = await ns.createDetached(ALICE, 0o644, 'multipart');
      await ns.write(ALICE, p.ino, 0n, Buffer.from(piece));
      parts.push(p.ino);
    }
    const composed = await ns.compose(ALICE, parts, 'upload');
    const linked = await ns.linkDetached(ALICE, composed.ino, exp, 'object', true);
    equal((await ns.read(ALICE, linked.ino, 0n, 100)).data.toString(), 'first-second-third');
    equal((await ns.read(ALICE, linked.ino, 4n, 6)).data.toString(), 't-seco');
  });

  test('4a an UNSTABLE write into a multipart file where its own blob holds bytes no extent maps: a crash before COMMIT never shows them', async () => {
    const parts: bigint[] = [];
    for (const n of [0, 1]) {
      const p = await ns.createDetached(ALICE, 0o644, 'multipart');
      await ns.write(ALICE, p.ino, 0n, Buffer.alloc(100_000, 0x41 + n));
      parts.push(p.ino);
    }
    const composed = await ns.compose(ALICE, parts, 'upload');
    const f = await ns.linkDetached(ALICE, composed.ino, exp, 'assembled', true);
    // A write the metadata knows of (an extent into the file's own blob) ...
    await ns.write(ALICE, f.ino, 150_000n, Buffer.alloc(10_000, 0x6b));
    // ... and one whose bytes reached the blob before a crash cut off its metadata commit.
    await data.write(f.ino, 10_000, Buffer.alloc(20_000, 0x73));
    await data.sync(f.ino);
    await reopen();
    await ns.write(ALICE, f.ino, 0n, Buffer.alloc(CS * 2, 0x75), 'unstable');
    // Over the range already mapped: stays in memory until COMMIT.
    await ns.write(ALICE, f.ino, 152_000n, Buffer.alloc(1000, 0x6c), 'unstable');
    // A SIGKILL now: unsynced bytes are gone, extents (metadata on PostgreSQL) stand.
    (data as unknown as { dirty: { dropBlob(b: bigint): void } }).dirty.dropBlob(f.ino);
    await reopen();
    const seen = (await ns.read(ALICE, f.ino, 0n, 200_000)).data;
    equal(seen.length, 200_000);
    ok(!seen.includes(0x73), 'bytes no extent mapped are shown');
    // Mapping a new range waited for its bytes to be durable; rewriting a mapped one did not.
    deepEqual(seen.subarray(0, CS * 2), Buffer.alloc(CS * 2, 0x75));
    deepEqual(seen.subarray(CS * 2, 150_000), Buffer.alloc(150_000 - CS * 2, 0x42));
    deepEqual(seen.subarray(150_000, 160_000), Buffer.alloc(10_000, 0x6b), 'the acknowledged write stays');
    deepEqual(seen.subarray(160_000), Buffer.alloc(40_000, 0x42));
  });

  test('4b truncating a multipart file to 0 frees its parts and cuts the bytes written over it; the new version reads as written', async () => {
    const p = await ns.createDetached(ALICE, 0o644, 'multipart');
    await ns.write(ALICE, p.ino, 0n, Buffer.alloc(3 * CS, 0x50));
    const f = await ns.linkDetached(
      ALICE,
      (await ns.compose(ALICE, [p.ino], 'upload')).ino,
      exp,
      'renewed',
      true,
    );
    await ns.write(ALICE, f.ino, 1000n, Buffer.alloc(CS, 0x6f));
    await ns.setattr(ALICE, f.ino, { size: 0n });
    equal(await stored(f.ino), 0, 'the bytes written over it are cut');
    await ns.write(ALICE, f.ino, 0n, Buffer.from('new version'));
    await ns.setattr(ALICE, f.ino, { size: 20n });
    await reopen();
    equal(await stored(p.ino), 0, 'the part blob is deleted');
    equal(await stored(f.ino), 1);
    deepEqual((await ns.read(ALICE, f.ino, 0n, 100)).data, Buffer.from('new version\0\0\0\0\0\0\0\0\0'));
  });

  test('5 removing the last link deletes the chunk objects; statfs shows the documented capacity', async () => {
    const f = await ns.create(ALICE, exp, 'doomed', 0o644);
    await ns.write(ALICE, f.ino, 0n, Buffer.alloc(3 * CS, 7));
    equal(await stored(f.ino), 3);
    await ns.remove(ALICE, exp, 'doomed');
    await reopen();
    equal(await stored(f.ino), 0);
    const s = await ns.statfs();
    equal(s.totalBytes, 1n << 60n);
    ok(s.freeFiles > 0n);
  });
});
