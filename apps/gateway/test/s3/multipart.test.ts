import { deepEqual, equal, ok } from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Gateway } from '../../src/daemon/gateway.ts';
import { createLogger } from '../../src/daemon/logger.ts';
import { ETAG_MD5_XATTR } from '../../src/storage/fsck/index.ts';
import { ROOT } from '../../src/storage/types.ts';
import { type S3Gateway, sdkClient, startS3Gateway } from './fixture.ts';

const MiB = 1024 * 1024;
const md5 = (b: Buffer) => createHash('md5').update(b).digest();

async function s3Error(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof S3ServiceException) return e.name;
    throw e;
  }
  throw new Error('expected an S3 error');
}

/** Detached inodes (uploads and parts in progress) the namespace holds. */
const detached = (g: S3Gateway) => g.gw.ns.meta.detached();

describe('S3 multipart uploads with the AWS SDK', () => {
  let g: S3Gateway;
  let c: S3Client;
  before(async () => {
    g = await startS3Gateway();
    c = sdkClient(g, await g.user('mpu'));
    await c.send(new CreateBucketCommand({ Bucket: 'big' }));
  });
  after(() => g.stop());

  test('1 lib-storage Upload (3 parts, CRC32) completes by composing parts: bytes, ETag md5-of-md5s-N, no parts left', async () => {
    const data = randomBytes(12 * MiB + 123);
    const up = new Upload({
      client: c,
      params: { Bucket: 'big', Key: 'v/movie.bin', Body: data, ContentType: 'video/x-test' },
      partSize: 5 * MiB,
      queueSize: 2,
    });
    const r = await up.done();
    const partMd5s = [
      data.subarray(0, 5 * MiB),
      data.subarray(5 * MiB, 10 * MiB),
      data.subarray(10 * MiB),
    ].map(md5);
    const expected = `"${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-3"`;
    equal(r.ETag, expected);
    const got = await c.send(new GetObjectCommand({ Bucket: 'big', Key: 'v/movie.bin' }));
    equal(got.ETag, expected);
    equal(got.ContentType, 'video/x-test');
    ok(Buffer.from(await got.Body!.transformToByteArray()).equals(data));
    equal((await detached(g)).length, 0);
    // A composite file: fsck's content-MD5 attribute is not set for multipart objects.
    const a = await g.gw.ns.resolvePath(ROOT, '/export/big/v/movie.bin');
    equal(await g.gw.ns.getXattr(a.ino, ETAG_MD5_XATTR), undefined);
    equal((await c.send(new ListMultipartUploadsCommand({ Bucket: 'big' }))).Uploads, undefined);
    // A part-wise download (the SDKs' multipart GET, ETag checkers): ?partNumber=N is part N.
    for (const [n, from, to] of [
      [1, 0, 5 * MiB],
      [3, 10 * MiB, data.length],
    ] as const) {
      const p = await c.send(new GetObjectCommand({ Bucket: 'big', Key: 'v/movie.bin', PartNumber: n }));
      equal(p.$metadata.httpStatusCode, 206);
      deepEqual(
        [p.PartsCount, p.ContentLength, p.ContentRange],
        [3, to - from, `bytes ${from}-${to - 1}/${data.length}`],
      );
      ok(Buffer.from(await p.Body!.transformToByteArray()).equals(data.subarray(from, to)), `part ${n}`);
    }
    const h2 = await c.send(new HeadObjectCommand({ Bucket: 'big', Key: 'v/movie.bin', PartNumber: 2 }));
    deepEqual([h2.PartsCount, h2.ContentLength], [3, 5 * MiB]);
    equal(
      await s3Error(c.send(new GetObjectCommand({ Bucket: 'big', Key: 'v/movie.bin', PartNumber: 4 }))),
      'InvalidPartNumber',
    );
  });

  test('2 ListParts and ListMultipartUploads; a re-sent part replaces the earlier one; Abort leaves nothing', async () => {
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: 'big', Key: 'pending/a' }));
    await c.send(
      new UploadPartCommand({
        Bucket: 'big',
        Key: 'pending/a',
        UploadId,
        PartNumber: 2,
        Body: Buffer.alloc(100, 2),
      }),
    );
    await c.send(
      new UploadPartCommand({
        Bucket: 'big',
        Key: 'pending/a',
        UploadId,
        PartNumber: 1,
        Body: Buffer.alloc(100, 1),
      }),
    );
    await c.send(
      new UploadPartCommand({
        Bucket: 'big',
        Key: 'pending/a',
        UploadId,
        PartNumber: 1,
        Body: Buffer.alloc(50, 9),
      }),
    );
    const parts = await c.send(new ListPartsCommand({ Bucket: 'big', Key: 'pending/a', UploadId }));
    deepEqual(
      parts.Parts?.map((p) => [p.PartNumber, p.Size]),
      [
        [1, 50],
        [2, 100],
      ],
    );
    equal((await detached(g)).length, 2);
    const ups = await c.send(new ListMultipartUploadsCommand({ Bucket: 'big' }));
    deepEqual(
      ups.Uploads?.map((u) => [u.Key, u.UploadId]),
      [['pending/a', UploadId]],
    );
    equal(
      (await c.send(new AbortMultipartUploadCommand({ Bucket: 'big', Key: 'pending/a', UploadId }))).$metadata
        .httpStatusCode,
      204,
    );
    equal((await detached(g)).length, 0);
    equal(
      await s3Error(c.send(new ListPartsCommand({ Bucket: 'big', Key: 'pending/a', UploadId }))),
      'NoSuchUpload',
    );
    equal((await c.send(new ListObjectsV2Command({ Bucket: 'big', Prefix: 'pending' }))).KeyCount, 0);
  });

  test('3 Complete checks the part list: InvalidPart, InvalidPartOrder, EntityTooSmall; the upload stays usable', async () => {
    const Key = 'checked';
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: 'big', Key }));
    const p1 = await c.send(
      new UploadPartCommand({ Bucket: 'big', Key, UploadId, PartNumber: 1, Body: Buffer.alloc(1000, 1) }),
    );
    const p2 = await c.send(
      new UploadPartCommand({ Bucket: 'big', Key, UploadId, PartNumber: 2, Body: Buffer.alloc(1000, 2) }),
    );
    const complete = (Parts: Array<{ PartNumber: number; ETag?: string }>) =>
      c.send(
        new CompleteMultipartUploadCommand({ Bucket: 'big', Key, UploadId, MultipartUpload: { Parts } }),
      );
    equal(
      await s3Error(complete([{ PartNumber: 1, ETag: '"00000000000000000000000000000000"' }])),
      'InvalidPart',
    );
    equal(await s3Error(complete([{ PartNumber: 3, ETag: p1.ETag }])), 'InvalidPart');
    equal(
      await s3Error(
        complete([
          { PartNumber: 2, ETag: p2.ETag },
          { PartNumber: 1, ETag: p1.ETag },
        ]),
      ),
      'InvalidPartOrder',
    );
    equal(
      await s3Error(
        complete([
          { PartNumber: 1, ETag: p1.ETag },
          { PartNumber: 2, ETag: p2.ETag },
        ]),
      ),
      'EntityTooSmall',
    );
    // A single small part is fine (the last part may be small); part 2 is dropped.
    const done = await complete([{ PartNumber: 1, ETag: p1.ETag }]);
    ok(done.ETag?.endsWith('-1"'));
    equal((await c.send(new HeadObjectCommand({ Bucket: 'big', Key }))).ContentLength, 1000);
    equal((await detached(g)).length, 0);
  });

  test('4 UploadPartCopy with ranges builds an object from another', async () => {
    const src = randomBytes(6 * MiB);
    await c.send(new PutObjectCommand({ Bucket: 'big', Key: 'copy-src', Body: src }));
    const Key = 'copy-dst';
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: 'big', Key }));
    const a = await c.send(
      new UploadPartCopyCommand({
        Bucket: 'big',
        Key,
        UploadId,
        PartNumber: 1,
        CopySource: 'big/copy-src',
        CopySourceRange: `bytes=0-${5 * MiB - 1}`,
      }),
    );
    const b = await c.send(
      new UploadPartCopyCommand({
        Bucket: 'big',
        Key,
        UploadId,
        PartNumber: 2,
        CopySource: 'big/copy-src',
        CopySourceRange: `bytes=${5 * MiB}-${6 * MiB - 1}`,
      }),
    );
    equal(a.CopyPartResult?.ETag, `"${md5(src.subarray(0, 5 * MiB)).toString('hex')}"`);
    await c.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'big',
        Key,
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: a.CopyPartResult?.ETag },
            { PartNumber: 2, ETag: b.CopyPartResult?.ETag },
          ],
        },
      }),
    );
    const got = await c.send(new GetObjectCommand({ Bucket: 'big', Key }));
    ok(Buffer.from(await got.Body!.transformToByteArray()).equals(src));
    equal(
      await s3Error(
        c.send(
          new UploadPartCopyCommand({
            Bucket: 'big',
            Key: 'x',
            UploadId: 'f'.repeat(32),
            PartNumber: 1,
            CopySource: 'big/copy-src',
          }),
        ),
      ),
      'NoSuchUpload',
    );
  });

  test('5 bad part numbers and unknown upload ids', async () => {
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: 'big', Key: 'nums' }));
    equal(
      await s3Error(
        c.send(new UploadPartCommand({ Bucket: 'big', Key: 'nums', UploadId, PartNumber: 10001, Body: 'x' })),
      ),
      'InvalidArgument',
    );
    equal(
      await s3Error(
        c.send(
          new UploadPartCommand({ Bucket: 'big', Key: 'nums', UploadId: 'nope', PartNumber: 1, Body: 'x' }),
        ),
      ),
      'NoSuchUpload',
    );
    equal(
      await s3Error(
        c.send(
          new UploadPartCommand({ Bucket: 'big', Key: 'other-key', UploadId, PartNumber: 1, Body: 'x' }),
        ),
      ),
      'NoSuchUpload',
    );
    await c.send(new AbortMultipartUploadCommand({ Bucket: 'big', Key: 'nums', UploadId }));
  });

  test('6 ListMultipartUploads pages through every upload of one key in initiation order, and past a common prefix once', async () => {
    await c.send(new CreateBucketCommand({ Bucket: 'paged' }));
    const started: string[] = [];
    for (let i = 0; i < 7; i++) {
      started.push(
        (await c.send(new CreateMultipartUploadCommand({ Bucket: 'paged', Key: 'same' }))).UploadId!,
      );
    }
    for (const Key of ['dir/a', 'dir/b', 'dir/c', 'zz']) {
      await c.send(new CreateMultipartUploadCommand({ Bucket: 'paged', Key }));
    }
    /** Every page with max-uploads 2 (as a paginator asks), until IsTruncated is false. */
    async function pages(Delimiter?: string) {
      const seen: string[] = [];
      let KeyMarker: string | undefined;
      let UploadIdMarker: string | undefined;
      for (let n = 0; n < 20; n++) {
        const r = await c.send(
          new ListMultipartUploadsCommand({
            Bucket: 'paged',
            MaxUploads: 2,
            KeyMarker,
            UploadIdMarker,
            Delimiter,
          }),
        );
        for (const u of r.Uploads ?? []) seen.push(`${u.Key} ${u.UploadId}`);
        for (const p of r.CommonPrefixes ?? []) seen.push(`prefix ${p.Prefix}`);
        if (!r.IsTruncated) return seen;
        ({ NextKeyMarker: KeyMarker, NextUploadIdMarker: UploadIdMarker } = r);
      }
      throw new Error(`still truncated after 20 pages: ${seen.join(', ')}`);
    }
    const all = await pages();
    deepEqual(
      all.filter((l) => l.startsWith('same ')),
      started.map((id) => `same ${id}`),
      'all seven, in the order they were started',
    );
    deepEqual(
      all.filter((l) => !l.startsWith('same ')).map((l) => l.split(' ')[0]),
      ['dir/a', 'dir/b', 'dir/c', 'zz'],
    );
    const rolled = await pages('/');
    deepEqual(
      rolled.filter((l) => l.startsWith('prefix ')),
      ['prefix dir/'],
      'the prefix once (the aws CLI stops at a repeated NextKeyMarker)',
    );
    deepEqual(
      rolled.filter((l) => !l.startsWith('prefix ')),
      [...started.map((id) => `same ${id}`), all.at(-1)],
      'and every upload outside it',
    );
  });

  test('7 Complete with If-None-Match: * over an existing object is 412 and leaves the upload to complete later; If-Match completes over the object it names', async () => {
    const Key = 'lock-file';
    await c.send(new PutObjectCommand({ Bucket: 'big', Key, Body: 'held' }));
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: 'big', Key }));
    const p1 = await c.send(
      new UploadPartCommand({ Bucket: 'big', Key, UploadId, PartNumber: 1, Body: Buffer.alloc(1000, 7) }),
    );
    const complete = (o: { IfNoneMatch?: string; IfMatch?: string }) =>
      c.send(
        new CompleteMultipartUploadCommand({
          Bucket: 'big',
          Key,
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }] },
          ...o,
        }),
      );
    equal(await s3Error(complete({ IfNoneMatch: '*' })), 'PreconditionFailed');
    equal(await s3Error(complete({ IfMatch: '"0123456789abcdef0123456789abcdef"' })), 'PreconditionFailed');
    const held = await c.send(new GetObjectCommand({ Bucket: 'big', Key }));
    equal(await held.Body!.transformToString(), 'held', 'the object is untouched');
    const parts = await c.send(new ListPartsCommand({ Bucket: 'big', Key, UploadId }));
    equal(parts.Parts?.length, 1, 'the upload is still there, its part too');
    const done = await complete({ IfMatch: held.ETag });
    ok(done.ETag?.endsWith('-1"'));
    equal((await c.send(new HeadObjectCommand({ Bucket: 'big', Key }))).ContentLength, 1000);
    equal((await detached(g)).length, 0);
  });

  test('8 DeleteBucket takes its uploads in progress with it: their parts are freed, and a new bucket of the same name starts with none', async () => {
    await c.send(new CreateBucketCommand({ Bucket: 'short-lived' }));
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: 'short-lived', Key: 'k' }));
    await c.send(
      new UploadPartCommand({
        Bucket: 'short-lived',
        Key: 'k',
        UploadId,
        PartNumber: 1,
        Body: Buffer.alloc(6 * 1024 * 1024, 3),
      }),
    );
    ok((await detached(g)).length > 0, 'a part is held');
    await c.send(new DeleteBucketCommand({ Bucket: 'short-lived' }));
    equal((await detached(g)).length, 0, 'its part went with the bucket');
    await c.send(new CreateBucketCommand({ Bucket: 'short-lived' }));
    const listed = await c.send(new ListMultipartUploadsCommand({ Bucket: 'short-lived' }));
    equal(listed.Uploads?.length ?? 0, 0, 'the new bucket has no upload of the old one');
    equal(
      await s3Error(c.send(new ListPartsCommand({ Bucket: 'short-lived', Key: 'k', UploadId }))),
      'NoSuchUpload',
    );
  });
});

describe('S3 multipart state survives a gateway restart', () => {
  test('1 parts uploaded before a restart complete after it; orphaned part files are swept', async () => {
    const g = await startS3Gateway();
    const key = await g.user('restart');
    let c = sdkClient(g, key);
    await c.send(new CreateBucketCommand({ Bucket: 'rrr' }));
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: 'rrr', Key: 'k' }));
    const p1 = await c.send(
      new UploadPartCommand({
        Bucket: 'rrr',
        Key: 'k',
        UploadId,
        PartNumber: 1,
        Body: Buffer.alloc(5 * MiB, 7),
      }),
    );
    const p2 = await c.send(
      new UploadPartCommand({ Bucket: 'rrr', Key: 'k', UploadId, PartNumber: 2, Body: 'tail' }),
    );
    // A part file no manifest names (as a crash between write and record would leave).
    const orphan = await g.gw.ns.createDetached(ROOT, 0o644, 'multipart', UploadId!);
    const config = g.gw.config;
    await g.stop();
    const gw2 = new Gateway(config, ['s3'], createLogger('error', { pretty: false }));
    await gw2.start();
    try {
      ok(!(await gw2.ns.meta.detached()).some((d) => d.ino === orphan.ino), 'orphan swept');
      equal((await gw2.ns.meta.detached()).length, 2);
      c = sdkClient({ ...g, gw: gw2 }, key);
      const parts = await c.send(new ListPartsCommand({ Bucket: 'rrr', Key: 'k', UploadId }));
      equal(parts.Parts?.length, 2);
      await c.send(
        new CompleteMultipartUploadCommand({
          Bucket: 'rrr',
          Key: 'k',
          UploadId,
          MultipartUpload: {
            Parts: [
              { PartNumber: 1, ETag: p1.ETag },
              { PartNumber: 2, ETag: p2.ETag },
            ],
          },
        }),
      );
      equal((await c.send(new HeadObjectCommand({ Bucket: 'rrr', Key: 'k' }))).ContentLength, 5 * MiB + 4);
      equal((await gw2.ns.meta.detached()).length, 0);
    } finally {
      await gw2.stop();
    }
  });
});
