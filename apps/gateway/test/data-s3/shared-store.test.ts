import { deepEqual, equal, ok } from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import pg from 'pg';
import type { S3DataStore } from '../../src/storage/data/s3-blobs.ts';
import { type OpenedNamespace, openNamespace } from '../../src/storage/open.ts';
import { BLOBS_PER_LOCK, underBlobLocks, underChunkLock } from '../../src/storage/postgres/advisory.ts';
import type { Credential } from '../../src/storage/types.ts';
import { type PostgresServer, requirePostgres, sharedPostgres } from '../support/postgres.ts';
import { holdNextCall } from '../support/signal.ts';
import { waitFor } from '../support/wait.ts';
import { BUCKET, type StoreServer, startStoreServer } from './store-server.ts';

/**
 * Two nodes on one PostgreSQL and one object store, kept apart as a cluster keeps them
 * (postgres/join-cluster.ts): advisory locks on a real PostgreSQL, pools of connections per
 * node. Each test holds one node between two steps (an upload between reading a chunk and
 * putting it back, a write between its bytes and its record, a move out of inline before it
 * is recorded) while the other node changes the file, and checks nothing either node did is
 * lost or comes back: 1–2 the data stores alone, 3–7 whole namespaces.
 */
const CS = 64 * 1024;
const KiB = 1024;
const KiBn = 1024n;
const ALICE: Credential = { uid: 1000, gid: 1000, gids: [] };

describe(
  'two nodes on one object store: what one node does to a file never undoes what the other did',
  requirePostgres(),
  () => {
    let server: StoreServer;
    let postgres: PostgresServer;
    let url: string;
    const pools: pg.Pool[] = [];
    const stores: S3DataStore[] = [];

    before(async () => {
      server = await startStoreServer();
      postgres = await sharedPostgres();
      url = await postgres.createDatabase();
    });
    after(async () => {
      await Promise.all(stores.map((s) => s.close().catch(() => {})));
      await Promise.all(pools.map((p) => p.end()));
      await server.stop();
    });

    async function node(prefix: string): Promise<S3DataStore> {
      const pool = new pg.Pool({ connectionString: url, max: 8 });
      pools.push(pool);
      const s = await server.open(prefix, { chunkSize: CS });
      s.guard = {
        chunk: (blob, index, work) => underChunkLock(pool, blob, index, work),
        blobs: (blobs, work) => underBlobLocks(pool, blobs, work),
        maxBlobs: BLOBS_PER_LOCK,
      };
      stores.push(s);
      return s;
    }

    async function objects(prefix: string): Promise<Array<[string, number]>> {
      const c = server.client();
      try {
        const r = await c.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
        return (r.Contents ?? []).map((o) => [o.Key ?? '', o.Size ?? 0]);
      } finally {
        c.destroy();
      }
    }

    /** Holds the store's next PUT (the upload has read the stored chunk by then) until released. */
    const holdPut = (s: S3DataStore) => holdNextCall(s.objects, 'put');

    /** Whether a process waits for an advisory lock on the test's database. */
    const waitingForLock = async () =>
      (
        await postgres.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`,
          [],
          url.slice(url.lastIndexOf('/') + 1),
        )
      )[0]!.n > 0;

    /** Node b uploads one chunk of `blob` past the first; `change` runs on node a while b holds its PUT. */
    async function raceUpload(
      a: S3DataStore,
      b: S3DataStore,
      blob: bigint,
      change: () => Promise<void>,
    ): Promise<Buffer> {
      const data = randomBytes(3 * CS);
      await a.prepareWrite(blob, 0);
      await a.write(blob, 0, data);
      await a.sync(blob);
      await b.write(blob, 2 * CS + 100, Buffer.from('written on node b'));
      const hold = holdPut(b);
      const upload = b.sync(blob);
      await hold.reached;
      let changed = false;
      const done = change().finally(() => {
        changed = true;
      });
      // Either the change finished (as it did before the blob lock) or it waits for the lock.
      await waitFor(async () => changed || (await waitingForLock()), 'node a to cut or to wait for the lock');
      hold.release();
      await Promise.all([upload, done]);
      return data;
    }

    test('1 a truncate on node a while node b uploads a chunk past the cut: the chunk stays deleted', async () => {
      const [a, b] = [await node('cut'), await node('cut')];
      const data = await raceUpload(a, b, 5n, () => a.truncate(5n, 10));
      deepEqual(await objects('cut/'), [['cut/blobs/0000000000000005/00000000', 10]]);
      b.invalidate(5n);
      deepEqual(await b.read(5n, 0, 3 * CS), data.subarray(0, 10));
    });

    test('2 a removal on node a while node b uploads a chunk of the blob: nothing of the blob is left', async () => {
      const [a, b] = [await node('remove'), await node('remove')];
      await raceUpload(a, b, 6n, () => a.remove([6n]));
      deepEqual(await objects('remove/'), []);
    });

    /** Nodes a and b as namespaces on the test's database and the store's `prefix`. */
    async function twoNodes(
      prefix: string,
      inlineMaxBytes: number,
    ): Promise<[OpenedNamespace, OpenedNamespace]> {
      const open = (nodeName: string) =>
        openNamespace({
          metadataUrl: url,
          transportUrl: `s3://${BUCKET}/${prefix}`,
          objectStore: server.settings({ chunkSize: CS }),
          inlineMaxBytes,
          nodeName,
        });
      return [await open('node-a'), await open('node-b')];
    }

    /**
     * Nodes a and b as namespaces on the test's database (a 16 KiB inline_max) and an 8 KiB
     * file made on node a; `race` runs with node a's move of the file out of inline held after
     * its bytes are stored, before it is recorded, until `release` is called. The file's bytes
     * are then read on both nodes, after both committed.
     */
    async function duringMove(
      prefix: string,
      race: (o: {
        a: OpenedNamespace;
        b: OpenedNamespace;
        ino: bigint;
        release: () => Promise<void>;
      }) => Promise<void>,
    ): Promise<{ head: Buffer; seen: Buffer[] }> {
      const [a, b] = await twoNodes(prefix, 16 * KiB);
      try {
        const exp = (await a.ensureDirectory('/export', 0o1777)).ino;
        const { ino } = await a.create(ALICE, exp, prefix, 0o644);
        const head = randomBytes(8 * KiB);
        await a.write(ALICE, ino, 0n, head, 'unstable');
        const recording = holdNextCall(a.meta, 'recordMove');
        const moving = a.write(ALICE, ino, 16n * KiBn, Buffer.alloc(4 * KiB, 0x61), 'unstable');
        await recording.reached;
        await race({
          a,
          b,
          ino,
          release: async () => {
            recording.release();
            await moving;
          },
        });
        await Promise.all([a.commit(ino), b.commit(ino)]);
        b.invalidate([ino]);
        const seen = [
          (await a.read(ALICE, ino, 0n, 64 * KiB)).data,
          (await b.read(ALICE, ino, 0n, 64 * KiB)).data,
        ];
        return { head, seen };
      } finally {
        await a.close();
        await b.close();
      }
    }

    /** Asserts both nodes read `expected`, naming the first 4 KiB block that differs. */
    function sameOnBoth(seen: Buffer[], expected: Buffer): void {
      for (const [i, bytes] of seen.entries()) {
        const node = i === 0 ? 'a' : 'b';
        equal(bytes.length, expected.length, `file size on node ${node}`);
        for (let at = 0; at < expected.length; at += 4 * KiB) {
          ok(
            bytes.subarray(at, at + 4 * KiB).equals(expected.subarray(at, at + 4 * KiB)),
            `bytes at ${at} on node ${node}`,
          );
        }
      }
    }

    test('3 a small file grows past inline_max on two nodes at once: one moves it to its blob, the other waits; both writes are kept', async () => {
      // Node b's write past inline_max either waits for node a's move (the move lock) or
      // moves the file itself, cutting the blob first — which deleted node a's bytes before.
      const { head, seen } = await duringMove('move', async ({ b, ino, release }) => {
        const bData = b.data as S3DataStore;
        const list = bData.objects.list.bind(bData.objects);
        let cut = false;
        bData.objects.list = (...args) => {
          cut = true;
          return list(...args);
        };
        const hold = holdPut(bData);
        let done = false;
        const onB = b.write(ALICE, ino, 20n * KiBn, Buffer.alloc(4 * KiB, 0x62), 'unstable').finally(() => {
          done = true;
        });
        await waitFor(
          async () => cut || done || (await waitingForLock()),
          'node b to move the file or to wait',
        );
        await release();
        hold.release();
        await onB;
      });
      sameOnBoth(
        seen,
        Buffer.concat([
          head,
          Buffer.alloc(8 * KiB),
          Buffer.alloc(4 * KiB, 0x61),
          Buffer.alloc(4 * KiB, 0x62),
        ]),
      );
    });

    test('4 a write kept inline on node b while node a moves the file out: the move copies again, with it', async () => {
      const { head, seen } = await duringMove('recopy', async ({ b, ino, release }) => {
        await b.write(ALICE, ino, 4n * KiBn, Buffer.alloc(4 * KiB, 0x62), 'unstable');
        await release();
      });
      sameOnBoth(
        seen,
        Buffer.concat([
          head.subarray(0, 4 * KiB),
          Buffer.alloc(4 * KiB, 0x62),
          Buffer.alloc(8 * KiB),
          Buffer.alloc(4 * KiB, 0x61),
        ]),
      );
    });

    /**
     * A file of 8 KiB written on `writer`; node b's stable write at 100,000 then holds between
     * its bytes (stored) and its record while `change` runs on node a, until node a's change
     * finished or waits for the file's size lock. What both nodes read after is returned.
     */
    async function duringStableWrite(
      prefix: string,
      writer: 'a' | 'b',
      change: (a: OpenedNamespace, ino: bigint) => Promise<unknown>,
    ): Promise<{ size: bigint; seen: Buffer[]; head: Buffer }> {
      const [a, b] = await twoNodes(prefix, 0);
      try {
        const exp = (await a.ensureDirectory('/export', 0o1777)).ino;
        const { ino } = await a.create(ALICE, exp, prefix, 0o644);
        const head = randomBytes(8 * KiB);
        await (writer === 'a' ? a : b).write(ALICE, ino, 0n, head, 'file');
        const recording = holdNextCall(b.meta, 'recordWrite');
        const written = b.write(ALICE, ino, 100_000n, Buffer.alloc(4 * KiB, 0x62), 'file');
        await recording.reached;
        a.invalidate([ino]);
        let done = false;
        const changed = change(a, ino).finally(() => {
          done = true;
        });
        await waitFor(
          async () => done || (await waitingForLock()),
          'node a to finish or to wait for the lock',
        );
        recording.release();
        await Promise.all([written, changed]);
        a.invalidate([ino]);
        b.invalidate([ino]);
        const { size } = await a.getattr(ino);
        const seen = [
          (await a.read(ALICE, ino, 0n, 200 * KiB)).data,
          (await b.read(ALICE, ino, 0n, 200 * KiB)).data,
        ];
        return { size, seen, head };
      } finally {
        await a.close();
        await b.close();
      }
    }

    test('5 a truncate on node a while node b’s stable write past the new end is between its bytes and its record: one order or the other', async () => {
      const { size, seen, head } = await duringStableWrite('truncate-write', 'a', (a, ino) =>
        a.setattr(ALICE, ino, { size: 10n }),
      );
      if (size === 10n) sameOnBoth(seen, head.subarray(0, 10));
      else {
        equal(size, 104_096n);
        sameOnBoth(
          seen,
          Buffer.concat([head.subarray(0, 10), Buffer.alloc(100_000 - 10), Buffer.alloc(4 * KiB, 0x62)]),
        );
      }
    });

    test('6 node a’s first write to a file trims its tail while node b’s stable write past the end waits for its record: node b’s bytes are kept', async () => {
      const { size, seen, head } = await duringStableWrite('trim-write', 'b', (a, ino) =>
        a.write(ALICE, ino, 0n, Buffer.alloc(4 * KiB, 0x61), 'file'),
      );
      equal(size, 104_096n);
      sameOnBoth(
        seen,
        Buffer.concat([
          Buffer.alloc(4 * KiB, 0x61),
          head.subarray(4 * KiB),
          Buffer.alloc(100_000 - 8 * KiB),
          Buffer.alloc(4 * KiB, 0x62),
        ]),
      );
    });

    test('7 a node that stored a write’s bytes past the end and died before recording it: once it is back, another node growing the file reads zeros there', async () => {
      const [a, b] = await twoNodes('restart', 0);
      let b2: OpenedNamespace | undefined;
      try {
        const exp = (await a.ensureDirectory('/export', 0o1777)).ino;
        const { ino } = await a.create(ALICE, exp, 'restart', 0o644);
        // Node a writes first: its tail check is done for this process life.
        await a.write(ALICE, ino, 0n, Buffer.alloc(8 * KiB, 0x61), 'file');
        // Node b's write past the end stored its bytes; its record never came (its process died).
        await b.data.write(ino, 100_000, Buffer.from('never recorded'));
        await b.data.sync(ino);
        await b.close();
        const heard = a.cluster!.startsHeard;
        b2 = await openNamespace({
          metadataUrl: url,
          transportUrl: `s3://${BUCKET}/restart`,
          objectStore: server.settings({ chunkSize: CS }),
          nodeName: 'node-b',
        });
        await waitFor(() => a.cluster!.startsHeard > heard, 'node a to hear node b start');
        await a.setattr(ALICE, ino, { size: 200_000n });
        b2.invalidate([ino]);
        for (const [name, ns] of [
          ['a', a],
          ['b', b2],
        ] as const) {
          const seen = (await ns.read(ALICE, ino, 0n, 200_000)).data;
          ok(
            seen.subarray(0, 8 * KiB).equals(Buffer.alloc(8 * KiB, 0x61)),
            `node ${name}: the written bytes`,
          );
          ok(
            seen.subarray(8 * KiB).equals(Buffer.alloc(200_000 - 8 * KiB)),
            `node ${name}: zeros past the old end`,
          );
        }
      } finally {
        await a.close();
        await b2?.close();
      }
    });
  },
);
