/**
 * An S3 overwrite or delete in a versioned bucket keeps the object it replaces as a noncurrent
 * version — the same inode, named now only in the versions tree. An NFS client still holding
 * its file handle, or an SMB client with it open, must not change what S3 keeps: their writes
 * and attribute changes are refused (NFS3ERR_PERM, STATUS_ACCESS_DENIED), the version reads
 * back byte for byte with its ETag, and made current again it is writable again.
 */
import { deepEqual, equal } from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { Proc, StableHow, statusName } from '../../src/protocols/nfs/v3/constants.ts';
import { CMD, DISPOSITION } from '../../src/protocols/smb/constants.ts';
import { ntStatusName } from '../../src/protocols/smb/deps.ts';
import { KEPT_VERSION_HOLD, ROOT } from '../../src/storage/types.ts';
import { bucketClients, smbFile } from '../faults/bucket-clients.ts';
import { A, R } from '../nfs-v3/wire.ts';
import { closeBody, writeBody } from '../smb/client.ts';

const BUCKET = 'kept';
const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const smbName = (status: number) => (status === 0 ? 'STATUS_SUCCESS' : ntStatusName(status));

describe('kept S3 versions are read-only for the NFS handles and SMB opens taken while they were current', () => {
  const on = bucketClients(BUCKET, async (s3) => {
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled' } }),
    );
  });

  const put = async (Key: string, Body: string) =>
    (await on.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body }))).VersionId!;
  const get = async (Key: string, VersionId?: string) => {
    const r = await on.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key, VersionId }));
    return { text: await r.Body!.transformToString(), etag: r.ETag };
  };
  const nfsHandle = async (name: string) => {
    const l = await on.nfs.call(Proc.LOOKUP, A.lookup(on.bucketFh, name), R.lookup);
    equal(statusName(l.status), 'NFS3_OK', `NFS LOOKUP ${name}`);
    return l.fh!;
  };
  const nfsWrite = async (fh: Buffer, text: string) =>
    statusName(
      (await on.nfs.call(Proc.WRITE, A.write(fh, 0n, Buffer.from(text), StableHow.FILE_SYNC), R.write))
        .status,
    );
  const nfsChmod = async (fh: Buffer) =>
    statusName((await on.nfs.call(Proc.SETATTR, A.setattr(fh, { mode: 0o600 }), R.wccOnly)).status);
  const smbOpen = (name: string) => smbFile(on, BUCKET, name, DISPOSITION.OPEN);
  const smbWrite = async (fid: Buffer, text: string) =>
    smbName(
      (await on.smb.request({ command: CMD.WRITE, body: writeBody(fid, 0n, Buffer.from(text)) })).status,
    );

  test('1 overwritten over S3: writes through the old handle and open are refused, the old version keeps its bytes and ETag, the new object is writable', async () => {
    const v1 = await put('report', 'version one');
    const oldFh = await nfsHandle('report');
    const oldFid = await smbOpen('report');
    const v2 = await put('report', 'version two');

    deepEqual(
      {
        nfsWrite: await nfsWrite(oldFh, 'SCRIBBLE'),
        nfsChmod: await nfsChmod(oldFh),
        smbWrite: await smbWrite(oldFid, 'SCRIBBLE'),
      },
      { nfsWrite: 'NFS3ERR_PERM', nfsChmod: 'NFS3ERR_PERM', smbWrite: 'STATUS_ACCESS_DENIED' },
    );
    await on.smb.request({ command: CMD.CLOSE, body: closeBody(oldFid) });
    deepEqual(await get('report', v1), { text: 'version one', etag: `"${md5('version one')}"` });
    deepEqual(await get('report', v2), { text: 'version two', etag: `"${md5('version two')}"` });

    // The current object is not held: written over NFS and SMB as usual.
    equal(await nfsWrite(await nfsHandle('report'), 'VERSION'), 'NFS3_OK');
    const fid = await smbOpen('report');
    equal(await smbWrite(fid, 'V'), 'STATUS_SUCCESS');
    await on.smb.request({ command: CMD.CLOSE, body: closeBody(fid) });
    equal((await get('report')).text, 'VERSION two');
    equal((await get('report', v1)).text, 'version one', 'the kept version did not change');
  });

  test('2 deleted over S3 (a marker): the kept object is read-only; made current again it is writable; deleted for good by its id', async () => {
    const v1 = await put('notes', 'first notes');
    const fh1 = await nfsHandle('notes');
    await on.s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'notes' }));
    equal(await nfsWrite(fh1, 'SCRIBBLE'), 'NFS3ERR_PERM', 'behind a delete marker');
    equal((await get('notes', v1)).text, 'first notes');

    // Deleting the marker makes the object current again: the same inode, writable again.
    const listed = await on.s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: 'notes' }));
    const marker = listed.DeleteMarkers![0]!.VersionId!;
    await on.s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'notes', VersionId: marker }));
    equal(await nfsWrite(fh1, 'FIRST'), 'NFS3_OK', 'current again');
    equal((await get('notes')).text, 'FIRST notes');

    // Overwritten again, the kept version (read-only) is deleted for good by its id.
    const v2 = await put('notes', 'second notes');
    equal(await nfsWrite(fh1, 'SCRIBBLE'), 'NFS3ERR_PERM');
    await on.s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'notes', VersionId: v1 }));
    const left = await on.s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: 'notes' }));
    deepEqual(
      (left.Versions ?? []).map((v) => v.VersionId),
      [v2],
    );
    equal(await nfsWrite(fh1, 'GONE'), 'NFS3ERR_STALE', 'its last name went: the handle is stale');
  });

  test('3 under Object Lock: kept, a version is read-only whatever its retention; made current again, its retention holds it', async () => {
    const Bucket = 'kept-locked';
    await on.s3.send(new CreateBucketCommand({ Bucket, ObjectLockEnabledForBucket: true }));
    const until = new Date(Math.floor(Date.now() / 1000) * 1000 + 3_600_000);
    const v1 = (
      await on.s3.send(
        new PutObjectCommand({
          Bucket,
          Key: 'ledger',
          Body: 'one',
          ObjectLockMode: 'GOVERNANCE',
          ObjectLockRetainUntilDate: until,
        }),
      )
    ).VersionId!;
    const ino = (await on.rig.gw.ns.resolvePath(ROOT, `/export/${Bucket}/ledger`)).ino;
    const holdOf = async () => (await on.rig.gw.ns.getattr(ino)).immutableUntilNs;
    equal(await holdOf(), BigInt(+until) * 1_000_000n, 'current: held by its retention');
    const v2 = (await on.s3.send(new PutObjectCommand({ Bucket, Key: 'ledger', Body: 'two' }))).VersionId!;
    equal(await holdOf(), KEPT_VERSION_HOLD, 'kept: read-only while kept');
    await on.s3.send(new DeleteObjectCommand({ Bucket, Key: 'ledger', VersionId: v2 }));
    equal(await holdOf(), BigInt(+until) * 1_000_000n, 'current again: held by its retention again');
    const r = await on.s3.send(new GetObjectCommand({ Bucket, Key: 'ledger' }));
    deepEqual([r.VersionId, await r.Body!.transformToString()], [v1, 'one']);
  });
});
