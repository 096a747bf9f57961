import { deepEqual, equal, ok } from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { S3DataStore } from '../../src/storage/data/s3-blobs.ts';
import { BUCKET, type StoreServer, startStoreServer } from './store-server.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const CS = 64 * KiB;

/** Requests the store sent since `before`, by SDK command name (only those that changed). */
function sent(store: S3DataStore, before: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, n] of store.objects.requests) {
    const d = n - (before.get(name) ?? 0);
    if (d > 0) out[name] = d;
  }
  return out;
}

const snapshot = (store: S3DataStore) => new Map(store.objects.requests);

/** A new blob holding `data` from offset 0, synced. */
async function created(store: S3DataStore, blob: bigint, data: Buffer): Promise<void> {
  await store.prepareWrite(blob, 0);
  await store.write(blob, 0, data);
  await store.sync(blob);
}

describe('S3DataStore over a real S3 server', () => {
  let server: StoreServer;
  const open: S3DataStore[] = [];
  const store = async (prefix: string, o: Parameters<StoreServer['open']>[1] = {}) => {
    const s = await server.open(prefix, { chunkSize: CS, ...o });
    open.push(s);
    return s;
  };
  async function objects(prefix: string): Promise<Array<[string, number]>> {
    const c = server.client();
    const out: Array<[string, number]> = [];
    let token: string | undefined;
    do {
      const r = await c.send(
        new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of r.Contents ?? []) out.push([o.Key ?? '', o.Size ?? 0]);
      token = r.NextContinuationToken;
    } while (token);
    c.destroy();
    return out;
  }

  before(async () => {
    server = await startStoreServer();
  });
  after(async () => {
    await Promise.all(open.map((s) => s.close().catch(() => {})));
    await server.stop();
  });

  test('1 a blob is chunk objects <prefix>/blobs/<16 hex>/<8 hex>, the last one short', async () => {
    const s = await store('layout');
    await created(s, 0xabcn, randomBytes(2 * CS + CS / 2));
    deepEqual(await objects('layout/'), [
      ['layout/blobs/0000000000000abc/00000000', CS],
      ['layout/blobs/0000000000000abc/00000001', CS],
      ['layout/blobs/0000000000000abc/00000002', CS / 2],
    ]);
  });

  test('2 unsynced bytes are read by their own store only; synced, another node reads them once told to invalidate', async () => {
    const a = await store('unsynced');
    const b = await store('unsynced');
    await a.prepareWrite(1n, 0);
    await a.write(1n, CS - 3, Buffer.from('not yet durable'));
    equal((await a.read(1n, CS - 3, 100)).toString(), 'not yet durable');
    equal((await b.read(1n, 0, 2 * CS)).length, 0);
    deepEqual(await objects('unsynced/'), []);
    await a.sync(1n);
    // b remembers the blob as empty until the namespace says another node changed it.
    equal((await b.read(1n, 0, 2 * CS)).length, 0);
    b.invalidate(1n);
    equal((await b.read(1n, CS - 3, 100)).toString(), 'not yet durable');
  });

  test('3 truncate rewrites the chunk it falls in shorter and deletes the ones past it; prepareWrite drops dirty bytes past the cut', async () => {
    const s = await store('cut');
    const data = randomBytes(3 * CS);
    await created(s, 2n, data);
    await s.truncate(2n, CS + 10);
    deepEqual(await objects('cut/'), [
      ['cut/blobs/0000000000000002/00000000', CS],
      ['cut/blobs/0000000000000002/00000001', 10],
    ]);
    const fresh = await store('cut');
    deepEqual(await fresh.read(2n, 0, 3 * CS), data.subarray(0, CS + 10));
    // A crash-left tail, in memory this time: bytes past the committed size never reach the store.
    await s.write(2n, 2 * CS + 5, Buffer.from('past the end'));
    await s.write(2n, CS + 2, Buffer.from('kept'));
    await s.prepareWrite(2n, CS + 4);
    equal(await s.physicalSize(2n), CS + 4);
    await s.sync(2n);
    deepEqual(await objects('cut/'), [
      ['cut/blobs/0000000000000002/00000000', CS],
      ['cut/blobs/0000000000000002/00000001', 4],
    ]);
    fresh.invalidate(2n);
    deepEqual(await fresh.read(2n, CS, 100), Buffer.concat([data.subarray(CS, CS + 2), Buffer.from('ke')]));
  });

  test('4 a cached chunk is read again without a GET; a sequential reader fetches each chunk once', async () => {
    const w = await store('cache');
    const data = randomBytes(4 * CS);
    await created(w, 3n, data);
    const r = await store('cache');
    let before = snapshot(r);
    deepEqual(await r.read(3n, CS, CS), data.subarray(CS, 2 * CS));
    deepEqual(sent(r, before), { GetObjectCommand: 1 });
    before = snapshot(r);
    const hits = r.cache.hits;
    deepEqual(await r.read(3n, CS, CS), data.subarray(CS, 2 * CS));
    deepEqual(await r.read(3n, CS + 100, 1000), data.subarray(CS + 100, CS + 1100));
    deepEqual(sent(r, before), {});
    equal(r.cache.hits, hits + 2);

    const seq = await store('cache');
    before = snapshot(seq);
    const piece = Buffer.alloc(16 * KiB);
    for (let off = 0; off < data.length; off += piece.length) {
      equal(await seq.readInto(3n, off, piece), piece.length);
      deepEqual(piece, data.subarray(off, off + piece.length));
    }
    // 4 chunks, and read-ahead asking for the 2 past the end (404s): never a chunk twice.
    const gets = sent(seq, before).GetObjectCommand ?? 0;
    ok(gets >= 4 && gets <= 6, `${gets} GETs for 16 sequential reads of 4 chunks`);
  });

  test('5 invalidate drops the cached chunks: the next read fetches what another node wrote', async () => {
    const reader = await store('invalidate');
    const writer = await store('invalidate');
    await created(writer, 4n, Buffer.alloc(CS, 0x61));
    equal((await reader.read(4n, 10, 3)).toString(), 'aaa');
    await writer.write(4n, 10, Buffer.from('bbb'));
    await writer.sync(4n);
    let before = snapshot(reader);
    equal((await reader.read(4n, 10, 3)).toString(), 'aaa');
    deepEqual(sent(reader, before), {});
    reader.invalidate(4n);
    before = snapshot(reader);
    equal((await reader.read(4n, 10, 3)).toString(), 'bbb');
    deepEqual(sent(reader, before), { GetObjectCommand: 1 });
  });

  test('6 a full write buffer uploads its oldest chunks early; sync uploads the rest, each chunk once', async () => {
    const s = await store('bounded', { writeBufferSize: 4 * CS });
    const other = await store('bounded');
    const data = randomBytes(10 * CS);
    await s.prepareWrite(5n, 0);
    const before = snapshot(s);
    for (let off = 0; off < data.length; off += CS) await s.write(5n, off, data.subarray(off, off + CS));
    ok(s.bufferedBytes <= 4 * CS, `${s.bufferedBytes} bytes buffered`);
    ok(s.earlyFlushes >= 6, `${s.earlyFlushes} early flushes`);
    deepEqual(await other.read(5n, 0, CS), data.subarray(0, CS));
    equal((await other.read(5n, 9 * CS, CS)).length, 0, 'the newest chunk is still only in memory');
    await s.sync(5n);
    equal(s.bufferedBytes, 0);
    deepEqual(sent(s, before), { PutObjectCommand: 10 });
    other.invalidate(5n);
    deepEqual(await other.read(5n, 0, data.length), data);
  });

  test('7 a 24 MiB chunk goes up as a multipart upload; changing one part later copies the other two server-side', async () => {
    const big = { chunkSize: 24 * MiB, writeBufferSize: 64 * MiB, cacheSize: 64 * MiB };
    const w = await store('multipart', big);
    const data = randomBytes(24 * MiB);
    await w.prepareWrite(6n, 0);
    let before = snapshot(w);
    for (let off = 0; off < data.length; off += MiB) await w.write(6n, off, data.subarray(off, off + MiB));
    await w.sync(6n);
    deepEqual(sent(w, before), {
      CreateMultipartUploadCommand: 1,
      UploadPartCommand: 3,
      CompleteMultipartUploadCommand: 1,
    });

    // Another process life: nothing cached, the stored chunk's length unknown.
    const u = await store('multipart', big);
    before = snapshot(u);
    await u.prepareWrite(6n, data.length);
    await u.write(6n, 12 * MiB + 5, Buffer.from('patched'));
    await u.sync(6n);
    Buffer.from('patched').copy(data, 12 * MiB + 5);
    deepEqual(sent(u, before), {
      ListObjectsV2Command: 1,
      // One byte to learn the chunk's length, and the 8 MiB part the patch falls in.
      GetObjectCommand: 2,
      CreateMultipartUploadCommand: 1,
      UploadPartCopyCommand: 2,
      UploadPartCommand: 1,
      CompleteMultipartUploadCommand: 1,
    });
    deepEqual(await objects('multipart/'), [['multipart/blobs/0000000000000006/00000000', 24 * MiB]]);
    const r = await store('multipart', big);
    deepEqual(await r.read(6n, 0, data.length), data);
  });

  test('8 remove deletes every chunk of the blobs; listBlobs no longer names them; deletes go in batches of 1000 keys', async () => {
    const s = await store('remove');
    await s.prepareWrite(7n, 0);
    await s.write(7n, 0, Buffer.alloc(3 * CS, 1));
    await s.prepareWrite(8n, 0);
    await s.write(8n, 0, Buffer.from('small'));
    await s.prepareWrite(0x77n, 0);
    await s.write(0x77n, 0, Buffer.from('stays'));
    await Promise.all([s.sync(7n), s.sync(8n), s.sync(0x77n)]);
    const listed = async () => {
      const out: bigint[] = [];
      for await (const b of s.listBlobs()) out.push(b);
      return out.sort((x, y) => (x < y ? -1 : 1));
    };
    deepEqual(await listed(), [7n, 8n, 0x77n]);
    await s.remove([7n, 8n]);
    deepEqual(await listed(), [0x77n]);
    deepEqual(await objects('remove/'), [['remove/blobs/0000000000000077/00000000', 5]]);
    // 2,001 keys (S3 forgets keys that are not there): three DeleteObjects requests.
    const before = snapshot(s);
    const keys = Array.from({ length: 2001 }, (_, i) => s.objectKey(0x77n, i));
    await s.objects.deleteKeys(keys);
    deepEqual(sent(s, before), { DeleteObjectsCommand: 3 });
    deepEqual(await objects('remove/'), []);
  });

  test('9 physicalSize counts stored and unsynced bytes, holes included; undefined for nothing', async () => {
    const s = await store('sizes');
    equal(await s.physicalSize(9n), undefined);
    await s.prepareWrite(9n, 0);
    await s.write(9n, 5 * CS + 7, Buffer.from('x'));
    equal(await s.physicalSize(9n), 5 * CS + 8);
    await s.sync(9n);
    const fresh = await store('sizes');
    equal(await fresh.physicalSize(9n), 5 * CS + 8);
    await s.write(9n, 7 * CS, Buffer.from('yz'));
    equal(await s.physicalSize(9n), 7 * CS + 2);
  });

  test('10 writes during an upload of the same chunk are kept: both reach the store, in order', async () => {
    const s = await store('overlap');
    await s.prepareWrite(10n, 0);
    await s.write(10n, 0, Buffer.from('first....'));
    const syncing = s.sync(10n);
    await s.write(10n, 5, Buffer.from('second'));
    equal((await s.read(10n, 0, 100)).toString(), 'firstsecond');
    await syncing;
    await s.sync(10n);
    const fresh = await store('overlap');
    equal((await fresh.read(10n, 0, 100)).toString(), 'firstsecond');
  });

  test('11 random writes, truncates, syncs and reads against a model (4 KiB chunks, a 3-chunk write buffer, a tiny cache)', async () => {
    const cs = 4 * KiB;
    const s = await store('model', { chunkSize: cs, writeBufferSize: 3 * cs, cacheSize: 6 * cs });
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const models = new Map<bigint, Buffer>([
      [11n, Buffer.alloc(0)],
      [12n, Buffer.alloc(0)],
    ]);
    for (const blob of models.keys()) await s.prepareWrite(blob, 0);
    for (let step = 0; step < 400; step++) {
      const blob = rand(2) === 0 ? 11n : 12n;
      let m = models.get(blob)!;
      const op = rand(10);
      if (op < 5) {
        const off = rand(12 * cs);
        const data = randomBytes(1 + rand(2 * cs));
        const grown = Buffer.alloc(Math.max(m.length, off + data.length));
        m.copy(grown);
        data.copy(grown, off);
        m = grown;
        await s.write(blob, off, data);
      } else if (op < 6) {
        const size = rand(m.length + 1);
        m = m.subarray(0, size);
        await s.truncate(blob, size);
      } else if (op < 7) {
        await s.sync(blob);
      } else {
        const off = rand(m.length + cs);
        const len = 1 + rand(3 * cs);
        const got = await s.read(blob, off, len);
        deepEqual(got, m.subarray(Math.min(off, m.length), Math.min(off + len, m.length)), `step ${step}`);
      }
      models.set(blob, m);
    }
    for (const blob of models.keys()) await s.sync(blob);
    const fresh = await store('model', { chunkSize: cs });
    for (const [blob, m] of models) {
      deepEqual(await fresh.read(blob, 0, 20 * cs), m);
      equal((await fresh.physicalSize(blob)) ?? 0, m.length);
    }
  });

  test('12 64 MiB written and read sequentially in 1 MiB pieces with the default 8 MiB chunks: a PUT a chunk, no chunk fetched whole twice', async (t) => {
    const sizes = { chunkSize: 8 * MiB, cacheSize: 256 * MiB, writeBufferSize: 256 * MiB };
    const w = await store('throughput', sizes);
    const data = randomBytes(64 * MiB);
    let before = snapshot(w);
    let started = performance.now();
    await w.prepareWrite(13n, 0);
    for (let off = 0; off < data.length; off += MiB) await w.write(13n, off, data.subarray(off, off + MiB));
    await w.sync(13n);
    const writeMs = performance.now() - started;
    deepEqual(sent(w, before), { ListObjectsV2Command: 1, PutObjectCommand: 8 });

    const r = await store('throughput', sizes);
    before = snapshot(r);
    started = performance.now();
    const piece = Buffer.alloc(MiB);
    for (let off = 0; off < data.length; off += MiB) {
      equal(await r.readInto(13n, off, piece), MiB);
      ok(piece.equals(data.subarray(off, off + MiB)), `bytes at ${off}`);
    }
    const readMs = performance.now() - started;
    const gets = sent(r, before).GetObjectCommand ?? 0;
    // The first 1 MiB read, then the rest of chunk 0, then one GET a chunk, read-ahead 2 past the end.
    ok(gets <= 11, `${gets} GETs`);
    t.diagnostic(
      `64 MiB: write+sync ${writeMs.toFixed(0)} ms (${((64 / writeMs) * 1000).toFixed(0)} MiB/s), ` +
        `read ${readMs.toFixed(0)} ms (${((64 / readMs) * 1000).toFixed(0)} MiB/s), ${gets} GETs`,
    );
  });
});
