import { deepEqual, equal, ok } from 'node:assert/strict';
import { test } from 'node:test';
import type { DataStore } from '../../src/storage/data/data-store.ts';

/** Storage to open stores over: each `open()` is a new store instance on the same bytes. */
export interface ContractStorage {
  open(): Promise<DataStore>;
}

async function listed(store: DataStore): Promise<bigint[]> {
  const out: bigint[] = [];
  for await (const b of store.listBlobs()) out.push(b);
  return out.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
}

const bytes = (text: string) => Buffer.from(text);

/**
 * What every DataStore does, as the namespace relies on it: LocalBlobStore's behaviour is the
 * reference, and the object store runs the same rows. `boundary` is an offset where the store
 * under test changes chunk (any value suits a store without chunks); the rows write across it.
 */
export function dataStoreContract(fresh: () => ContractStorage, boundary: number): void {
  const B = boundary;

  test('contract 1: bytes written at odd offsets across a chunk boundary read back; readInto counts them', async () => {
    const store = await fresh().open();
    try {
      await store.prepareWrite(1n, 0);
      await store.write(1n, B - 5, bytes('0123456789'));
      await store.write(1n, 3, bytes('abc'));
      equal((await store.read(1n, B - 5, 10)).toString(), '0123456789');
      const into = Buffer.alloc(6, 0xff);
      equal(await store.readInto(1n, B - 3, into), 6);
      equal(into.toString(), '234567');
      await store.sync(1n);
      equal((await store.read(1n, B - 2, 4)).toString(), '3456');
      deepEqual(await store.read(1n, 0, 7), Buffer.from('\0\0\0abc\0'));
    } finally {
      await store.close();
    }
  });

  test('contract 2: holes read as zeros; reads past the end are short or empty; an unknown blob is empty', async () => {
    const store = await fresh().open();
    try {
      await store.prepareWrite(2n, 0);
      await store.write(2n, 2 * B + 7, bytes('tail'));
      await store.sync(2n);
      const all = await store.read(2n, 0, 3 * B);
      equal(all.length, 2 * B + 11);
      ok(all.subarray(0, 2 * B + 7).every((b) => b === 0));
      equal(all.subarray(2 * B + 7).toString(), 'tail');
      const target = Buffer.alloc(100, 0xff);
      equal(await store.readInto(2n, 2 * B + 9, target), 2);
      equal(target.subarray(0, 2).toString(), 'il');
      equal((await store.read(2n, 2 * B + 11, 10)).length, 0);
      equal((await store.read(2n, 5 * B, 10)).length, 0);
      equal((await store.read(99n, 0, 10)).length, 0);
      equal(await store.readInto(99n, 0, Buffer.alloc(10)), 0);
      equal(await store.physicalSize(99n), undefined);
    } finally {
      await store.close();
    }
  });

  test('contract 3: an overwrite inside synced bytes changes only those bytes', async () => {
    const store = await fresh().open();
    try {
      const data = Buffer.alloc(2 * B + 100);
      for (let i = 0; i < data.length; i++) data[i] = i % 251;
      await store.prepareWrite(3n, 0);
      await store.write(3n, 0, data);
      await store.sync(3n);
      await store.write(3n, B - 1, bytes('XY'));
      await store.sync(3n);
      bytes('XY').copy(data, B - 1);
      deepEqual(await store.read(3n, 0, data.length + 10), data);
      equal(await store.physicalSize(3n), data.length);
    } finally {
      await store.close();
    }
  });

  test('contract 4: synced bytes are there for a new store instance over the same storage', async () => {
    const storage = fresh();
    const first = await storage.open();
    const second = await storage.open();
    try {
      await first.prepareWrite(4n, 0);
      await first.write(4n, B - 2, bytes('durable'));
      await first.sync(4n);
      equal((await second.read(4n, B - 2, 100)).toString(), 'durable');
      equal(await second.physicalSize(4n), B + 5);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  test('contract 5: truncate shrinks; a later write past the end reads zeros where the cut bytes were', async () => {
    const store = await fresh().open();
    try {
      await store.prepareWrite(5n, 0);
      await store.write(5n, 0, Buffer.alloc(2 * B, 0x61));
      await store.sync(5n);
      await store.truncate(5n, B + 3);
      equal(await store.physicalSize(5n), B + 3);
      equal((await store.read(5n, B, 100)).length, 3);
      await store.write(5n, B + 10, bytes('Z'));
      await store.sync(5n);
      deepEqual(await store.read(5n, B, 100), Buffer.from('aaa\0\0\0\0\0\0\0Z'));
      await store.truncate(5n, 0);
      equal((await store.read(5n, 0, 10)).length, 0);
    } finally {
      await store.close();
    }
  });

  test('contract 6: prepareWrite cuts what an earlier run wrote past the committed size', async () => {
    const storage = fresh();
    const crashed = await storage.open();
    await crashed.prepareWrite(6n, 0);
    await crashed.write(6n, 0, Buffer.alloc(B + 50, 0x62));
    await crashed.sync(6n);
    await crashed.close();
    const store = await storage.open();
    try {
      await store.prepareWrite(6n, B - 1);
      equal(await store.physicalSize(6n), B - 1);
      await store.write(6n, B + 20, bytes('!'));
      await store.sync(6n);
      const back = await store.read(6n, B - 2, 100);
      deepEqual(back, Buffer.concat([bytes('b'), Buffer.alloc(21), bytes('!')]));
    } finally {
      await store.close();
    }
  });

  test('contract 7: remove deletes blobs; listBlobs lists the others', async () => {
    const storage = fresh();
    const store = await storage.open();
    try {
      for (const blob of [7n, 8n, 0x1234_5678_9abcn]) {
        await store.prepareWrite(blob, 0);
        await store.write(blob, B - 1, bytes('xy'));
        await store.sync(blob);
      }
      deepEqual(await listed(store), [7n, 8n, 0x1234_5678_9abcn]);
      await store.remove([8n, 0x1234_5678_9abcn, 404n]);
      deepEqual(await listed(store), [7n]);
      equal(await store.physicalSize(8n), undefined);
      equal((await store.read(8n, 0, 10)).length, 0);
      const other = await storage.open();
      deepEqual(await listed(other), [7n]);
      await other.close();
    } finally {
      await store.close();
    }
  });

  test('contract 8: an orderly close keeps writes that were never synced', async () => {
    const storage = fresh();
    const store = await storage.open();
    await store.prepareWrite(9n, 0);
    await store.write(9n, B - 4, bytes('unstable'));
    await store.close();
    const after = await storage.open();
    try {
      equal((await after.read(9n, B - 4, 100)).toString(), 'unstable');
    } finally {
      await after.close();
    }
  });

  test('contract 9: the probe is a real round trip; capacity is sane', async () => {
    const store = await fresh().open();
    try {
      await store.probe();
      const c = await store.capacity();
      ok(c.totalBytes > 0n && c.availBytes <= c.totalBytes && c.freeBytes <= c.totalBytes);
    } finally {
      await store.close();
    }
  });
}
