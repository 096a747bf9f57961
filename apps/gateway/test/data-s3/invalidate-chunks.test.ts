import { ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3DataStore } from '../../src/storage/data/s3-blobs.ts';
import { type OpenedNamespace, openNamespace } from '../../src/storage/open.ts';
import type { Credential } from '../../src/storage/types.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { BUCKET, type StoreServer, startStoreServer } from './store-server.ts';

const ALICE: Credential = { uid: 1000, gid: 1000, gids: [] };
const CS = 64 * 1024;

/**
 * The operator's cache invalidation over an object store (RUNBOOK Data Inconsistency): chunks
 * changed in the bucket behind the gateway's back are read from the bucket once the file's
 * cached chunks are dropped — by path (its inode) or by its owner.
 */
describe('invalidation drops the chunk cache of the files it names', () => {
  let server: StoreServer;
  let ns: OpenedNamespace;
  let data: S3DataStore;
  let exp: bigint;
  const dir = makeTempDir('ns-s3-invalidate');

  before(async () => {
    server = await startStoreServer();
    data = await server.open('inv', { chunkSize: CS });
    ns = await openNamespace({
      metadataUrl: `sqlite://${dir}/meta.db`,
      transportUrl: `file://${dir}/unused`,
      wrapStores: (stores) => ({ ...stores, data }),
    });
    exp = (await ns.ensureDirectory('/export', 0o1777)).ino;
  });
  after(async () => {
    await ns?.close();
    await server?.stop();
  });

  /** Replaces the first chunk of `blob` in the bucket, as another tool or a restore would. */
  const replaceChunk = async (blob: bigint, bytes: Buffer) => {
    const c = server.client();
    try {
      await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: data.objectKey(blob, 0), Body: bytes }));
    } finally {
      c.destroy();
    }
  };
  const head = async (ino: bigint) => (await ns.read(ALICE, ino, 0n, 16)).data;

  test("1 a file's own blob: another owner's invalidation keeps its chunks, its owner's and its inode's drop them", async () => {
    const f = await ns.create(ALICE, exp, 'own', 0o644);
    await ns.write(ALICE, f.ino, 0n, Buffer.alloc(CS + 100, 0x61));
    ok((await head(f.ino)).equals(Buffer.alloc(16, 0x61)), 'read once: its chunk is cached');
    await replaceChunk(f.ino, Buffer.alloc(CS, 0x62));
    await ns.dropFileDataOf(ALICE.uid + 1);
    ok((await head(f.ino)).equals(Buffer.alloc(16, 0x61)), "another uid's drop keeps the cached chunk");
    await ns.dropFileDataOf(ALICE.uid);
    ok((await head(f.ino)).equals(Buffer.alloc(16, 0x62)), "the owner's drop reads the bucket");
    await replaceChunk(f.ino, Buffer.alloc(CS, 0x63));
    await ns.dropFileData([f.ino]);
    ok((await head(f.ino)).equals(Buffer.alloc(16, 0x63)), "the inode's drop reads the bucket");
  });

  test("2 a composed file (S3 multipart): its parts' blobs are dropped with it, by inode and by owner", async () => {
    const parts: bigint[] = [];
    for (const fill of [0x41, 0x42]) {
      const p = await ns.createDetached(ALICE, 0o644, 'multipart');
      await ns.write(ALICE, p.ino, 0n, Buffer.alloc(CS, fill));
      parts.push(p.ino);
    }
    const composed = await ns.compose(ALICE, parts, 'upload');
    const f = await ns.linkDetached(ALICE, composed.ino, exp, 'composed', true);
    ok((await head(f.ino)).equals(Buffer.alloc(16, 0x41)), 'read once: the first part is cached');
    await replaceChunk(parts[0]!, Buffer.alloc(CS, 0x5a));
    await ns.dropFileData([f.ino]);
    ok((await head(f.ino)).equals(Buffer.alloc(16, 0x5a)), "the file's drop reads its part from the bucket");
    await replaceChunk(parts[0]!, Buffer.alloc(CS, 0x59));
    await ns.dropFileDataOf(ALICE.uid);
    ok((await head(f.ino)).equals(Buffer.alloc(16, 0x59)), "the owner's drop reads its part from the bucket");
  });
});
