import { deepEqual, equal, match, notEqual, ok, rejects } from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandOutput,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { keyPath } from '../../src/protocols/s3/keys.ts';
import { DAY_MS } from '../../src/protocols/s3/lifecycle/rules.ts';
import { LifecycleSweeper } from '../../src/protocols/s3/lifecycle/sweeper.ts';
import { runFsck } from '../../src/storage/fsck/index.ts';
import { ROOT } from '../../src/storage/types.ts';
import type { RunResult } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { awsCliRun, type S3Gateway, s3EnvOf, sdkClient, startS3Gateway } from './fixture.ts';
import { signed, xmlCode } from './raw.ts';

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

async function s3Error(
  p: Promise<unknown>,
): Promise<{ name: string; status: number | undefined; headers: Record<string, string> }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof S3ServiceException) {
      const headers = (e.$response?.headers ?? {}) as Record<string, string>;
      return { name: e.name, status: e.$metadata.httpStatusCode, headers };
    }
    throw e;
  }
  throw new Error('expected an S3 error');
}

type Listed = { key: string; id: string; latest: boolean; marker: boolean; etag?: string };

/** Every version and delete marker of the bucket (all pages), in the order S3 lists them. */
async function allVersions(c: S3Client, Bucket: string, extra: { Prefix?: string; MaxKeys?: number } = {}) {
  const out: Listed[] = [];
  let KeyMarker: string | undefined;
  let VersionIdMarker: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const r: ListObjectVersionsCommandOutput = await c.send(
      new ListObjectVersionsCommand({ Bucket, KeyMarker, VersionIdMarker, ...extra }),
    );
    const page: Array<Listed & { at: number }> = [];
    for (const v of r.Versions ?? [])
      page.push({
        key: v.Key!,
        id: v.VersionId!,
        latest: v.IsLatest!,
        marker: false,
        etag: v.ETag!,
        at: +v.LastModified!,
      });
    for (const m of r.DeleteMarkers ?? [])
      page.push({ key: m.Key!, id: m.VersionId!, latest: m.IsLatest!, marker: true, at: +m.LastModified! });
    // The SDK parts Versions from DeleteMarkers; the document's order is by key, then newest
    // first (ids here grow with time).
    page.sort((x, y) => (x.key !== y.key ? (x.key < y.key ? -1 : 1) : y.at - x.at || (x.id < y.id ? 1 : -1)));
    out.push(...page.map(({ at: _, ...v }) => v));
    if (!r.IsTruncated) return out;
    KeyMarker = r.NextKeyMarker;
    VersionIdMarker = r.NextVersionIdMarker;
  }
  throw new Error('listing did not end');
}

const body = async (c: S3Client, Bucket: string, Key: string, VersionId?: string) => {
  const r = await c.send(new GetObjectCommand({ Bucket, Key, VersionId }));
  return { text: await r.Body!.transformToString(), etag: r.ETag, versionId: r.VersionId };
};

/**
 * S3 bucket versioning with the AWS SDK and the aws CLI: overwrites and deletes keep what they
 * replace, each version reads back byte for byte with its ETag, deleting a version brings the
 * previous one back, a copy of an old version restores it, suspension, listing in pages, and
 * a bucket is only deleted once no version is left.
 */
describe('S3 versioning', () => {
  let g: S3Gateway;
  let c: S3Client;
  let stranger: S3Client;
  let key: Awaited<ReturnType<S3Gateway['user']>>;

  before(async () => {
    g = await startS3Gateway();
    key = await g.user('alice');
    c = sdkClient(g, key);
    stranger = sdkClient(g, await g.user('mallory'));
    await c.send(new CreateBucketCommand({ Bucket: 'docs' }));
  });
  after(() => g?.stop());

  test('1 the owner enables versioning; others and bad documents change nothing', async () => {
    equal((await c.send(new GetBucketVersioningCommand({ Bucket: 'docs' }))).Status, undefined);
    const denied = await s3Error(
      stranger.send(
        new PutBucketVersioningCommand({ Bucket: 'docs', VersioningConfiguration: { Status: 'Enabled' } }),
      ),
    );
    equal(denied.name, 'AccessDenied');
    const bad = await signed(g, key, {
      method: 'PUT',
      path: '/docs',
      query: { versioning: '' },
      body: '<VersioningConfiguration><Status>On</Status></VersioningConfiguration>',
    });
    equal(bad.status, 400);
    equal(xmlCode(bad.body), 'MalformedXML');
    const mfa = await signed(g, key, {
      method: 'PUT',
      path: '/docs',
      query: { versioning: '' },
      body: '<VersioningConfiguration><Status>Enabled</Status><MfaDelete>Enabled</MfaDelete></VersioningConfiguration>',
    });
    equal(xmlCode(mfa.body), 'NotImplemented');
    equal((await c.send(new GetBucketVersioningCommand({ Bucket: 'docs' }))).Status, undefined);

    await c.send(
      new PutBucketVersioningCommand({ Bucket: 'docs', VersioningConfiguration: { Status: 'Enabled' } }),
    );
    equal((await c.send(new GetBucketVersioningCommand({ Bucket: 'docs' }))).Status, 'Enabled');
  });

  test('2 each overwrite keeps the object it replaces, readable by its version id', async () => {
    const ids: string[] = [];
    for (const text of ['first', 'second', 'third']) {
      const r = await c.send(
        new PutObjectCommand({
          Bucket: 'docs',
          Key: 'notes/a.txt',
          Body: text,
          ContentType: `text/x-${text}`,
        }),
      );
      match(r.VersionId ?? '', /^[0-9a-f]{32}$/);
      ids.push(r.VersionId!);
    }
    equal(new Set(ids).size, 3);
    for (const [i, text] of ['first', 'second', 'third'].entries()) {
      const got = await body(c, 'docs', 'notes/a.txt', ids[i]);
      deepEqual(got, { text, etag: `"${md5(text)}"`, versionId: ids[i] });
      const h = await c.send(
        new HeadObjectCommand({ Bucket: 'docs', Key: 'notes/a.txt', VersionId: ids[i] }),
      );
      equal(h.ContentType, `text/x-${text}`);
      equal(h.ContentLength, text.length);
    }
    deepEqual(await body(c, 'docs', 'notes/a.txt'), {
      text: 'third',
      etag: `"${md5('third')}"`,
      versionId: ids[2],
    });
    deepEqual(await allVersions(c, 'docs'), [
      { key: 'notes/a.txt', id: ids[2]!, latest: true, marker: false, etag: `"${md5('third')}"` },
      { key: 'notes/a.txt', id: ids[1]!, latest: false, marker: false, etag: `"${md5('second')}"` },
      { key: 'notes/a.txt', id: ids[0]!, latest: false, marker: false, etag: `"${md5('first')}"` },
    ]);
    // Only the current version is an object in the bucket: ListObjects and NFS/SMB see one file.
    const l = await c.send(new ListObjectsV2Command({ Bucket: 'docs' }));
    deepEqual(
      l.Contents?.map((o) => o.Key),
      ['notes/a.txt'],
    );
    const dir = await g.gw.ns.resolvePath(ROOT, '/export/docs/notes');
    deepEqual(
      (await g.gw.ns.readdir(ROOT, dir.ino, 0n, 100)).entries.map((e) => e.name),
      ['a.txt'],
    );
    // The kept versions count against their owner's quota, as S3 bills them.
    const usage = await g.gw.ns.quotaUsage('uid', key.uid);
    ok(usage.bytes >= BigInt('firstsecondthird'.length), `usage ${usage.bytes}`);
    // Unknown or malformed ids.
    equal((await s3Error(body(c, 'docs', 'notes/a.txt', 'f'.repeat(32)))).name, 'NoSuchVersion');
    equal((await s3Error(body(c, 'docs', 'notes/a.txt', 'v1'))).status, 400);
    // The version tree tags each name with a byte: a 255-byte part is refused before anything is written.
    const long = `${'n'.repeat(255)}/x`;
    equal(
      (await s3Error(c.send(new PutObjectCommand({ Bucket: 'docs', Key: long, Body: 'x' })))).name,
      'KeyTooLongError',
    );
    await c.send(new PutObjectCommand({ Bucket: 'docs', Key: `${'n'.repeat(254)}/x`, Body: 'x' }));
    await c.send(new DeleteObjectCommand({ Bucket: 'docs', Key: `${'n'.repeat(254)}/x` }));
    // A stranger may not read a version the mode bits keep from them.
    await g.gw.ns.setattr(ROOT, (await g.gw.ns.resolvePath(ROOT, '/export/docs/notes/a.txt')).ino, {
      mode: 0o600,
    });
    equal((await s3Error(body(stranger, 'docs', 'notes/a.txt'))).name, 'AccessDenied');
  });

  test('3 a delete leaves a marker; deleting the marker brings the object back', async () => {
    await c.send(new PutObjectCommand({ Bucket: 'docs', Key: 'report.pdf', Body: 'v1' }));
    const v2 = (await c.send(new PutObjectCommand({ Bucket: 'docs', Key: 'report.pdf', Body: 'v2' })))
      .VersionId!;
    const del = await c.send(new DeleteObjectCommand({ Bucket: 'docs', Key: 'report.pdf' }));
    equal(del.DeleteMarker, true);
    match(del.VersionId ?? '', /^[0-9a-f]{32}$/);
    const gone = await s3Error(body(c, 'docs', 'report.pdf'));
    deepEqual(
      [gone.name, gone.headers['x-amz-delete-marker'], gone.headers['x-amz-version-id']],
      ['NoSuchKey', 'true', del.VersionId],
    );
    const marker = await s3Error(body(c, 'docs', 'report.pdf', del.VersionId));
    deepEqual([marker.status, marker.headers['x-amz-delete-marker']], [405, 'true']);
    const l = await c.send(new ListObjectsV2Command({ Bucket: 'docs', Prefix: 'report' }));
    equal(l.KeyCount, 0);
    const listed = await allVersions(c, 'docs', { Prefix: 'report' });
    deepEqual(
      listed.map((v) => [v.marker, v.latest]),
      [
        [true, true],
        [false, false],
        [false, false],
      ],
    );
    // Deleting the marker (a version like any other) makes v2 current again.
    const undo = await c.send(
      new DeleteObjectCommand({ Bucket: 'docs', Key: 'report.pdf', VersionId: del.VersionId }),
    );
    deepEqual([undo.DeleteMarker, undo.VersionId], [true, del.VersionId]);
    deepEqual(await body(c, 'docs', 'report.pdf'), { text: 'v2', etag: `"${md5('v2')}"`, versionId: v2 });
    equal((await allVersions(c, 'docs', { Prefix: 'report' })).length, 2);
  });

  test('4 deleting the current version makes the previous one current; others go for good', async () => {
    const put = async (t: string) =>
      (await c.send(new PutObjectCommand({ Bucket: 'docs', Key: 'k', Body: t }))).VersionId!;
    const [a, b, cc] = [await put('A'), await put('B'), await put('C')];
    await c.send(new DeleteObjectCommand({ Bucket: 'docs', Key: 'k', VersionId: cc }));
    deepEqual(await body(c, 'docs', 'k'), { text: 'B', etag: `"${md5('B')}"`, versionId: b });
    await c.send(new DeleteObjectCommand({ Bucket: 'docs', Key: 'k', VersionId: a }));
    deepEqual(
      (await allVersions(c, 'docs', { Prefix: 'k' })).map((v) => v.id),
      [b],
    );
    equal((await s3Error(body(c, 'docs', 'k', a))).name, 'NoSuchVersion');
    // A well-formed id the key never had: nothing to do (204); a malformed one: 400.
    await c.send(new DeleteObjectCommand({ Bucket: 'docs', Key: 'k', VersionId: '0'.repeat(32) }));
    equal(
      (await s3Error(c.send(new DeleteObjectCommand({ Bucket: 'docs', Key: 'k', VersionId: 'x' })))).name,
      'InvalidArgument',
    );
    // Only who may write the bucket deletes versions.
    equal(
      (await s3Error(stranger.send(new DeleteObjectCommand({ Bucket: 'docs', Key: 'k', VersionId: b }))))
        .name,
      'AccessDenied',
    );
    equal(
      (await s3Error(stranger.send(new DeleteObjectCommand({ Bucket: 'docs', Key: 'k' })))).name,
      'AccessDenied',
    );
    deepEqual(await body(c, 'docs', 'k'), { text: 'B', etag: `"${md5('B')}"`, versionId: b });
    equal((await allVersions(c, 'docs', { Prefix: 'k' })).length, 1);
  });

  test('5 copying an old version over its key restores it; multipart ETags survive being kept', async () => {
    const first = await c.send(new PutObjectCommand({ Bucket: 'docs', Key: 'cfg.yaml', Body: 'good: true' }));
    await c.send(new PutObjectCommand({ Bucket: 'docs', Key: 'cfg.yaml', Body: 'good: false' }));
    const restored = await c.send(
      new CopyObjectCommand({
        Bucket: 'docs',
        Key: 'cfg.yaml',
        CopySource: `docs/cfg.yaml?versionId=${first.VersionId}`,
      }),
    );
    equal(restored.CopySourceVersionId, first.VersionId);
    notEqual(restored.VersionId, first.VersionId);
    deepEqual(await body(c, 'docs', 'cfg.yaml'), {
      text: 'good: true',
      etag: `"${md5('good: true')}"`,
      versionId: restored.VersionId,
    });
    equal((await allVersions(c, 'docs', { Prefix: 'cfg' })).length, 3);
    // New metadata copied onto itself is a new version too; the old one keeps its type.
    const retyped = await c.send(
      new CopyObjectCommand({
        Bucket: 'docs',
        Key: 'cfg.yaml',
        CopySource: 'docs/cfg.yaml',
        MetadataDirective: 'REPLACE',
        ContentType: 'application/yaml',
      }),
    );
    notEqual(retyped.VersionId, restored.VersionId);
    const types = async (VersionId?: string) =>
      (await c.send(new HeadObjectCommand({ Bucket: 'docs', Key: 'cfg.yaml', VersionId }))).ContentType;
    deepEqual(
      [await types(), await types(restored.VersionId)],
      ['application/yaml', 'application/octet-stream'],
    );
    equal((await allVersions(c, 'docs', { Prefix: 'cfg' })).length, 4);

    const part = Buffer.alloc(5 * 1024 * 1024, 7);
    const up = await c.send(new CreateMultipartUploadCommand({ Bucket: 'docs', Key: 'big.bin' }));
    const p1 = await c.send(
      new UploadPartCommand({
        Bucket: 'docs',
        Key: 'big.bin',
        UploadId: up.UploadId,
        PartNumber: 1,
        Body: part,
      }),
    );
    const done = await c.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'docs',
        Key: 'big.bin',
        UploadId: up.UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }] },
      }),
    );
    match(done.VersionId ?? '', /^[0-9a-f]{32}$/);
    match(done.ETag ?? '', /-1"$/);
    await c.send(new PutObjectCommand({ Bucket: 'docs', Key: 'big.bin', Body: 'small' }));
    const old = await c.send(
      new HeadObjectCommand({ Bucket: 'docs', Key: 'big.bin', VersionId: done.VersionId }),
    );
    deepEqual([old.ETag, old.ContentLength], [done.ETag, part.length]);
    const listed = await allVersions(c, 'docs', { Prefix: 'big' });
    equal(listed[1]?.etag, done.ETag);
  });

  test('5b each version has its own tags', async () => {
    const v1 = (
      await c.send(new PutObjectCommand({ Bucket: 'docs', Key: 't', Body: '1', Tagging: 'stage=draft' }))
    ).VersionId!;
    const v2 = (
      await c.send(new PutObjectCommand({ Bucket: 'docs', Key: 't', Body: '2', Tagging: 'stage=final' }))
    ).VersionId!;
    const tags = async (VersionId?: string) =>
      (await c.send(new GetObjectTaggingCommand({ Bucket: 'docs', Key: 't', VersionId }))).TagSet?.map(
        (t) => `${t.Key}=${t.Value}`,
      );
    deepEqual(
      [await tags(v1), await tags(v2), await tags()],
      [['stage=draft'], ['stage=final'], ['stage=final']],
    );
    const put = await c.send(
      new PutObjectTaggingCommand({
        Bucket: 'docs',
        Key: 't',
        VersionId: v1,
        Tagging: { TagSet: [{ Key: 'stage', Value: 'old' }] },
      }),
    );
    equal(put.VersionId, v1);
    deepEqual([await tags(v1), await tags()], [['stage=old'], ['stage=final']]);
    equal((await s3Error(tags('0'.repeat(32)))).name, 'NoSuchVersion');
  });

  test('6 objects from before versioning are the "null" version, kept like any other', async () => {
    await c.send(new CreateBucketCommand({ Bucket: 'legacy' }));
    await c.send(new PutObjectCommand({ Bucket: 'legacy', Key: 'old.txt', Body: 'from before' }));
    deepEqual(
      (await allVersions(c, 'legacy')).map((v) => [v.id, v.latest]),
      [['null', true]],
    );
    await c.send(
      new PutBucketVersioningCommand({ Bucket: 'legacy', VersioningConfiguration: { Status: 'Enabled' } }),
    );
    const now = await c.send(new PutObjectCommand({ Bucket: 'legacy', Key: 'old.txt', Body: 'after' }));
    deepEqual(
      (await allVersions(c, 'legacy')).map((v) => [v.id, v.latest]),
      [
        [now.VersionId, true],
        ['null', false],
      ],
    );
    deepEqual(await body(c, 'legacy', 'old.txt', 'null'), {
      text: 'from before',
      etag: `"${md5('from before')}"`,
      versionId: 'null',
    });
  });

  test('7 suspended: writes make the null version, older versions stay', async () => {
    await c.send(new CreateBucketCommand({ Bucket: 'paused' }));
    await c.send(
      new PutBucketVersioningCommand({ Bucket: 'paused', VersioningConfiguration: { Status: 'Enabled' } }),
    );
    const v1 = (await c.send(new PutObjectCommand({ Bucket: 'paused', Key: 'f', Body: 'one' }))).VersionId!;
    await c.send(
      new PutBucketVersioningCommand({ Bucket: 'paused', VersioningConfiguration: { Status: 'Suspended' } }),
    );
    equal((await c.send(new GetBucketVersioningCommand({ Bucket: 'paused' }))).Status, 'Suspended');
    equal(
      (await c.send(new PutObjectCommand({ Bucket: 'paused', Key: 'f', Body: 'two' }))).VersionId,
      'null',
    );
    // A second suspended write replaces the null version: it is not kept.
    await c.send(new PutObjectCommand({ Bucket: 'paused', Key: 'f', Body: 'three' }));
    deepEqual(
      (await allVersions(c, 'paused')).map((v) => [v.id, v.latest]),
      [
        ['null', true],
        [v1, false],
      ],
    );
    deepEqual(await body(c, 'paused', 'f'), {
      text: 'three',
      etag: `"${md5('three')}"`,
      versionId: undefined,
    });
    const del = await c.send(new DeleteObjectCommand({ Bucket: 'paused', Key: 'f' }));
    deepEqual([del.DeleteMarker, del.VersionId], [true, 'null']);
    deepEqual(
      (await allVersions(c, 'paused')).map((v) => [v.id, v.marker, v.latest]),
      [
        ['null', true, true],
        [v1, false, false],
      ],
    );
    deepEqual(await body(c, 'paused', 'f', v1), { text: 'one', etag: `"${md5('one')}"`, versionId: v1 });
  });

  test('8 listing in pages of 1 and 3, with a delimiter, covers every version once', async () => {
    await c.send(new CreateBucketCommand({ Bucket: 'many' }));
    await c.send(
      new PutBucketVersioningCommand({ Bucket: 'many', VersioningConfiguration: { Status: 'Enabled' } }),
    );
    const expected: string[] = [];
    for (const k of ['a', 'b/x', 'b/y', 'c-d', 'c/e']) {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++)
        ids.push(
          (await c.send(new PutObjectCommand({ Bucket: 'many', Key: k, Body: `${k}${i}` }))).VersionId!,
        );
      expected.push(...ids.reverse().map((id) => `${k}@${id}`));
    }
    await c.send(new DeleteObjectCommand({ Bucket: 'many', Key: 'a' }));
    const whole = await allVersions(c, 'many');
    equal(whole.length, 16);
    const seen = (l: Listed[]) => l.map((v) => `${v.key}@${v.id}`);
    for (const MaxKeys of [1, 3]) deepEqual(seen(await allVersions(c, 'many', { MaxKeys })), seen(whole));
    deepEqual(
      seen(whole).filter((s) => !s.startsWith('a@')),
      expected.filter((s) => !s.startsWith('a@')),
    );
    // A delimiter groups keys under CommonPrefixes, kept-only keys included.
    const top = await c.send(new ListObjectVersionsCommand({ Bucket: 'many', Delimiter: '/' }));
    deepEqual(
      top.CommonPrefixes?.map((p) => p.Prefix),
      ['b/', 'c/'],
    );
    deepEqual([...new Set(top.Versions?.map((v) => v.Key))], ['a', 'c-d']);
    deepEqual(
      top.DeleteMarkers?.map((m) => [m.Key, m.IsLatest]),
      [['a', true]],
    );
  });

  test('9 a bucket with versions left is not empty; emptied version by version, it goes', async () => {
    await c.send(new CreateBucketCommand({ Bucket: 'temp' }));
    await c.send(
      new PutBucketVersioningCommand({ Bucket: 'temp', VersioningConfiguration: { Status: 'Enabled' } }),
    );
    await c.send(new PutObjectCommand({ Bucket: 'temp', Key: 'x/y', Body: '1' }));
    await c.send(new PutObjectCommand({ Bucket: 'temp', Key: 'x/y', Body: '2' }));
    await c.send(new DeleteObjectCommand({ Bucket: 'temp', Key: 'x/y' }));
    equal((await c.send(new ListObjectsV2Command({ Bucket: 'temp' }))).KeyCount, 0);
    equal((await s3Error(c.send(new DeleteBucketCommand({ Bucket: 'temp' })))).name, 'BucketNotEmpty');
    const all = await allVersions(c, 'temp');
    equal(all.length, 3);
    const r = await c.send(
      new DeleteObjectsCommand({
        Bucket: 'temp',
        Delete: { Objects: all.map((v) => ({ Key: v.key, VersionId: v.id })) },
      }),
    );
    equal(r.Errors, undefined);
    deepEqual(
      r.Deleted?.map((d) => [d.VersionId, d.DeleteMarker ?? false]),
      all.map((v) => [v.id, v.marker]),
    );
    const bucketIno = (await g.gw.ns.resolvePath(ROOT, '/export/temp')).ino;
    await c.send(new DeleteBucketCommand({ Bucket: 'temp' }));
    // Its version tree went with it.
    await rejects(g.gw.ns.resolvePath(ROOT, `/.cfs-versions/${bucketIno}`), /ENOENT/);
  });

  test('9b a write that crashed between keeping the object and replacing it: listed once, deleted for good', async () => {
    const put = await c.send(new PutObjectCommand({ Bucket: 'docs', Key: 'crash/x', Body: 'only' }));
    // What a crash right after the keep leaves: the current object also linked as its version.
    const env = await s3EnvOf(g);
    const bucket = await g.gw.ns.resolvePath(ROOT, '/export/docs');
    const current = await g.gw.ns.resolvePath(ROOT, '/export/docs/crash/x');
    await env.versions.keep(bucket.ino, keyPath('crash/x'), current, put.VersionId!, md5('only'));
    deepEqual(await allVersions(c, 'docs', { Prefix: 'crash/' }), [
      { key: 'crash/x', id: put.VersionId!, latest: true, marker: false, etag: `"${md5('only')}"` },
    ]);
    await c.send(new DeleteObjectCommand({ Bucket: 'docs', Key: 'crash/x', VersionId: put.VersionId }));
    equal((await s3Error(body(c, 'docs', 'crash/x'))).name, 'NoSuchKey');
    deepEqual(await allVersions(c, 'docs', { Prefix: 'crash/' }), []);
  });

  test('10 lifecycle rules in a versioned bucket: expiry leaves a marker, noncurrent versions and lone markers go', async () => {
    await c.send(new CreateBucketCommand({ Bucket: 'aging' }));
    await c.send(
      new PutBucketVersioningCommand({ Bucket: 'aging', VersioningConfiguration: { Status: 'Enabled' } }),
    );
    await c.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: 'aging',
        LifecycleConfiguration: {
          Rules: [
            { ID: 'cur', Status: 'Enabled', Filter: { Prefix: 'cur/' }, Expiration: { Days: 1 } },
            {
              ID: 'old',
              Status: 'Enabled',
              Filter: { Prefix: 'old/' },
              NoncurrentVersionExpiration: { NoncurrentDays: 1, NewerNoncurrentVersions: 1 },
            },
            {
              ID: 'del',
              Status: 'Enabled',
              Filter: { Prefix: 'del/' },
              Expiration: { ExpiredObjectDeleteMarker: true },
              NoncurrentVersionExpiration: { NoncurrentDays: 1 },
            },
          ],
        },
      }),
    );
    const rules = await c.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'aging' }));
    deepEqual(rules.Rules?.[1]?.NoncurrentVersionExpiration, {
      NoncurrentDays: 1,
      NewerNoncurrentVersions: 1,
    });
    equal(rules.Rules?.[2]?.Expiration?.ExpiredObjectDeleteMarker, true);
    const put = async (Key: string, Body: string) =>
      (await c.send(new PutObjectCommand({ Bucket: 'aging', Key, Body }))).VersionId!;
    const x = await put('cur/x', 'x1');
    const y = [
      await put('old/y', 'y-1'),
      await put('old/y', 'y-22'),
      await put('old/y', 'y-333'),
      await put('old/y', 'y-4444'),
    ];
    const z = await put('del/z', 'z1');
    await c.send(new DeleteObjectCommand({ Bucket: 'aging', Key: 'del/z' }));

    const ids = async (Prefix: string) =>
      (await allVersions(c, 'aging', { Prefix })).map((v) => (v.marker ? 'marker' : v.id));
    const env = await s3EnvOf(g);
    const sweep = (ms: number) => new LifecycleSweeper(env, g.gw.log, () => Date.now() + ms).run();
    equal((await sweep(DAY_MS / 2 - 60_000)).expired, 0);
    deepEqual(await ids('old/'), [...y].reverse());

    const first = await sweep(2 * DAY_MS);
    // cur/x became noncurrent behind a marker; y-22 and y-1 went (y-333 is the one newer kept);
    // z1 went; the marker it leaves is alone only from the next sweep on.
    equal(first.expired, 4);
    equal(first.freedBytes, String('y-1'.length + 'y-22'.length + 'z1'.length));
    deepEqual(await ids('cur/'), ['marker', x]);
    equal((await s3Error(body(c, 'aging', 'cur/x'))).name, 'NoSuchKey');
    deepEqual(await ids('old/'), [y[3], y[2]]);
    deepEqual(await ids('del/'), ['marker']);
    equal(z.length, 32);
    const second = await sweep(2 * DAY_MS);
    deepEqual([second.expired, second.freedBytes], [1, '0']);
    deepEqual(await ids('del/'), []);
    deepEqual(await ids('cur/'), ['marker', x]);
  });

  test('11 fsck finds the versions kept (hard links, frozen ETags, delete markers) consistent', async () => {
    const report = await runFsck({ dbFile: `${g.dir}/state/meta.db`, dataDir: `${g.dir}/state/data` });
    deepEqual(report.problems, []);
    ok(report.checked.inodes > 20, `checked ${report.checked.inodes} inodes`);
  });

  test(
    '12 the aws CLI: put-bucket-versioning, list-object-versions, delete-object --version-id',
    requireTools('aws'),
    async () => {
      const work = makeTempDir('s3-versioning');
      const aws = awsCliRun(g, key, work);
      const file = join(work, 'f.txt');
      const ok0 = (r: RunResult) => {
        equal(r.code, 0, r.output);
        return r.stdout.trim() === '' ? {} : (JSON.parse(r.stdout) as Record<string, unknown>);
      };
      equal((await aws('s3', 'mb', 's3://cli')).code, 0);
      ok0(
        await aws(
          's3api',
          'put-bucket-versioning',
          '--bucket',
          'cli',
          '--versioning-configuration',
          'Status=Enabled',
        ),
      );
      deepEqual(ok0(await aws('s3api', 'get-bucket-versioning', '--bucket', 'cli')), { Status: 'Enabled' });
      const ids: string[] = [];
      for (const t of ['one', 'two']) {
        writeFileSync(file, t);
        ids.push(
          ok0(await aws('s3api', 'put-object', '--bucket', 'cli', '--key', 'f.txt', '--body', file))
            .VersionId as string,
        );
      }
      const listed = ok0(await aws('s3api', 'list-object-versions', '--bucket', 'cli')) as {
        Versions: Array<{ Key: string; VersionId: string; IsLatest: boolean; Size: number }>;
      };
      deepEqual(
        listed.Versions.map((v) => [v.Key, v.VersionId, v.IsLatest, v.Size]),
        [
          ['f.txt', ids[1], true, 3],
          ['f.txt', ids[0], false, 3],
        ],
      );
      ok0(
        await aws(
          's3api',
          'get-object',
          '--bucket',
          'cli',
          '--key',
          'f.txt',
          '--version-id',
          ids[0]!,
          join(work, 'out'),
        ),
      );
      const del = ok0(
        await aws('s3api', 'delete-object', '--bucket', 'cli', '--key', 'f.txt', '--version-id', ids[1]!),
      );
      equal(del.VersionId, ids[1]);
      equal((await aws('s3', 'cp', 's3://cli/f.txt', join(work, 'back.txt'))).code, 0);
      equal(readFileSync(join(work, 'back.txt'), 'utf8'), 'one');
    },
  );
});
