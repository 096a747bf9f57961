import { equal } from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { s3Client } from './clients.ts';
import { versionBytes } from './ledger.ts';
import { BUCKET } from './workload.ts';
import { eachDelay, killDuringWrite, WRITE_BYTES } from './write-window.ts';

/**
 * Found by the mixed-protocol crash bench. An S3 object keeps the MD5 recorded at its PUT for
 * as long as its change id stays; an NFS (or SMB) write in place cut short by a SIGKILL after
 * its bytes reached the blob leaves the change id where it was. Those bytes may be there (the
 * write was never acknowledged), but then the object must not go on claiming the old MD5.
 */
test('1 SIGKILL during an in-place NFS write to an S3 object: its ETag is the MD5 of what it serves, fsck clean', () =>
  // The ETag is checked after every attempt; fsck (the same finding) once at the end.
  eachDelay(Number.POSITIVE_INFINITY, async (rig, attempt, delay) => {
    const key = 'mix/etag-window';
    const s3 = s3Client(rig.access);
    try {
      const Body = versionBytes(`put${attempt}`, WRITE_BYTES);
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body }));
      await killDuringWrite(rig, key, `nfs${attempt}`, delay);
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      const body = Buffer.from(await got.Body!.transformToByteArray());
      equal(
        got.ETag?.replaceAll('"', ''),
        createHash('md5').update(body).digest('hex'),
        `SIGKILL ${delay} ms into the WRITE: the object holds "${body.subarray(0, body.indexOf(0x0a))}" but its ETag is not its MD5`,
      );
    } finally {
      s3.destroy();
    }
  }));
