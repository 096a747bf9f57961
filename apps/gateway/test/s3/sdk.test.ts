import { deepEqual, equal, match, ok, rejects } from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ROOT } from '../../src/storage/types.ts';
import { type S3Gateway, sdkClient, startS3Gateway } from './fixture.ts';
import { signed } from './raw.ts';

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

async function s3Error(p: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof S3ServiceException) return { name: e.name, status: e.$metadata.httpStatusCode };
    throw e;
  }
  throw new Error('expected an S3 error');
}

describe('S3 with the AWS SDK: buckets and objects', () => {
  let g: S3Gateway;
  let c: S3Client;
  let key: { accessKeyId: string; secret: string };
  before(async () => {
    g = await startS3Gateway();
    key = await g.user('alice');
    c = sdkClient(g, key);
    await c.send(new CreateBucketCommand({ Bucket: 'photos' }));
  });
  after(() => g.stop());

  test('1 ListBuckets, HeadBucket, GetBucketLocation, CreateBucket twice, invalid names', async () => {
    const l = await c.send(new ListBucketsCommand({}));
    deepEqual(
      l.Buckets?.map((b) => b.Name),
      ['photos'],
    );
    await c.send(new HeadBucketCommand({ Bucket: 'photos' }));
    equal((await c.send(new GetBucketLocationCommand({ Bucket: 'photos' }))).LocationConstraint, undefined);
    deepEqual(await s3Error(c.send(new CreateBucketCommand({ Bucket: 'photos' }))), {
      name: 'BucketAlreadyOwnedByYou',
      status: 409,
    });
    equal((await s3Error(c.send(new HeadBucketCommand({ Bucket: 'nothere' })))).status, 404);
    equal((await s3Error(c.send(new CreateBucketCommand({ Bucket: 'Bad_Name' })))).name, 'InvalidBucketName');
    // Another region's constraint: S3's own code, and no bucket.
    deepEqual(
      await s3Error(
        c.send(
          new CreateBucketCommand({
            Bucket: 'elsewhere',
            CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
          }),
        ),
      ),
      { name: 'IllegalLocationConstraintException', status: 400 },
    );
    equal((await s3Error(c.send(new HeadBucketCommand({ Bucket: 'elsewhere' })))).status, 404);
  });

  test('2 PutObject streaming upload (aws-chunked, CRC32 trailer) stores the same bytes, ETag is the MD5', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const put = await c.send(
      new PutObjectCommand({
        Bucket: 'photos',
        Key: 'y/2024/a.bin',
        Body: Readable.from([data.subarray(0, 1000), data.subarray(1000)]),
        ContentLength: data.length,
        ChecksumAlgorithm: 'CRC32',
      }),
    );
    equal(put.ETag, `"${md5(data)}"`);
    ok(put.ChecksumCRC32, 'the CRC32 trailer was verified and echoed');
    const got = await c.send(new GetObjectCommand({ Bucket: 'photos', Key: 'y/2024/a.bin' }));
    ok(Buffer.from(await got.Body!.transformToByteArray()).equals(data));
    equal(got.ETag, `"${md5(data)}"`);
    // The namespace holds a file with the same bytes, owned by the key's user.
    const ns = g.gw.ns;
    const a = await ns.resolvePath(ROOT, '/export/photos/y/2024/a.bin');
    equal(a.size, BigInt(data.length));
    const u = await g.gw.control.users.get('alice');
    equal(a.uid, u!.uid);
    ok((await ns.read(ROOT, a.ino, 0n, data.length)).data.equals(data));
  });

  test('3 metadata: Content-Type, Cache-Control, Content-Disposition, Content-Encoding, Expires, x-amz-meta-*', async () => {
    const expires = new Date('2030-01-01T00:00:00Z');
    await c.send(
      new PutObjectCommand({
        Bucket: 'photos',
        Key: 'meta.txt',
        Body: 'hi',
        ContentType: 'text/x-test',
        CacheControl: 'max-age=60',
        ContentDisposition: 'attachment; filename="m.txt"',
        ContentEncoding: 'identity',
        Expires: expires,
        Metadata: { colour: 'blue', 'two-words': 'a b' },
      }),
    );
    const h = await c.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'meta.txt' }));
    equal(h.ContentType, 'text/x-test');
    equal(h.CacheControl, 'max-age=60');
    equal(h.ContentDisposition, 'attachment; filename="m.txt"');
    equal(h.ContentEncoding, 'identity');
    equal(h.ExpiresString ?? h.Expires?.toUTCString(), expires.toUTCString());
    deepEqual(h.Metadata, { colour: 'blue', 'two-words': 'a b' });
    equal(h.ContentLength, 2);
    const o = await c.send(
      new GetObjectCommand({
        Bucket: 'photos',
        Key: 'meta.txt',
        ResponseContentType: 'application/json',
        ResponseCacheControl: 'no-cache',
      }),
    );
    equal(o.ContentType, 'application/json');
    equal(o.CacheControl, 'no-cache');
    await o.Body!.transformToString();
  });

  test('4 Content-MD5 is checked: a wrong one is BadDigest and leaves nothing', async () => {
    const e = await s3Error(
      c.send(
        new PutObjectCommand({
          Bucket: 'photos',
          Key: 'bad-md5',
          Body: 'abc',
          ContentMD5: Buffer.alloc(16).toString('base64'),
        }),
      ),
    );
    equal(e.name, 'BadDigest');
    equal((await s3Error(c.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'bad-md5' })))).status, 404);
  });

  test('5 ranges: closed, open, suffix → 206; past the end → 416', async () => {
    const data = Buffer.from('0123456789');
    await c.send(new PutObjectCommand({ Bucket: 'photos', Key: 'digits', Body: data }));
    const part = async (Range: string) => {
      const r = await c.send(new GetObjectCommand({ Bucket: 'photos', Key: 'digits', Range }));
      return [r.$metadata.httpStatusCode, r.ContentRange, await r.Body!.transformToString()];
    };
    deepEqual(await part('bytes=2-4'), [206, 'bytes 2-4/10', '234']);
    deepEqual(await part('bytes=7-'), [206, 'bytes 7-9/10', '789']);
    deepEqual(await part('bytes=-3'), [206, 'bytes 7-9/10', '789']);
    deepEqual(
      await s3Error(c.send(new GetObjectCommand({ Bucket: 'photos', Key: 'digits', Range: 'bytes=10-' }))),
      { name: 'InvalidRange', status: 416 },
    );
    // The 416 says the object's size (RFC 9110 §15.5.17) and, in its XML, the range asked for.
    const past = await signed(g, key, {
      method: 'GET',
      path: '/photos/digits',
      headers: { range: 'bytes=10-' },
    });
    deepEqual([past.status, past.headers['content-range']], [416, 'bytes */10']);
    match(past.body, /<RangeRequested>bytes=10-<\/RangeRequested>/);
    // HEAD answers a range as GET does: 206 with the part's length, or 416.
    const head = await c.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'digits', Range: 'bytes=0-0' }));
    deepEqual(
      [head.$metadata.httpStatusCode, head.ContentLength, head.ContentRange],
      [206, 1, 'bytes 0-0/10'],
    );
    equal(
      (await s3Error(c.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'digits', Range: 'bytes=100-' }))))
        .status,
      416,
    );
    // An empty object keeps its own Content-Type on GET (not the XML of an error document).
    await c.send(
      new PutObjectCommand({ Bucket: 'photos', Key: 'empty.txt', Body: '', ContentType: 'text/plain' }),
    );
    const empty = await c.send(new GetObjectCommand({ Bucket: 'photos', Key: 'empty.txt' }));
    deepEqual(
      [empty.ContentType, empty.ContentLength, await empty.Body!.transformToString()],
      ['text/plain', 0, ''],
    );
    // A single-part object is one part: ?partNumber=1 is the whole object, 2 is past the end.
    const whole = await c.send(new GetObjectCommand({ Bucket: 'photos', Key: 'digits', PartNumber: 1 }));
    deepEqual([whole.$metadata.httpStatusCode, await whole.Body!.transformToString()], [200, '0123456789']);
    equal(
      (await s3Error(c.send(new GetObjectCommand({ Bucket: 'photos', Key: 'digits', PartNumber: 2 }))))
        .status,
      416,
    );
    // An object written with no Content-Type is binary/octet-stream, as S3 stores it (not a
    // type guessed from its key).
    const untyped = await signed(g, key, { method: 'PUT', path: '/photos/page.html', body: '<p>' });
    equal(untyped.status, 200);
    equal(
      (await c.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'page.html' }))).ContentType,
      'binary/octet-stream',
    );
  });

  test('5b conditional writes: If-None-Match: * creates only; If-Match replaces only the object it names; of racing creators one wins', async () => {
    const put = (Key: string, Body: string, o: { IfNoneMatch?: string; IfMatch?: string } = {}) =>
      c.send(new PutObjectCommand({ Bucket: 'photos', Key, Body, ...o }));
    const first = await put('cond-lock', 'run-1', { IfNoneMatch: '*' });
    deepEqual(await s3Error(put('cond-lock', 'run-2', { IfNoneMatch: '*' })), {
      name: 'PreconditionFailed',
      status: 412,
    });
    deepEqual(await s3Error(put('cond-lock', 'run-2', { IfMatch: `"${md5('other')}"` })), {
      name: 'PreconditionFailed',
      status: 412,
    });
    deepEqual(await s3Error(put('no-such', 'x', { IfMatch: first.ETag })), {
      name: 'NoSuchKey',
      status: 404,
    });
    const read = async (Key: string) =>
      (await c.send(new GetObjectCommand({ Bucket: 'photos', Key }))).Body!.transformToString();
    equal(await read('cond-lock'), 'run-1', 'refused writes changed nothing');
    await put('cond-lock', 'run-3', { IfMatch: first.ETag });
    equal(await read('cond-lock'), 'run-3');
    // If-None-Match names no ETag on a write: only "*" means something there.
    deepEqual(await s3Error(put('cond-lock', 'x', { IfNoneMatch: first.ETag })), {
      name: 'NotImplemented',
      status: 501,
    });
    // CopyObject's destination takes the same conditions.
    deepEqual(
      await s3Error(
        c.send(
          new CopyObjectCommand({
            Bucket: 'photos',
            Key: 'cond-lock',
            CopySource: 'photos/digits',
            IfNoneMatch: '*',
          }),
        ),
      ),
      { name: 'PreconditionFailed', status: 412 },
    );
    await c.send(
      new CopyObjectCommand({
        Bucket: 'photos',
        Key: 'cond-lock-copy',
        CopySource: 'photos/cond-lock',
        IfNoneMatch: '*',
      }),
    );
    equal(await read('cond-lock-copy'), 'run-3');
    // Eight writers race to create one key: exactly one succeeds, and its bytes are what is there.
    const racers = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => put('cond-race', `writer-${i}`, { IfNoneMatch: '*' })),
    );
    const won = racers.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    equal(won.length, 1, `one winner: ${JSON.stringify(racers.map((r) => r.status))}`);
    for (const r of racers) {
      if (r.status === 'rejected') equal((r.reason as S3ServiceException).name, 'PreconditionFailed');
    }
    equal(await read('cond-race'), `writer-${won[0]}`);
  });

  test('6 conditional GET: If-None-Match → 304, If-Match → 412, If-Modified-Since / If-Unmodified-Since', async () => {
    const etag = `"${md5('0123456789')}"`;
    equal(
      (await s3Error(c.send(new GetObjectCommand({ Bucket: 'photos', Key: 'digits', IfNoneMatch: etag }))))
        .status,
      304,
    );
    equal(
      (await s3Error(c.send(new GetObjectCommand({ Bucket: 'photos', Key: 'digits', IfMatch: '"nope"' }))))
        .status,
      412,
    );
    equal(
      (
        await s3Error(
          c.send(
            new GetObjectCommand({
              Bucket: 'photos',
              Key: 'digits',
              IfModifiedSince: new Date(Date.now() + 3600_000),
            }),
          ),
        )
      ).status,
      304,
    );
    equal(
      (
        await s3Error(
          c.send(
            new GetObjectCommand({
              Bucket: 'photos',
              Key: 'digits',
              IfUnmodifiedSince: new Date(Date.now() - 3600_000),
            }),
          ),
        )
      ).status,
      412,
    );
    const ok1 = await c.send(new GetObjectCommand({ Bucket: 'photos', Key: 'digits', IfMatch: etag }));
    equal(await ok1.Body!.transformToString(), '0123456789');
  });

  test('7 an object and a prefix of the same name: the second write is 409 ObjectPathConflict', async () => {
    await c.send(new PutObjectCommand({ Bucket: 'photos', Key: 'clash', Body: 'file' }));
    deepEqual(
      await s3Error(c.send(new PutObjectCommand({ Bucket: 'photos', Key: 'clash/inner', Body: 'x' }))),
      { name: 'ObjectPathConflict', status: 409 },
    );
    await c.send(new PutObjectCommand({ Bucket: 'photos', Key: 'dir2/inner', Body: 'x' }));
    deepEqual(await s3Error(c.send(new PutObjectCommand({ Bucket: 'photos', Key: 'dir2', Body: 'y' }))), {
      name: 'ObjectPathConflict',
      status: 409,
    });
    equal(
      await (
        await c.send(new GetObjectCommand({ Bucket: 'photos', Key: 'clash' }))
      ).Body!.transformToString(),
      'file',
    );
  });

  test('8 keys the tree cannot hold: a write is InvalidArgument, a read NoSuchKey and a delete done, as for a key not there; over 1,024 bytes KeyTooLongError', async () => {
    for (const Key of ['a//b', 'x/../y', 'x/./y', `long/${'s'.repeat(300)}`]) {
      const put = await s3Error(c.send(new PutObjectCommand({ Bucket: 'photos', Key, Body: 'x' })));
      equal(put.name, Key.startsWith('long/') ? 'KeyTooLongError' : 'InvalidArgument', Key);
      // HEAD has no body to carry a reason: a 400 there left clients with "Bad Request" alone.
      equal((await s3Error(c.send(new HeadObjectCommand({ Bucket: 'photos', Key })))).status, 404, Key);
      equal((await s3Error(c.send(new GetObjectCommand({ Bucket: 'photos', Key })))).name, 'NoSuchKey', Key);
      equal(
        (await s3Error(c.send(new GetObjectTaggingCommand({ Bucket: 'photos', Key })))).name,
        'NoSuchKey',
        Key,
      );
      equal(
        (await c.send(new DeleteObjectCommand({ Bucket: 'photos', Key }))).$metadata.httpStatusCode,
        204,
        Key,
      );
    }
    // As for any key: a bucket that is not there says so first; a version of it is NoSuchVersion.
    equal(
      (await s3Error(c.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'a//b' })))).name,
      'NoSuchBucket',
    );
    equal(
      (await s3Error(c.send(new GetObjectCommand({ Bucket: 'photos', Key: 'a//b', VersionId: 'null' }))))
        .name,
      'NoSuchVersion',
    );
    equal(
      (await s3Error(c.send(new PutObjectCommand({ Bucket: 'photos', Key: 'k'.repeat(1100), Body: 'x' }))))
        .name,
      'KeyTooLongError',
    );
  });

  test('9 listing order across the tree, delimiter, pagination (v1 and v2), start-after, encoding-type=url', async () => {
    await c.send(new CreateBucketCommand({ Bucket: 'order' }));
    const keys = ['a-b', 'a/x', 'a/y/z', 'a0', 'b/', 'b/c', 'c d+e', 'z/é', 'a/y/a-b'];
    for (const Key of keys)
      await c.send(new PutObjectCommand({ Bucket: 'order', Key, Body: Key.endsWith('/') ? '' : Key }));
    const sorted = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    const all = await c.send(new ListObjectsV2Command({ Bucket: 'order' }));
    deepEqual(
      all.Contents?.map((o) => o.Key),
      sorted,
    );
    equal(all.KeyCount, keys.length);
    const delim = await c.send(new ListObjectsV2Command({ Bucket: 'order', Delimiter: '/' }));
    deepEqual(
      delim.Contents?.map((o) => o.Key),
      ['a-b', 'a0', 'c d+e'],
    );
    deepEqual(
      delim.CommonPrefixes?.map((p) => p.Prefix),
      ['a/', 'b/', 'z/'],
    );
    const sub = await c.send(new ListObjectsV2Command({ Bucket: 'order', Delimiter: '/', Prefix: 'a/' }));
    deepEqual(
      sub.Contents?.map((o) => o.Key),
      ['a/x'],
    );
    deepEqual(
      sub.CommonPrefixes?.map((p) => p.Prefix),
      ['a/y/'],
    );
    deepEqual(
      (await c.send(new ListObjectsV2Command({ Bucket: 'order', Prefix: 'a' }))).Contents?.map((o) => o.Key),
      sorted.filter((k) => k.startsWith('a')),
    );
    // Pages of 2 with continuation tokens, then v1 with markers: the same sequence.
    const paged: string[] = [];
    let token: string | undefined;
    do {
      const p = await c.send(
        new ListObjectsV2Command({ Bucket: 'order', MaxKeys: 2, ContinuationToken: token }),
      );
      paged.push(...(p.Contents?.map((o) => o.Key!) ?? []));
      token = p.NextContinuationToken;
      ok(p.IsTruncated === (token !== undefined));
    } while (token);
    deepEqual(paged, sorted);
    const v1: string[] = [];
    let marker: string | undefined;
    for (;;) {
      const p = await c.send(new ListObjectsCommand({ Bucket: 'order', MaxKeys: 3, Marker: marker }));
      v1.push(...(p.Contents?.map((o) => o.Key!) ?? []));
      if (!p.IsTruncated) break;
      marker = p.NextMarker ?? p.Contents?.at(-1)?.Key;
    }
    deepEqual(v1, sorted);
    const after1 = await c.send(new ListObjectsV2Command({ Bucket: 'order', StartAfter: 'a/x' }));
    deepEqual(
      after1.Contents?.map((o) => o.Key),
      sorted.filter((k) => Buffer.compare(Buffer.from(k), Buffer.from('a/x')) > 0),
    );
    // Delimiter paging: CommonPrefixes are not repeated across pages.
    const dp: string[] = [];
    token = undefined;
    do {
      const p: ListObjectsV2CommandOutput = await c.send(
        new ListObjectsV2Command({ Bucket: 'order', Delimiter: '/', MaxKeys: 1, ContinuationToken: token }),
      );
      dp.push(...(p.Contents?.map((o) => o.Key!) ?? []), ...(p.CommonPrefixes?.map((x) => x.Prefix!) ?? []));
      token = p.NextContinuationToken;
    } while (token);
    deepEqual(dp, ['a-b', 'a/', 'a0', 'b/', 'c d+e', 'z/']);
    const url = await signed(g, key, {
      method: 'GET',
      path: '/order',
      query: { 'list-type': '2', 'encoding-type': 'url', prefix: 'c' },
    });
    match(url.body, /<Key>c%20d%2Be<\/Key>/);
    match(url.body, /<EncodingType>url<\/EncodingType>/);
  });

  test('10 DeleteObject is idempotent (204) and prunes emptied prefixes; DeleteObjects with quiet mode', async () => {
    await c.send(new PutObjectCommand({ Bucket: 'photos', Key: 'tmp/deep/one', Body: '1' }));
    await c.send(new DeleteObjectCommand({ Bucket: 'photos', Key: 'tmp/deep/one' }));
    equal(
      (await c.send(new DeleteObjectCommand({ Bucket: 'photos', Key: 'tmp/deep/one' }))).$metadata
        .httpStatusCode,
      204,
    );
    await rejects(g.gw.ns.resolvePath(ROOT, '/export/photos/tmp'), /ENOENT/);
    for (const Key of ['m/1', 'm/2', 'm/3'])
      await c.send(new PutObjectCommand({ Bucket: 'photos', Key, Body: Key }));
    const r = await c.send(
      new DeleteObjectsCommand({
        Bucket: 'photos',
        Delete: { Objects: [{ Key: 'm/1' }, { Key: 'm/2' }, { Key: 'never' }, { Key: 'bad//key' }] },
      }),
    );
    // A key no object can have here is deleted as one that is not there.
    deepEqual(r.Deleted?.map((d) => d.Key).sort(), ['bad//key', 'm/1', 'm/2', 'never']);
    equal(r.Errors, undefined);
    const q = await c.send(
      new DeleteObjectsCommand({ Bucket: 'photos', Delete: { Quiet: true, Objects: [{ Key: 'm/3' }] } }),
    );
    equal(q.Deleted, undefined);
    equal((await c.send(new ListObjectsV2Command({ Bucket: 'photos', Prefix: 'm/' }))).KeyCount, 0);
  });

  test('10b a DELETE that prunes the prefix while a PUT under it is linking: the PUT makes it again and succeeds', async () => {
    const { ns } = g.gw;
    await c.send(new PutObjectCommand({ Bucket: 'photos', Key: 'race/p/old', Body: 'old' }));
    // The interleaving made certain: as the PUT of race/p/new is about to link (its prefix
    // directory found), the DELETE of the prefix's last object runs and removes race/p.
    const link = ns.linkDetached.bind(ns);
    let deleted = false;
    ns.linkDetached = async (...args: Parameters<typeof link>) => {
      if (args[3] === 'new' && !deleted) {
        deleted = true;
        await c.send(new DeleteObjectCommand({ Bucket: 'photos', Key: 'race/p/old' }));
        await rejects(ns.resolvePath(ROOT, '/export/photos/race/p'), /ENOENT/);
      }
      return link(...args);
    };
    try {
      await c.send(new PutObjectCommand({ Bucket: 'photos', Key: 'race/p/new', Body: 'new' }));
    } finally {
      ns.linkDetached = link;
    }
    ok(deleted);
    const got = await c.send(new GetObjectCommand({ Bucket: 'photos', Key: 'race/p/new' }));
    equal(await got.Body!.transformToString(), 'new');
    await c.send(new DeleteObjectCommand({ Bucket: 'photos', Key: 'race/p/new' }));
  });

  test('11 CopyObject: COPY and REPLACE metadata, copy-source conditions, self-copy rules', async () => {
    await c.send(
      new PutObjectCommand({
        Bucket: 'photos',
        Key: 'src',
        Body: 'copy me',
        ContentType: 'text/plain',
        Metadata: { a: '1' },
      }),
    );
    const cp = await c.send(
      new CopyObjectCommand({ Bucket: 'photos', Key: 'dst/copied', CopySource: 'photos/src' }),
    );
    equal(cp.CopyObjectResult?.ETag, `"${md5('copy me')}"`);
    const h1 = await c.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'dst/copied' }));
    deepEqual([h1.ContentType, h1.Metadata], ['text/plain', { a: '1' }]);
    await c.send(
      new CopyObjectCommand({
        Bucket: 'photos',
        Key: 'dst/replaced',
        CopySource: 'photos/src',
        MetadataDirective: 'REPLACE',
        ContentType: 'text/x-new',
        Metadata: { b: '2' },
      }),
    );
    const h2 = await c.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'dst/replaced' }));
    deepEqual([h2.ContentType, h2.Metadata], ['text/x-new', { b: '2' }]);
    equal(
      (
        await s3Error(
          c.send(
            new CopyObjectCommand({
              Bucket: 'photos',
              Key: 'dst/x',
              CopySource: 'photos/src',
              CopySourceIfMatch: '"zzz"',
            }),
          ),
        )
      ).status,
      412,
    );
    equal(
      (
        await s3Error(
          c.send(new CopyObjectCommand({ Bucket: 'photos', Key: 'src', CopySource: 'photos/src' })),
        )
      ).name,
      'InvalidRequest',
    );
    await c.send(
      new CopyObjectCommand({
        Bucket: 'photos',
        Key: 'src',
        CopySource: 'photos/src',
        MetadataDirective: 'REPLACE',
        Metadata: { c: '3' },
      }),
    );
    const h3 = await c.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'src' }));
    deepEqual([h3.Metadata, h3.ETag], [{ c: '3' }, `"${md5('copy me')}"`]);
    equal(
      (
        await s3Error(
          c.send(new CopyObjectCommand({ Bucket: 'photos', Key: 'dst/y', CopySource: 'photos/missing' })),
        )
      ).name,
      'NoSuchKey',
    );
  });

  test('12 presigned GET and PUT URLs work with plain fetch', async () => {
    const putUrl = await getSignedUrl(c, new PutObjectCommand({ Bucket: 'photos', Key: 'presigned.txt' }), {
      expiresIn: 300,
    });
    const put = await fetch(putUrl, { method: 'PUT', body: 'via presign' });
    equal(put.status, 200);
    const getUrl = await getSignedUrl(c, new GetObjectCommand({ Bucket: 'photos', Key: 'presigned.txt' }), {
      expiresIn: 300,
    });
    const got = await fetch(getUrl);
    equal(await got.text(), 'via presign');
    ok(got.headers.get('x-amz-request-id'));
    const tampered = await fetch(getUrl.replace('presigned.txt', 'other.txt'));
    equal(tampered.status, 403);
  });

  test('13 directory markers: a key ending in / is an empty object and lists as such', async () => {
    await c.send(new PutObjectCommand({ Bucket: 'photos', Key: 'folder/', Body: '' }));
    const h = await c.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'folder/' }));
    equal(h.ContentLength, 0);
    const l = await c.send(new ListObjectsV2Command({ Bucket: 'photos', Prefix: 'folder' }));
    deepEqual(
      l.Contents?.map((o) => [o.Key, o.Size]),
      [['folder/', 0]],
    );
    await c.send(new DeleteObjectCommand({ Bucket: 'photos', Key: 'folder/' }));
    equal((await s3Error(c.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'folder/' })))).status, 404);
  });

  test('14 DeleteBucket: BucketNotEmpty, then 204 once empty', async () => {
    await c.send(new CreateBucketCommand({ Bucket: 'short-lived' }));
    await c.send(new PutObjectCommand({ Bucket: 'short-lived', Key: 'k', Body: 'v' }));
    deepEqual(await s3Error(c.send(new DeleteBucketCommand({ Bucket: 'short-lived' }))), {
      name: 'BucketNotEmpty',
      status: 409,
    });
    await c.send(new DeleteObjectCommand({ Bucket: 'short-lived', Key: 'k' }));
    equal((await c.send(new DeleteBucketCommand({ Bucket: 'short-lived' }))).$metadata.httpStatusCode, 204);
  });

  test('15 GET of a missing key is NoSuchKey with S3 XML and a request id', async () => {
    const r = await fetch(`${g.endpoint}/photos/nothing`, { headers: {} });
    equal(r.status, 403);
    const e = await s3Error(c.send(new GetObjectCommand({ Bucket: 'photos', Key: 'nothing' })));
    deepEqual(e, { name: 'NoSuchKey', status: 404 });
    match(await r.text(), /<Code>AccessDenied<\/Code>.*<RequestId>/s);
  });
});
