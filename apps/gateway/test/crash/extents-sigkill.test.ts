import { equal, ok } from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { type StoreServer, startStoreServer } from '../data-s3/store-server.ts';
import { NfsClient, StableHow, s3Client } from './clients.ts';
import { judge, versionBytes } from './ledger.ts';
import { CrashRig } from './rig.ts';
import { BUCKET } from './workload.ts';

/**
 * Found by postgres-sigkill.test.ts (CFS_CRASH_SEED=325838): a file S3 assembled from
 * multipart parts keeps its bytes in the parts' blobs and maps what NFS or SMB later write into
 * its own blob. Bytes written there and then cut away by a truncate stayed in the object store;
 * an UNSTABLE write over the same range recorded its extent at once and its bytes only at
 * COMMIT, so a SIGKILL in between showed the old, truncated bytes. With file data in an object
 * store the unsynced bytes are in the gateway's memory, so a SIGKILL loses them: what the file
 * then shows there must be zeros, never bytes from before.
 */
let store: StoreServer;
let rig: CrashRig;
before(async () => {
  store = await startStoreServer();
  rig = await CrashRig.create({ extraYaml: store.transportYaml('extents') });
});
after(async () => {
  await rig?.close();
  await store?.stop();
});

const KiB = 1024;

/** `key` as an S3 multipart upload of one part: a file whose bytes are in extents. */
async function multipartObject(key: string, body: Buffer): Promise<void> {
  const s3 = s3Client(rig.access);
  try {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const part = await s3.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: body }),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
  } finally {
    s3.destroy();
  }
}

for (const [n, cutTo] of [
  [1, 0],
  [2, 5000],
] as const) {
  test(`${n} a multipart object overwritten over NFS, truncated to ${cutTo}, written UNSTABLE, SIGKILLed before COMMIT: no byte from before the truncate`, async () => {
    const key = `mix/extents-${n}`;
    await multipartObject(key, versionBytes(`s3.part${n}`, 200 * KiB));
    let nfs = await NfsClient.mount(rig.access, '/export');
    const acked = versionBytes(`nfs.cut${n}`, 200 * KiB).subarray(0, cutTo);
    const unstable = versionBytes(`nfs.unstable${n}`, 128 * KiB);
    try {
      const fh = (await nfs.walk([BUCKET, ...key.split('/')]))!;
      // Old bytes into the file's own blob, durable; then cut away.
      await nfs.write(fh, 10_000, versionBytes(`nfs.old${n}`, 20 * KiB), StableHow.FILE_SYNC);
      await nfs.truncate(fh, cutTo);
      if (cutTo > 0) await nfs.write(fh, 0, acked, StableHow.FILE_SYNC);
      equal(await nfs.write(fh, 0, unstable, StableHow.UNSTABLE), StableHow.UNSTABLE);
    } finally {
      nfs.close();
    }
    await rig.kill();
    await rig.start();
    nfs = await NfsClient.mount(rig.access, '/export');
    try {
      const seen = await nfs.readAll((await nfs.walk([BUCKET, ...key.split('/')]))!);
      // The metadata (PostgreSQL-like: durable at commit) may keep the write's size.
      ok(seen.length === cutTo || seen.length === unstable.length, `size ${seen.length}`);
      const why = judge(
        { key, protocol: 'nfs', acked, pending: [{ op: 'write', offset: 0, data: unstable }] },
        seen,
      );
      equal(why, undefined, why);
    } finally {
      nfs.close();
    }
  });
}
