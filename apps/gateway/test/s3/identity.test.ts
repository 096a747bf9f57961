import { deepEqual, equal, ok } from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { quotaEnforcer } from '../../src/ops/quota/feature.ts';
import { ETAG_CHANGE_XATTR, ETAG_MD5_XATTR } from '../../src/storage/fsck/index.ts';
import { ROOT } from '../../src/storage/types.ts';
import { type S3Gateway, sdkClient, startS3Gateway } from './fixture.ts';

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

/** A multipart upload of one part (aws s3 cp's way for a large file). */
async function putMultipart(c: S3Client, Bucket: string, Key: string, Body: string): Promise<void> {
  const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket, Key }));
  const { ETag } = await c.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body }));
  await c.send(
    new CompleteMultipartUploadCommand({
      Bucket,
      Key,
      UploadId,
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] },
    }),
  );
}

async function s3Error(p: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof S3ServiceException) return { name: e.name, status: e.$metadata.httpStatusCode };
    throw e;
  }
  throw new Error('expected an S3 error');
}

describe('S3 identity, permissions, quotas and other protocols’ files', () => {
  let g: S3Gateway;
  let alice: S3Client;
  let bob: S3Client;
  let aliceIds: { uid: number; gid: number };
  before(async () => {
    g = await startS3Gateway({ publicRead: ['pub'] });
    const a = await g.user('alice');
    aliceIds = a;
    alice = sdkClient(g, a);
    bob = sdkClient(g, await g.user('bob'));
    await alice.send(new CreateBucketCommand({ Bucket: 'alices' }));
    await alice.send(new CreateBucketCommand({ Bucket: 'pub' }));
  });
  after(() => g.stop());

  test('1 the key’s user owns what it creates; mode bits decide who reads and writes', async () => {
    await alice.send(new PutObjectCommand({ Bucket: 'alices', Key: 'notes/n.txt', Body: 'mine' }));
    const f = await g.gw.ns.resolvePath(ROOT, '/export/alices/notes/n.txt');
    deepEqual([f.uid, f.gid, f.mode & 0o777], [aliceIds.uid, aliceIds.gid, 0o644]);
    const bucket = await g.gw.ns.resolvePath(ROOT, '/export/alices');
    equal(bucket.uid, aliceIds.uid);
    // 0644: bob may read, not write.
    equal(
      await (
        await bob.send(new GetObjectCommand({ Bucket: 'alices', Key: 'notes/n.txt' }))
      ).Body!.transformToString(),
      'mine',
    );
    deepEqual(
      await s3Error(bob.send(new PutObjectCommand({ Bucket: 'alices', Key: 'notes/bob.txt', Body: 'x' }))),
      { name: 'AccessDenied', status: 403 },
    );
    deepEqual(await s3Error(bob.send(new CreateMultipartUploadCommand({ Bucket: 'alices', Key: 'm' }))), {
      name: 'AccessDenied',
      status: 403,
    });
    // The owner closes it (as over NFS): bob can no longer read it.
    await g.gw.ns.setattr(ROOT, f.ino, { mode: 0o600 });
    deepEqual(await s3Error(bob.send(new GetObjectCommand({ Bucket: 'alices', Key: 'notes/n.txt' }))), {
      name: 'AccessDenied',
      status: 403,
    });
    equal((await g.gw.ns.meta.detached()).length, 0);
  });

  test('2 a hard quota stops a PUT and a part with QuotaExceeded, leaving nothing partial', async () => {
    await g.gw.control.quotas.set({ kind: 'uid', subjectId: aliceIds.uid, hardBytes: 2_000_000n });
    await quotaEnforcer(g.gw)!.refresh();
    try {
      const e = await s3Error(
        alice.send(
          new PutObjectCommand({ Bucket: 'alices', Key: 'huge.bin', Body: Buffer.alloc(3_000_000, 1) }),
        ),
      );
      deepEqual(e, { name: 'QuotaExceeded', status: 403 });
      equal(
        (await s3Error(alice.send(new HeadObjectCommand({ Bucket: 'alices', Key: 'huge.bin' })))).status,
        404,
      );
      const { UploadId } = await alice.send(
        new CreateMultipartUploadCommand({ Bucket: 'alices', Key: 'huge2.bin' }),
      );
      equal(
        (
          await s3Error(
            alice.send(
              new UploadPartCommand({
                Bucket: 'alices',
                Key: 'huge2.bin',
                UploadId,
                PartNumber: 1,
                Body: Buffer.alloc(3_000_000, 1),
              }),
            ),
          )
        ).name,
        'QuotaExceeded',
      );
      deepEqual(await g.gw.ns.meta.detached(), []);
      const usage = await g.gw.ns.quotaUsage('uid', aliceIds.uid);
      ok(usage.bytes < 2_000_000n, `usage ${usage.bytes}`);
    } finally {
      await g.gw.control.quotas.set({ kind: 'uid', subjectId: aliceIds.uid, hardBytes: null });
      await quotaEnforcer(g.gw)!.refresh();
    }
  });

  test('3 files written by other protocols list and GET as objects; the ETag is computed once and cached quietly', async () => {
    const ns = g.gw.ns;
    const cred = { uid: aliceIds.uid, gid: aliceIds.gid, gids: [] };
    const dir = await ns.resolvePath(ROOT, '/export/alices');
    const sub = await ns.mkdir(cred, dir.ino, 'from-nfs', 0o755);
    const file = await ns.create(cred, sub.ino, 'report.csv', 0o644);
    await ns.write(cred, file.ino, 0n, Buffer.from('a,b\n1,2\n'));
    const listed = await alice.send(new ListObjectsV2Command({ Bucket: 'alices', Prefix: 'from-nfs/' }));
    deepEqual(
      listed.Contents?.map((o) => [o.Key, o.Size, o.ETag]),
      [['from-nfs/report.csv', 8, `"${md5('a,b\n1,2\n')}"`]],
    );
    const before = await ns.getattr(file.ino);
    equal((await ns.getXattr(file.ino, ETAG_MD5_XATTR))?.toString(), md5('a,b\n1,2\n'));
    equal((await ns.getXattr(file.ino, ETAG_CHANGE_XATTR))?.toString(), String(before.changeId));
    const got = await alice.send(new GetObjectCommand({ Bucket: 'alices', Key: 'from-nfs/report.csv' }));
    equal(got.ContentType, 'text/csv');
    equal(await got.Body!.transformToString(), 'a,b\n1,2\n');
    equal(
      (await ns.getattr(file.ino)).changeId,
      before.changeId,
      'caching the ETag did not bump the change id',
    );
    // Changed over "NFS": the cached ETag is void, the new one is served.
    await ns.write(cred, file.ino, 8n, Buffer.from('3,4\n'));
    equal(
      (await alice.send(new HeadObjectCommand({ Bucket: 'alices', Key: 'from-nfs/report.csv' }))).ETag,
      `"${md5('a,b\n1,2\n3,4\n')}"`,
    );
  });

  test('4 anonymous: reads of public_read_buckets only; everything else AccessDenied', async () => {
    await alice.send(
      new PutObjectCommand({
        Bucket: 'pub',
        Key: 'index.html',
        Body: '<h1>hi</h1>',
        ContentType: 'text/html',
      }),
    );
    await alice.send(new PutObjectCommand({ Bucket: 'alices', Key: 'private.txt', Body: 'no' }));
    const r = await fetch(`${g.endpoint}/pub/index.html`);
    equal(r.status, 200);
    equal(await r.text(), '<h1>hi</h1>');
    equal(r.headers.get('content-type'), 'text/html');
    // The next GET is answered from the caches; a change made in the namespace (as NFS and SMB
    // make theirs) is seen by the one after it: new bytes, new ETag, then no longer readable.
    const again = await fetch(`${g.endpoint}/pub/index.html`);
    deepEqual([await again.text(), again.headers.get('etag')], ['<h1>hi</h1>', r.headers.get('etag')]);
    const f = await g.gw.ns.resolvePath(ROOT, '/export/pub/index.html');
    await g.gw.ns.write(ROOT, f.ino, 0n, Buffer.from('<h1>HI</h1>'), 'file');
    const changed = await fetch(`${g.endpoint}/pub/index.html`);
    deepEqual(
      [await changed.text(), changed.headers.get('etag')],
      ['<h1>HI</h1>', `"${md5('<h1>HI</h1>')}"`],
    );
    await g.gw.ns.setattr(ROOT, f.ino, { mode: 0o600 });
    equal((await fetch(`${g.endpoint}/pub/index.html`)).status, 403);
    equal((await fetch(`${g.endpoint}/pub?list-type=2`)).status, 200);
    equal((await fetch(`${g.endpoint}/pub/index.html`, { method: 'PUT', body: 'x' })).status, 403);
    equal((await fetch(`${g.endpoint}/pub/index.html`, { method: 'DELETE' })).status, 403);
    equal((await fetch(`${g.endpoint}/alices/private.txt`)).status, 403);
    equal((await fetch(`${g.endpoint}/pub/index.html?response-content-type=x/y`)).status, 400);
  });

  test('5 a new key works at once; a revoked key stops working within a second', async () => {
    const k = await g.user('carol');
    const carol = sdkClient(g, k);
    await carol.send(new CreateBucketCommand({ Bucket: 'carols' }));
    await g.gw.control.s3Keys.revoke(k.accessKeyId);
    await new Promise((r) => setTimeout(r, 1100));
    equal(
      (await s3Error(carol.send(new ListObjectsV2Command({ Bucket: 'carols' })))).name,
      'InvalidAccessKeyId',
    );
  });

  test('5b a revoked key stops working within a second even when the wall clock steps back (NTP on a VM)', async (t) => {
    const k = await g.user('carl');
    const carl = sdkClient(g, k);
    await carl.send(new CreateBucketCommand({ Bucket: 'carls' }));
    // Four minutes back: inside S3's allowed skew, and the SDK leaves its clock alone below
    // five. Only Date moves; timers and performance.now() run on.
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() - 240_000 });
    await carl.send(new ListObjectsV2Command({ Bucket: 'carls' }));
    await g.gw.control.s3Keys.revoke(k.accessKeyId);
    await new Promise((r) => setTimeout(r, 1100));
    equal(
      (await s3Error(carl.send(new ListObjectsV2Command({ Bucket: 'carls' })))).name,
      'InvalidAccessKeyId',
    );
  });

  test('6 a key in use shows when it was last used (the console and ./cfs user key list read it)', async () => {
    const k = await g.user('dave');
    const lastUsed = async () =>
      (await g.gw.control.s3Keys.list('dave')).find((x) => x.accessKeyId === k.accessKeyId)?.lastUsedAt ??
      null;
    equal(await lastUsed(), null, 'never used yet');
    const before = Date.now();
    const dave = sdkClient(g, k);
    await dave.send(new CreateBucketCommand({ Bucket: 'daves' }));
    // Written off the request's path: it appears a moment after the answer.
    const deadline = Date.now() + 30_000;
    let at = await lastUsed();
    while (at === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      at = await lastUsed();
    }
    ok(at, 'lastUsedAt recorded');
    ok(at.getTime() >= before - 1000 && at.getTime() <= Date.now(), at.toISOString());
    dave.destroy();
  });

  test('7 a write over a file keeps its permission bits (a file made private stays private); an ACL sent with it decides; a new key is 0644', async () => {
    const ns = g.gw.ns;
    const modeOf = async (key: string) =>
      ((await ns.resolvePath(ROOT, `/export/alices/${key}`)).mode & 0o7777).toString(8);
    const bobReads = (key: string) =>
      bob.send(new GetObjectCommand({ Bucket: 'alices', Key: key })).then(
        () => 'read',
        (e: Error) => e.name,
      );
    await alice.send(new PutObjectCommand({ Bucket: 'alices', Key: 'salary.txt', Body: 'v1' }));
    await alice.send(new PutObjectCommand({ Bucket: 'alices', Key: 'other.txt', Body: 'copied' }));
    // Its owner closes it, as `chmod 600` over NFS does.
    await ns.setattr(ROOT, (await ns.resolvePath(ROOT, '/export/alices/salary.txt')).ino, { mode: 0o600 });
    equal(await bobReads('salary.txt'), 'AccessDenied');
    await alice.send(new PutObjectCommand({ Bucket: 'alices', Key: 'salary.txt', Body: 'v2' }));
    deepEqual([await modeOf('salary.txt'), await bobReads('salary.txt')], ['600', 'AccessDenied']);
    await alice.send(
      new CopyObjectCommand({ Bucket: 'alices', Key: 'salary.txt', CopySource: 'alices/other.txt' }),
    );
    deepEqual([await modeOf('salary.txt'), await bobReads('salary.txt')], ['600', 'AccessDenied']);
    await putMultipart(alice, 'alices', 'salary.txt', 'v3');
    deepEqual([await modeOf('salary.txt'), await bobReads('salary.txt')], ['600', 'AccessDenied']);
    equal(
      await (
        await alice.send(new GetObjectCommand({ Bucket: 'alices', Key: 'salary.txt' }))
      ).Body!.transformToString(),
      'v3',
    );
    // An ACL given with the write is the mode asked for.
    await alice.send(
      new PutObjectCommand({ Bucket: 'alices', Key: 'salary.txt', Body: 'v4', ACL: 'authenticated-read' }),
    );
    deepEqual([await modeOf('salary.txt'), await bobReads('salary.txt')], ['644', 'read']);
    // Execute and group bits carry over; setuid does not (the file is a new one).
    await ns.setattr(ROOT, (await ns.resolvePath(ROOT, '/export/alices/salary.txt')).ino, { mode: 0o4750 });
    await alice.send(new PutObjectCommand({ Bucket: 'alices', Key: 'salary.txt', Body: 'v5' }));
    equal(await modeOf('salary.txt'), '750');
    await alice.send(new PutObjectCommand({ Bucket: 'alices', Key: 'fresh.txt', Body: 'new' }));
    equal(await modeOf('fresh.txt'), '644');
  });

  test('8 an object written in a setgid folder takes the folder’s group, as NFS and SMB creates do, and that group’s quota holds it', async () => {
    const ns = g.gw.ns;
    const group = 3000;
    await alice.send(new CreateBucketCommand({ Bucket: 'proj' }));
    const proj = await ns.resolvePath(ROOT, '/export/proj');
    await ns.setattr(ROOT, proj.ino, { gid: group, mode: 0o2777 });
    const cred = { uid: aliceIds.uid, gid: aliceIds.gid, gids: [] };
    equal((await ns.create(cred, proj.ino, 'by-nfs', 0o644)).gid, group, 'a create there (NFS, SMB)');
    const aliceGroupBefore = (await ns.quotaUsage('gid', aliceIds.gid)).bytes;
    const groupBefore = (await ns.quotaUsage('gid', group)).bytes;
    await alice.send(new PutObjectCommand({ Bucket: 'proj', Key: 'by-s3', Body: Buffer.alloc(70_000, 1) }));
    await alice.send(new PutObjectCommand({ Bucket: 'proj', Key: 'small', Body: 'tiny' }));
    await alice.send(new PutObjectCommand({ Bucket: 'proj', Key: 'sub/x', Body: 'in a prefix' }));
    await alice.send(new CopyObjectCommand({ Bucket: 'proj', Key: 'copy', CopySource: 'proj/small' }));
    await putMultipart(alice, 'proj', 'multi', 'parts');
    for (const key of ['by-s3', 'small', 'sub', 'sub/x', 'copy', 'multi']) {
      const a = await ns.resolvePath(ROOT, `/export/proj/${key}`);
      deepEqual([key, a.uid, a.gid], [key, aliceIds.uid, group]);
    }
    // The bytes are the folder group's, not alice's own group's.
    equal((await ns.quotaUsage('gid', aliceIds.gid)).bytes, aliceGroupBefore);
    ok((await ns.quotaUsage('gid', group)).bytes - groupBefore >= 70_000n + 4n + 11n + 4n + 5n);
    // The ETag was recorded for the change id the object was linked with.
    const obj = await ns.resolvePath(ROOT, '/export/proj/by-s3');
    equal((await ns.getXattr(obj.ino, ETAG_CHANGE_XATTR))?.toString(), String(obj.changeId));
    equal((await ns.getXattr(obj.ino, ETAG_MD5_XATTR))?.toString(), md5(Buffer.alloc(70_000, 1)));
    await g.gw.control.quotas.set({ kind: 'gid', subjectId: group, hardBytes: 100_000n });
    await quotaEnforcer(g.gw)!.refresh();
    try {
      const e = await s3Error(
        alice.send(new PutObjectCommand({ Bucket: 'proj', Key: 'big', Body: Buffer.alloc(120_000, 2) })),
      );
      deepEqual(e, { name: 'QuotaExceeded', status: 403 });
      equal((await s3Error(alice.send(new HeadObjectCommand({ Bucket: 'proj', Key: 'big' })))).status, 404);
      deepEqual(await ns.meta.detached(), []);
      ok((await ns.quotaUsage('gid', group)).bytes < 100_000n);
      equal((await ns.quotaUsage('gid', aliceIds.gid)).bytes, aliceGroupBefore);
    } finally {
      await g.gw.control.quotas.set({ kind: 'gid', subjectId: group, hardBytes: null });
      await quotaEnforcer(g.gw)!.refresh();
    }
  });
});
