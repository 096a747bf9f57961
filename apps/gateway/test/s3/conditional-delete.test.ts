import { deepEqual, equal, rejects } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type S3Gateway, sdkClient, startS3Gateway } from './fixture.ts';

/**
 * Conditional deletes (S3 since 2025-09) through @aws-sdk/client-s3: DeleteObject's IfMatch,
 * IfMatchSize and IfMatchLastModifiedTime, a DeleteObjects entry's ETag. A delete whose
 * condition fails deletes nothing; one with no object to check is NoSuchKey.
 */
describe('conditional deletes (@aws-sdk/client-s3)', () => {
  let g: S3Gateway;
  let s3: S3Client;
  const put = async (Bucket: string, Key: string, Body: string) =>
    (await s3.send(new PutObjectCommand({ Bucket, Key, Body }))).ETag!;
  const exists = (Bucket: string, Key: string) =>
    s3.send(new HeadObjectCommand({ Bucket, Key })).then(
      () => true,
      () => false,
    );
  const refusedAs = (name: string) => (e: unknown) => (e as Error).name === name;

  before(async () => {
    g = await startS3Gateway();
    s3 = sdkClient(g, await g.user('cond'));
    await s3.send(new CreateBucketCommand({ Bucket: 'cond' }));
    await s3.send(new CreateBucketCommand({ Bucket: 'cond-versioned' }));
    await s3.send(
      new PutBucketVersioningCommand({
        Bucket: 'cond-versioned',
        VersioningConfiguration: { Status: 'Enabled' },
      }),
    );
  });
  after(async () => {
    s3?.destroy();
    await g?.stop();
  });

  test('1 IfMatch: another ETag is 412 and the object stays; its own ETag deletes it; IfMatch "*" with no object is NoSuchKey', async () => {
    const etag = await put('cond', 'lock', 'held by me');
    await rejects(
      s3.send(new DeleteObjectCommand({ Bucket: 'cond', Key: 'lock', IfMatch: '"0000000000000000"' })),
      refusedAs('PreconditionFailed'),
    );
    equal(await exists('cond', 'lock'), true, 'a failed condition deletes nothing');
    await s3.send(new DeleteObjectCommand({ Bucket: 'cond', Key: 'lock', IfMatch: etag }));
    equal(await exists('cond', 'lock'), false);
    await rejects(
      s3.send(new DeleteObjectCommand({ Bucket: 'cond', Key: 'lock', IfMatch: '*' })),
      refusedAs('NoSuchKey'),
    );
  });

  test('2 IfMatchSize and IfMatchLastModifiedTime: another size or time is 412; the object’s own delete it', async () => {
    await put('cond', 'sized', 'twelve bytes');
    await rejects(
      s3.send(new DeleteObjectCommand({ Bucket: 'cond', Key: 'sized', IfMatchSize: 99 })),
      refusedAs('PreconditionFailed'),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'cond', Key: 'sized' }));
    await rejects(
      s3.send(
        new DeleteObjectCommand({
          Bucket: 'cond',
          Key: 'sized',
          IfMatchLastModifiedTime: new Date(head.LastModified!.getTime() - 60_000),
        }),
      ),
      refusedAs('PreconditionFailed'),
    );
    equal(await exists('cond', 'sized'), true);
    await s3.send(
      new DeleteObjectCommand({
        Bucket: 'cond',
        Key: 'sized',
        IfMatchSize: 12,
        IfMatchLastModifiedTime: head.LastModified,
      }),
    );
    equal(await exists('cond', 'sized'), false);
  });

  test('3 DeleteObjects: an entry whose ETag is not the object’s is a PreconditionFailed error and stays; the others go', async () => {
    const keep = await put('cond', 'multi-keep', 'kept');
    const go = await put('cond', 'multi-go', 'goes');
    const r = await s3.send(
      new DeleteObjectsCommand({
        Bucket: 'cond',
        Delete: {
          Objects: [
            { Key: 'multi-keep', ETag: keep.replace(/.(")$/, '0$1') },
            { Key: 'multi-go', ETag: go },
            { Key: 'multi-none', ETag: go },
          ],
        },
      }),
    );
    deepEqual(
      r.Deleted?.map((d) => d.Key),
      ['multi-go'],
    );
    deepEqual(
      r.Errors?.map((e) => [e.Key, e.Code]),
      [
        ['multi-keep', 'PreconditionFailed'],
        ['multi-none', 'NoSuchKey'],
      ],
    );
    equal(await exists('cond', 'multi-keep'), true);
    equal(await exists('cond', 'multi-go'), false);
  });

  test('4 a versioned bucket: a matching IfMatch puts a delete marker in place; IfMatch "*" then finds no object (NoSuchKey); a version named with IfMatch is 501', async () => {
    const etag = await put('cond-versioned', 'v', 'version one');
    await rejects(
      s3.send(new DeleteObjectCommand({ Bucket: 'cond-versioned', Key: 'v', IfMatch: '"ffffffff"' })),
      refusedAs('PreconditionFailed'),
    );
    const done = await s3.send(
      new DeleteObjectCommand({ Bucket: 'cond-versioned', Key: 'v', IfMatch: etag }),
    );
    equal(done.DeleteMarker, true);
    await rejects(
      s3.send(new DeleteObjectCommand({ Bucket: 'cond-versioned', Key: 'v', IfMatch: '*' })),
      refusedAs('NoSuchKey'),
    );
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: 'cond-versioned', Prefix: 'v' }));
    equal(versions.Versions?.length, 1, 'the object is kept as a version');
    equal(versions.DeleteMarkers?.length, 1, 'one marker: the refused deletes made none');
    await rejects(
      s3.send(
        new DeleteObjectCommand({
          Bucket: 'cond-versioned',
          Key: 'v',
          VersionId: versions.Versions![0]!.VersionId,
          IfMatch: etag,
        }),
      ),
      refusedAs('NotImplemented'),
    );
  });
});
