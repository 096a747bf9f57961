import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  paginateListBuckets,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import type { FinalizeHandler, FinalizeHandlerArguments, MetadataBearer } from '@smithy/types';
import { ROOT } from '../../src/storage/types.ts';
import { runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools, toolPath } from '../support/tools.ts';
import {
  awsCliRun,
  REGION,
  type S3Gateway,
  s3cmdRunner,
  s3Error,
  sdkClient,
  startS3Gateway,
} from './fixture.ts';
import { signed, xmlCode } from './raw.ts';

/**
 * What a black-box review with real S3 clients found refused or unchecked: unknown query
 * parameters (ListBuckets' pagination, cache-busting), SigV2 presigned URLs, s3cmd's
 * `--acl-public` outside a public bucket, and `x-amz-expected-bucket-owner`.
 */
describe('S3 compatibility review: parameters, SigV2 URLs, ACL refusals, expected owners', () => {
  let g: S3Gateway;
  let ann: { accessKeyId: string; secret: string; uid: number };
  let ben: { accessKeyId: string; secret: string; uid: number };
  let mine: S3Client;
  let work: string;
  /** curl's body and status (the last line -w wrote). */
  const curlReply = async (...args: string[]) => {
    const r = await runCommand(toolPath('curl') ?? 'curl', ['-s', '-S', '-w', '\n%{http_code}', ...args], {
      timeoutMs: 30_000,
    });
    equal(r.code, 0, r.output);
    const cut = r.stdout.lastIndexOf('\n');
    return { body: r.stdout.slice(0, cut), status: Number(r.stdout.slice(cut + 1)) };
  };
  const exists = (path: string) =>
    g.gw.ns.resolvePath(ROOT, `/export/${path}`).then(
      () => true,
      () => false,
    );

  before(async () => {
    g = await startS3Gateway({ publicRead: ['site'] });
    work = makeTempDir('s3-compat-review');
    ann = await g.user('ann');
    ben = await g.user('ben');
    mine = sdkClient(g, ann);
    for (const Bucket of ['bk-alpha', 'bk-beta', 'bk-gamma', 'other', 'site'])
      await mine.send(new CreateBucketCommand({ Bucket }));
    await mine.send(new PutObjectCommand({ Bucket: 'site', Key: 'index.html', Body: '<p>hi</p>' }));
    await mine.send(new PutObjectCommand({ Bucket: 'bk-alpha', Key: 'a.txt', Body: 'alpha' }));
    await sdkClient(g, ben).send(new CreateBucketCommand({ Bucket: 'bens' }));
  });
  after(() => g?.stop());

  const names = (r: { Buckets?: Array<{ Name?: string }> }) => (r.Buckets ?? []).map((b) => b.Name);

  test('1 ListBuckets with prefix and max-buckets: one page, a ContinuationToken, the Prefix echoed', async () => {
    const page = await mine.send(new ListBucketsCommand({ Prefix: 'bk', MaxBuckets: 1 }));
    deepEqual(names(page), ['bk-alpha']);
    ok(page.ContinuationToken, 'a token for the rest');
    equal(page.Prefix, 'bk');
    const rest = await mine.send(
      new ListBucketsCommand({ Prefix: 'bk', MaxBuckets: 5, ContinuationToken: page.ContinuationToken }),
    );
    deepEqual(names(rest), ['bk-beta', 'bk-gamma']);
    equal(rest.ContinuationToken, undefined, 'the last page has none');
    const all = await mine.send(new ListBucketsCommand({}));
    deepEqual(names(all), ['bens', 'bk-alpha', 'bk-beta', 'bk-gamma', 'other', 'site']);
    equal(all.ContinuationToken, undefined);
    equal(all.Owner?.ID, String(ann.uid));
  });

  test("2 the SDK's ListBuckets paginator walks every bucket a page at a time", async () => {
    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateListBuckets({ client: mine, pageSize: 2 }, {})) {
      pages++;
      for (const n of names(page)) seen.push(n!);
    }
    deepEqual(seen, ['bens', 'bk-alpha', 'bk-beta', 'bk-gamma', 'other', 'site']);
    equal(pages, 3);
  });

  test('3 bucket-region: the gateway region lists all, another lists none', async () => {
    equal(names(await mine.send(new ListBucketsCommand({ BucketRegion: REGION }))).length, 6);
    deepEqual(names(await mine.send(new ListBucketsCommand({ BucketRegion: 'eu-west-3' }))), []);
  });

  test('4 ListBuckets refuses a max-buckets out of 1..10000 and a token it did not give', async () => {
    const cases: Array<[number, Record<string, string>, string]> = [
      [1, { 'max-buckets': '0' }, 'max-buckets'],
      [2, { 'max-buckets': '10001' }, 'max-buckets'],
      [3, { 'max-buckets': 'ten' }, 'max-buckets'],
      [4, { 'continuation-token': 'not-a-token' }, 'continuation-token'],
    ];
    for (const [row, query, arg] of cases) {
      const r = await signed(g, ann, { method: 'GET', path: '/', query });
      equal(r.status, 400, `row ${row}: ${r.body}`);
      equal(xmlCode(r.body), 'InvalidArgument', `row ${row}`);
      match(r.body, new RegExp(`<ArgumentName>${arg}</ArgumentName>`), `row ${row}`);
    }
    const ok10k = await signed(g, ann, { method: 'GET', path: '/', query: { 'max-buckets': '10000' } });
    equal(ok10k.status, 200, ok10k.body);
  });

  test('5 unknown parameters are ignored (and still signed); known unimplemented subresources stay 501', async () => {
    const listed = await signed(g, ann, {
      method: 'GET',
      path: '/bk-alpha',
      query: { 'list-type': '2', 'allow-unordered': 'true' },
    });
    equal(listed.status, 200, listed.body);
    match(listed.body, /<Key>a\.txt<\/Key>/);
    const got = await signed(g, ann, { method: 'GET', path: '/bk-alpha/a.txt', query: { _: '123' } });
    equal(got.status, 200, got.body);
    equal(got.body, 'alpha');
    // A parameter added after signing is not ignored by the signature check.
    const tampered = sdkClient(g, ann);
    tampered.middlewareStack.addRelativeTo(
      (next: FinalizeHandler<object, MetadataBearer>) => (args: FinalizeHandlerArguments<object>) => {
        (args.request as { query: Record<string, string> }).query._ = '123';
        return next(args);
      },
      { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'queryAfterSigning' },
    );
    const e = await s3Error(tampered.send(new GetObjectCommand({ Bucket: 'bk-alpha', Key: 'a.txt' })));
    equal(e.name, 'SignatureDoesNotMatch');
    for (const sub of ['torrent', 'restore', 'legal-hold&_=1']) {
      const r = await signed(g, ann, {
        method: 'POST',
        path: '/bk-alpha/a.txt',
        query: Object.fromEntries(sub.split('&').map((kv) => [kv.split('=')[0]!, kv.split('=')[1] ?? ''])),
      });
      equal(r.status, 501, `${sub}: ${r.body}`);
      equal(xmlCode(r.body), 'NotImplemented', sub);
    }
    const replication = await signed(g, ann, {
      method: 'PUT',
      path: '/bk-alpha',
      query: { replication: '' },
    });
    equal(replication.status, 501);
  });

  test('6 curl: a public object with a cache-busting ?_=123 is served', requireTools('curl'), async () => {
    const r = await curlReply(`${g.endpoint}/site/index.html?_=123`);
    equal(r.status, 200);
    equal(r.body, '<p>hi</p>');
  });

  test(
    '7 a SigV2 presigned URL (s3cmd signurl, fetched by curl) is 400 InvalidRequest: use AWS4-HMAC-SHA256',
    requireTools('s3cmd', 'curl'),
    async () => {
      const s3cmd = s3cmdRunner(g, ann, work);
      const sign = await s3cmd('signurl', 's3://bk-alpha/a.txt', '+600');
      equal(sign.code, 0, sign.output);
      const url = sign.stdout.trim();
      match(url, /AWSAccessKeyId=.*Signature=/);
      const r = await curlReply(url);
      equal(r.status, 400, r.body);
      equal(xmlCode(r.body), 'InvalidRequest');
      match(r.body, /Please use AWS4-HMAC-SHA256/);
    },
  );

  test(
    '8 s3cmd put --acl-public outside a public bucket fails at once: 400 AccessControlListNotSupported, nothing written',
    requireTools('s3cmd'),
    async () => {
      const s3cmd = s3cmdRunner(g, ann, work);
      const file = join(work, 'flyer.txt');
      writeFileSync(file, 'open day');
      const put = await s3cmd('put', '--acl-public', file, 's3://other/flyer.txt');
      equal(put.code === 0, false, put.output);
      match(put.output, /AccessControlListNotSupported/);
      equal(await exists('other/flyer.txt'), false);
      const plain = await s3cmd('put', file, 's3://other/flyer.txt');
      equal(plain.code, 0, plain.output);
    },
  );

  test('9 x-amz-expected-bucket-owner: the owner goes on, another is 403 AccessDenied and changes nothing', async () => {
    const right = String(ann.uid);
    const wrong = String(ben.uid);
    const bensOwn = wrong;
    await mine.send(new HeadBucketCommand({ Bucket: 'bk-alpha', ExpectedBucketOwner: right }));
    equal(
      (await s3Error(mine.send(new HeadBucketCommand({ Bucket: 'bk-alpha', ExpectedBucketOwner: wrong }))))
        .status,
      403,
    );
    const get = await s3Error(
      mine.send(new GetObjectCommand({ Bucket: 'bk-alpha', Key: 'a.txt', ExpectedBucketOwner: wrong })),
    );
    deepEqual([get.name, get.status], ['AccessDenied', 403]);
    const put = await s3Error(
      mine.send(
        new PutObjectCommand({ Bucket: 'bk-alpha', Key: 'new.txt', Body: 'x', ExpectedBucketOwner: wrong }),
      ),
    );
    equal(put.name, 'AccessDenied');
    equal(await exists('bk-alpha/new.txt'), false);
    // The owner ID is the bucket's, not the caller's: ben's bucket is expected to be his.
    await sdkClient(g, ben).send(
      new PutObjectCommand({ Bucket: 'bens', Key: 'b.txt', Body: 'b', ExpectedBucketOwner: bensOwn }),
    );
    equal(await exists('bens/b.txt'), true);
    // A bucket that is not there is still NoSuchBucket.
    equal(
      (await s3Error(mine.send(new HeadBucketCommand({ Bucket: 'nowhere', ExpectedBucketOwner: right }))))
        .status,
      404,
    );
  });

  test('10 x-amz-source-expected-bucket-owner on CopyObject and UploadPartCopy', async () => {
    const copy = (ExpectedSourceBucketOwner: string) =>
      mine.send(
        new CopyObjectCommand({
          Bucket: 'other',
          Key: 'copied.txt',
          CopySource: 'bk-alpha/a.txt',
          ExpectedSourceBucketOwner,
        }),
      );
    equal((await s3Error(copy(String(ben.uid)))).name, 'AccessDenied');
    equal(await exists('other/copied.txt'), false);
    await copy(String(ann.uid));
    equal(await exists('other/copied.txt'), true);
    const { UploadId } = await mine.send(
      new CreateMultipartUploadCommand({ Bucket: 'other', Key: 'mp.bin' }),
    );
    const part = await s3Error(
      mine.send(
        new UploadPartCopyCommand({
          Bucket: 'other',
          Key: 'mp.bin',
          UploadId,
          PartNumber: 1,
          CopySource: 'bk-alpha/a.txt',
          ExpectedSourceBucketOwner: String(ben.uid),
        }),
      ),
    );
    equal(part.name, 'AccessDenied');
  });

  test(
    '11 aws CLI: --expected-bucket-owner and --expected-source-bucket-owner',
    requireTools('aws'),
    async () => {
      const aws = awsCliRun(g, ann, work);
      const listed = await aws(
        's3api',
        'list-objects-v2',
        '--bucket',
        'bk-alpha',
        '--expected-bucket-owner',
        String(ann.uid),
      );
      equal(listed.code, 0, listed.output);
      match(listed.stdout, /"a\.txt"/);
      const refused = await aws(
        's3api',
        'list-objects-v2',
        '--bucket',
        'bk-alpha',
        '--expected-bucket-owner',
        '123456789012',
      );
      equal(refused.code === 0, false, refused.output);
      match(refused.output, /AccessDenied/);
      const copy = await aws(
        's3api',
        'copy-object',
        '--bucket',
        'other',
        '--key',
        'cli-copy.txt',
        '--copy-source',
        'bk-alpha/a.txt',
        '--expected-source-bucket-owner',
        '123456789012',
      );
      equal(copy.code === 0, false, copy.output);
      match(copy.output, /AccessDenied/);
      equal(await exists('other/cli-copy.txt'), false);
    },
  );

  test('12 a copy onto itself with new metadata (REPLACE) is a new object: its Last-Modified is the copy’s time', async () => {
    await mine.send(new PutObjectCommand({ Bucket: 'other', Key: 'touched.txt', Body: 'same bytes' }));
    const before = await mine.send(new HeadObjectCommand({ Bucket: 'other', Key: 'touched.txt' }));
    await new Promise((r) => setTimeout(r, 1100)); // Last-Modified has whole seconds
    const copied = await mine.send(
      new CopyObjectCommand({
        Bucket: 'other',
        Key: 'touched.txt',
        CopySource: 'other/touched.txt',
        MetadataDirective: 'REPLACE',
        Metadata: { touched: 'yes' },
      }),
    );
    const after = await mine.send(new HeadObjectCommand({ Bucket: 'other', Key: 'touched.txt' }));
    ok(after.LastModified! > before.LastModified!, `${after.LastModified} after ${before.LastModified}`);
    const seconds = (d: Date | undefined) => Math.floor((d?.getTime() ?? 0) / 1000);
    equal(seconds(copied.CopyObjectResult?.LastModified), seconds(after.LastModified));
    equal(after.Metadata?.touched, 'yes');
    equal(after.ETag, before.ETag, 'the same bytes');
  });
});
