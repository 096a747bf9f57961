import { equal } from 'node:assert/strict';
import { after, before } from 'node:test';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { Nfsstat3, Proc } from '../../src/protocols/nfs/v3/constants.ts';
import { CMD, DISPOSITION, OPTION } from '../../src/protocols/smb/constants.ts';
import { ntStatusName } from '../../src/protocols/smb/deps.ts';
import { A, R } from '../nfs-v3/wire.ts';
import { createBody, fileIdOf, type TestClient } from '../smb/client.ts';
import { type NfsSession, Rig } from './rig.ts';

/** A rig's bucket with one client of each protocol on it, for cross-protocol tests. */
export interface BucketClients {
  rig: Rig;
  s3: S3Client;
  nfs: NfsSession;
  smb: TestClient;
  /** The bucket's NFS file handle. */
  bucketFh: Buffer;
}

/**
 * A rig (NFS, S3, SMB) started before the suite's tests and stopped after them, with `bucket`
 * made over S3 (then `prepare`d: versioning, …), an NFS session holding its handle, and an SMB
 * session on the share.
 */
export function bucketClients(bucket: string, prepare?: (s3: S3Client) => Promise<void>): BucketClients {
  const ctx = {} as BucketClients;
  before(async () => {
    ctx.rig = await Rig.start();
    ctx.s3 = ctx.rig.s3();
    await ctx.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await prepare?.(ctx.s3);
    ctx.nfs = await ctx.rig.nfs();
    const found = await ctx.nfs.call(Proc.LOOKUP, A.lookup(ctx.nfs.root, bucket), R.lookup);
    equal(found.status, Nfsstat3.OK, `NFS LOOKUP ${bucket}`);
    ctx.bucketFh = found.fh!;
    ctx.smb = await ctx.rig.smb();
  });
  after(async () => {
    ctx.nfs?.close();
    ctx.smb?.close();
    ctx.s3?.destroy();
    await ctx.rig?.stop();
  });
  return ctx;
}

/**
 * An SMB CREATE of the file `name` in `bucket` (created with DISPOSITION.CREATE, or opened with
 * DISPOSITION.OPEN), which must succeed: its file id.
 */
export async function smbFile(
  on: BucketClients,
  bucket: string,
  name: string,
  disposition: number,
): Promise<Buffer> {
  const c = await on.smb.request({
    command: CMD.CREATE,
    body: createBody(`${bucket}\\${name}`, { disposition, options: OPTION.NON_DIRECTORY_FILE }),
  });
  const what = disposition === DISPOSITION.CREATE ? 'create' : 'open';
  equal(c.status === 0 ? 'STATUS_SUCCESS' : ntStatusName(c.status), 'STATUS_SUCCESS', `SMB ${what} ${name}`);
  return fileIdOf(c);
}
