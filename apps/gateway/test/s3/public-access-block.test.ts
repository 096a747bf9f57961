import { deepEqual, equal, match } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  DeletePublicAccessBlockCommand,
  GetPublicAccessBlockCommand,
  PutBucketPolicyCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { bucketSummaries } from '../../src/protocols/s3/buckets.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { awsCliRun, type S3Gateway, s3EnvOf, s3Error, sdkClient, startS3Gateway } from './fixture.ts';
import { signed } from './raw.ts';

/**
 * A bucket's public access block, set with the aws CLI and the SDK: its owner's guard that the
 * bucket is not public whatever s3.public_read_buckets, a policy or an ACL says — checked by
 * anonymous requests.
 */
describe('S3 public access block', () => {
  let g: S3Gateway;
  let owner: { accessKeyId: string; secret: string; uid: number };
  let s3: S3Client;
  const anonymous = (path: string) => fetch(`${g.endpoint}/${path}`).then((r) => r.status);
  const block = (Bucket: string, settings: Record<string, boolean>) =>
    s3.send(new PutPublicAccessBlockCommand({ Bucket, PublicAccessBlockConfiguration: settings }));
  const publicPolicy = (bucket: string) =>
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/*` },
      ],
    });

  before(async () => {
    g = await startS3Gateway({ publicRead: ['press'] });
    owner = await g.user('editor');
    s3 = sdkClient(g, owner);
    for (const Bucket of ['press', 'site']) {
      await s3.send(new CreateBucketCommand({ Bucket }));
      await s3.send(new PutObjectCommand({ Bucket, Key: 'news.txt', Body: 'extra' }));
    }
  });
  after(async () => {
    s3?.destroy();
    await g?.stop();
  });

  test(
    '1 IgnorePublicAcls (aws CLI): s3.public_read_buckets lets no one in until the block is deleted',
    requireTools('aws'),
    async () => {
      const aws = awsCliRun(g, owner, makeTempDir('pab-cli'));
      equal(await anonymous('press/news.txt'), 200);
      const none = await aws('s3api', 'get-public-access-block', '--bucket', 'press');
      equal(none.code === 0, false);
      match(none.output, /NoSuchPublicAccessBlockConfiguration/);
      const put = await aws(
        's3api',
        'put-public-access-block',
        '--bucket',
        'press',
        '--public-access-block-configuration',
        'IgnorePublicAcls=true',
      );
      equal(put.code, 0, put.output);
      equal(await anonymous('press/news.txt'), 403);
      equal(await anonymous('press?list-type=2'), 403);
      const got = await aws('s3api', 'get-public-access-block', '--bucket', 'press');
      deepEqual(JSON.parse(got.stdout).PublicAccessBlockConfiguration, {
        BlockPublicAcls: false,
        IgnorePublicAcls: true,
        BlockPublicPolicy: false,
        RestrictPublicBuckets: false,
      });
      const [press] = await bucketSummaries(await s3EnvOf(g), () => null);
      equal(press?.publicRead, false, 'operators see it is not public');
      deepEqual(press?.publicAccessBlock, ['IgnorePublicAcls']);
      const del = await aws('s3api', 'delete-public-access-block', '--bucket', 'press');
      equal(del.code, 0, del.output);
      equal(await anonymous('press/news.txt'), 200);
    },
  );

  test('2 BlockPublicPolicy refuses a public policy; RestrictPublicBuckets makes one already there let no one in', async () => {
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'site', Policy: publicPolicy('site') }));
    equal(await anonymous('site/news.txt'), 200);
    await block('site', { RestrictPublicBuckets: true });
    equal(await anonymous('site/news.txt'), 403);
    const [, site] = await bucketSummaries(await s3EnvOf(g), () => null);
    equal(site?.policy?.public, false);

    await block('site', { BlockPublicPolicy: true });
    const refused = await s3Error(
      s3.send(new PutBucketPolicyCommand({ Bucket: 'site', Policy: publicPolicy('site') })),
    );
    equal(refused.name, 'AccessDenied');
    match(refused.message, /BlockPublicPolicy/);
    // A policy that only denies is not public: accepted.
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: 'site',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Deny', Principal: '*', Action: 's3:DeleteObject', Resource: 'arn:aws:s3:::site/*' },
          ],
        }),
      }),
    );
    equal(await anonymous('site/news.txt'), 403, 'the public policy was replaced');
  });

  test('3 BlockPublicAcls refuses public-read on writes and ACL calls; private still goes', async () => {
    await block('press', { BlockPublicAcls: true });
    for (const p of [
      () =>
        s3.send(new PutObjectCommand({ Bucket: 'press', Key: 'flyer.txt', Body: 'x', ACL: 'public-read' })),
      () => s3.send(new PutObjectAclCommand({ Bucket: 'press', Key: 'news.txt', ACL: 'public-read' })),
    ]) {
      const e = await s3Error(p());
      equal(e.name, 'AccessDenied');
      match(e.message, /BlockPublicAcls/);
    }
    await s3.send(new PutObjectAclCommand({ Bucket: 'press', Key: 'news.txt', ACL: 'private' }));
    equal(await anonymous('press/news.txt'), 403, 'private takes it from anonymous callers');
    await s3.send(new DeletePublicAccessBlockCommand({ Bucket: 'press' }));
    await s3.send(new PutObjectAclCommand({ Bucket: 'press', Key: 'news.txt', ACL: 'public-read' }));
    equal(await anonymous('press/news.txt'), 200);
  });

  test('4 a bad document is MalformedXML and changes nothing; only the owner sets or deletes a block', async () => {
    await block('press', { IgnorePublicAcls: true });
    for (const body of [
      '<PublicAccessBlockConfiguration><IgnorePublicAcls>yes</IgnorePublicAcls></PublicAccessBlockConfiguration>',
      '<PublicAccessBlockConfiguration><BlockEverything>true</BlockEverything></PublicAccessBlockConfiguration>',
      '<PublicAccessBlockConfiguration>',
    ]) {
      const r = await signed(g, owner, {
        method: 'PUT',
        path: '/press',
        query: { publicAccessBlock: '' },
        body,
      });
      equal(r.status, 400, body);
      match(r.body, /<Code>MalformedXML<\/Code>/);
    }
    const other = sdkClient(g, await g.user('reader'));
    try {
      equal(
        (
          await s3Error(
            other.send(
              new PutPublicAccessBlockCommand({ Bucket: 'press', PublicAccessBlockConfiguration: {} }),
            ),
          )
        ).name,
        'AccessDenied',
      );
      equal(
        (await s3Error(other.send(new DeletePublicAccessBlockCommand({ Bucket: 'press' })))).name,
        'AccessDenied',
      );
    } finally {
      other.destroy();
    }
    const kept = await s3.send(new GetPublicAccessBlockCommand({ Bucket: 'press' }));
    equal(kept.PublicAccessBlockConfiguration?.IgnorePublicAcls, true);
    equal(await anonymous('press/news.txt'), 403);
  });
});
