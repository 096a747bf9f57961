import { equal, match } from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ROOT } from '../../src/storage/types.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { awsCliRun, type S3Gateway, sdkClient, startS3Gateway } from './fixture.ts';
import { signed } from './raw.ts';

const BUCKET = 'checked';
const BODY = 'bytes with a checksum';

/**
 * Flexible checksums kept: the checksum a PUT's client sent is answered back on GET and HEAD
 * with `x-amz-checksum-mode: ENABLED` (the SDK then checks the bytes it reads against it) and
 * by GetObjectAttributes — while the content is the one it was computed for.
 */
describe('S3 stored checksums and GetObjectAttributes', () => {
  let g: S3Gateway;
  let key: { accessKeyId: string; secret: string };
  let s3: S3Client;
  let work: string;

  before(async () => {
    g = await startS3Gateway();
    key = await g.user('checker');
    s3 = sdkClient(g, key);
    work = makeTempDir('object-attributes');
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  after(async () => {
    s3?.destroy();
    await g?.stop();
  });

  test('1 a CRC32C sent with the PUT comes back on HEAD and GET (checksum mode), not on a range', async () => {
    const put = await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'a.txt', Body: BODY, ChecksumAlgorithm: 'CRC32C' }),
    );
    match(put.ChecksumCRC32C ?? '', /^[A-Za-z0-9+/]{6}==$/);
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: BUCKET, Key: 'a.txt', ChecksumMode: 'ENABLED' }),
    );
    equal(head.ChecksumCRC32C, put.ChecksumCRC32C);
    equal(head.ChecksumType, 'FULL_OBJECT');
    const got = await s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: 'a.txt', ChecksumMode: 'ENABLED' }),
    );
    equal(got.ChecksumCRC32C, put.ChecksumCRC32C);
    equal(await got.Body!.transformToString(), BODY, 'the SDK checked the bytes against it');
    const plain = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'a.txt' }));
    equal(plain.ChecksumCRC32C, undefined, 'only when asked');
    const ranged = await s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: 'a.txt', ChecksumMode: 'ENABLED', Range: 'bytes=0-4' }),
    );
    equal(ranged.ChecksumCRC32C, undefined);
    equal(await ranged.Body!.transformToString(), 'bytes');
  });

  test('2 content changed by another protocol: the old checksum is no longer answered, the read still checks out', async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'b.txt', Body: BODY, ChecksumAlgorithm: 'SHA256' }),
    );
    const file = await g.gw.ns.resolvePath(ROOT, `/export/${BUCKET}/b.txt`);
    // What an NFS WRITE or SMB WRITE does: the namespace call, as root.
    await g.gw.ns.write(ROOT, file.ino, 0n, Buffer.from('BYTES'), 'file');
    const got = await s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: 'b.txt', ChecksumMode: 'ENABLED' }),
    );
    equal(got.ChecksumSHA256, undefined);
    equal(await got.Body!.transformToString(), `BYTES${BODY.slice(5)}`);
  });

  test(
    '3 get-object-attributes (aws CLI): a single PUT and a multipart upload',
    requireTools('aws'),
    async () => {
      const aws = awsCliRun(g, key, work);
      const sha1 = createHash('sha1').update(BODY).digest('base64');
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'c.txt', Body: BODY, ChecksumSHA1: sha1 }));
      const all = ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'];
      const single = await aws(
        's3api',
        'get-object-attributes',
        '--bucket',
        BUCKET,
        '--key',
        'c.txt',
        '--object-attributes',
        ...all,
      );
      equal(single.code, 0, single.output);
      const s = JSON.parse(single.stdout);
      equal(s.ETag, createHash('md5').update(BODY).digest('hex'), 'unquoted, as S3 gives it');
      // (Debian's aws CLI predates ChecksumType in its model and leaves it out.)
      equal(s.Checksum.ChecksumSHA1, sha1);
      equal(s.ObjectParts, undefined, 'a single PUT has no parts');
      equal(s.StorageClass, 'STANDARD');
      equal(s.ObjectSize, BODY.length);
      match(s.LastModified, /^\d{4}-\d\d-\d\dT/);

      const big = join(work, 'big.bin');
      writeFileSync(big, Buffer.alloc(9 * 1024 * 1024, 3));
      const cp = await aws('s3', 'cp', big, `s3://${BUCKET}/big.bin`);
      equal(cp.code, 0, cp.output);
      const multi = await aws(
        's3api',
        'get-object-attributes',
        '--bucket',
        BUCKET,
        '--key',
        'big.bin',
        '--object-attributes',
        'ETag',
        'ObjectParts',
        'ObjectSize',
      );
      equal(multi.code, 0, multi.output);
      const m = JSON.parse(multi.stdout);
      match(m.ETag, /^[0-9a-f]{32}-2$/);
      equal(m.ObjectParts.TotalPartsCount, 2);
      equal(m.ObjectSize, 9 * 1024 * 1024);
    },
  );

  test('4 without attributes named, or with one S3 does not have: InvalidArgument', async () => {
    for (const [headers, why] of [
      [{}, /missing or empty/],
      [{ 'x-amz-object-attributes': 'ETag,Owner' }, /Invalid attribute name specified: Owner/],
      [{ 'x-amz-object-attributes': 'ETag', 'x-amz-max-parts': 'many' }, /x-amz-max-parts/],
    ] as Array<[Record<string, string>, RegExp]>) {
      const r = await signed(g, key, {
        method: 'GET',
        path: `/${BUCKET}/a.txt`,
        query: { attributes: '' },
        headers,
      });
      equal(r.status, 400, r.body);
      match(r.body, /<Code>InvalidArgument<\/Code>/);
      match(r.body, why);
    }
    const missing = await signed(g, key, {
      method: 'GET',
      path: `/${BUCKET}/nothing.txt`,
      query: { attributes: '' },
      headers: { 'x-amz-object-attributes': 'ETag' },
    });
    equal(missing.status, 404);
  });
});
