import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketPolicyCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketPolicyCommand,
  GetBucketPolicyStatusCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ROOT } from '../../src/storage/types.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { awsCliRun, type S3Gateway, s3Error, sdkClient, startS3Gateway } from './fixture.ts';
import { signed, xmlCode } from './raw.ts';

const policy = (...Statement: object[]) => JSON.stringify({ Version: '2012-10-17', Statement });

/**
 * Bucket policies with the AWS SDK, the aws CLI and unsigned requests: anyone may be let in to
 * read (a download policy, as MinIO's `mc anonymous set download` writes), and Deny statements
 * refuse anyone — the owner too — by action, key pattern, user and source address; what this
 * gateway does not carry out is refused when the policy is put, never ignored.
 */
describe('S3 bucket policies', () => {
  let g: S3Gateway;
  let c: S3Client;
  let bob: S3Client;
  let key: Awaited<ReturnType<S3Gateway['user']>>;
  const anonymous = (path: string) => fetch(`${g.endpoint}${path}`);

  before(async () => {
    g = await startS3Gateway();
    key = await g.user('alice');
    c = sdkClient(g, key);
    bob = sdkClient(g, await g.user('bob'));
    await c.send(new CreateBucketCommand({ Bucket: 'site' }));
    for (const [Key, Body] of [
      ['public/index.html', '<h1>hello</h1>'],
      ['public/app.js', 'alert(1)'],
      ['private/notes.txt', 'mine'],
    ])
      await c.send(new PutObjectCommand({ Bucket: 'site', Key, Body }));
  });
  after(() => g?.stop());

  test('1 the owner puts, reads and deletes a policy; others cannot; bad or unsupported documents change nothing', async () => {
    equal((await s3Error(c.send(new GetBucketPolicyCommand({ Bucket: 'site' })))).name, 'NoSuchBucketPolicy');
    const download = policy(
      {
        Sid: 'read',
        Effect: 'Allow',
        Principal: '*',
        Action: ['s3:GetObject'],
        Resource: ['arn:aws:s3:::site/public/*'],
      },
      {
        Sid: 'list',
        Effect: 'Allow',
        Principal: { AWS: ['*'] },
        Action: ['s3:GetBucketLocation', 's3:ListBucket'],
        Resource: ['arn:aws:s3:::site'],
        Condition: { StringLike: { 's3:prefix': ['public/*'] } },
      },
    );
    equal(
      (await s3Error(bob.send(new PutBucketPolicyCommand({ Bucket: 'site', Policy: download })))).name,
      'AccessDenied',
    );
    const refused: Array<[string, string]> = [
      ['{not json', 'MalformedPolicy'],
      [policy({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject' }), 'MalformedPolicy'],
      [
        policy({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::other/*' }),
        'MalformedPolicy',
      ],
      [
        policy({ Effect: 'Maybe', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::site/*' }),
        'MalformedPolicy',
      ],
      [
        policy({ Effect: 'Deny', Principal: '*', Action: 'iam:PassRole', Resource: 'arn:aws:s3:::site/*' }),
        'MalformedPolicy',
      ],
      [
        policy({ Effect: 'Allow', Principal: '*', Action: 's3:PutObject', Resource: 'arn:aws:s3:::site/*' }),
        'NotImplemented',
      ],
      [
        policy({ Effect: 'Allow', Principal: '*', Action: 's3:*', Resource: 'arn:aws:s3:::site/*' }),
        'NotImplemented',
      ],
      // s3:Get* takes in GetBucketPolicy, which stays its owner's.
      [
        policy({ Effect: 'Allow', Principal: '*', Action: 's3:Get*', Resource: 'arn:aws:s3:::site' }),
        'NotImplemented',
      ],
      [
        policy({
          Effect: 'Allow',
          Principal: { AWS: 'arn:aws:iam::000000000000:user/bob' },
          Action: 's3:GetObject',
          Resource: 'arn:aws:s3:::site/*',
        }),
        'NotImplemented',
      ],
      [
        policy({
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:GetObject',
          Resource: 'arn:aws:s3:::site/*',
          Condition: { DateGreaterThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } },
        }),
        'NotImplemented',
      ],
    ];
    for (const [body, code] of refused) {
      const r = await signed(g, key, { method: 'PUT', path: '/site', query: { policy: '' }, body });
      equal(xmlCode(r.body.toString()), code, body);
    }
    equal((await s3Error(c.send(new GetBucketPolicyCommand({ Bucket: 'site' })))).name, 'NoSuchBucketPolicy');
    await c.send(new PutBucketPolicyCommand({ Bucket: 'site', Policy: download }));
    equal((await c.send(new GetBucketPolicyCommand({ Bucket: 'site' }))).Policy, download);
    equal((await c.send(new GetBucketPolicyStatusCommand({ Bucket: 'site' }))).PolicyStatus?.IsPublic, true);
    equal((await s3Error(bob.send(new GetBucketPolicyCommand({ Bucket: 'site' })))).name, 'AccessDenied');
  });

  test('2 anyone reads what the policy lets them, without a key, and nothing else', async () => {
    const page = await anonymous('/site/public/index.html');
    equal(page.status, 200);
    equal(await page.text(), '<h1>hello</h1>');
    equal((await anonymous('/site/private/notes.txt')).status, 403);
    const listed = await anonymous('/site?list-type=2&prefix=public/');
    equal(listed.status, 200);
    const keys = [...(await listed.text()).matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1]);
    deepEqual(keys, ['public/app.js', 'public/index.html']);
    equal((await anonymous('/site?list-type=2')).status, 403, 'a listing outside public/ is not allowed');
    equal((await anonymous('/site/public/index.html?tagging')).status, 403);
    const put = await fetch(`${g.endpoint}/site/public/evil.js`, { method: 'PUT', body: 'x' });
    equal(put.status, 403);
    equal(
      (await s3Error(c.send(new HeadObjectCommand({ Bucket: 'site', Key: 'public/evil.js' })))).status,
      404,
    );
    // Without the policy, nobody anonymous gets in again.
    await c.send(new DeleteBucketPolicyCommand({ Bucket: 'site' }));
    equal((await anonymous('/site/public/index.html')).status, 403);
  });

  test('3 Deny refuses anyone, the owner too, by action and key — per key in DeleteObjects, and as a copy source', async () => {
    await c.send(
      new PutBucketPolicyCommand({
        Bucket: 'site',
        Policy: policy(
          {
            Sid: 'keep-archive',
            Effect: 'Deny',
            Principal: '*',
            Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
            Resource: 'arn:aws:s3:::site/archive/*',
          },
          {
            Sid: 'no-secrets',
            Effect: 'Deny',
            Principal: '*',
            Action: 's3:GetObject',
            Resource: 'arn:aws:s3:::site/secret/*',
          },
        ),
      }),
    );
    for (const Key of ['archive/2025.tar', 'scratch/tmp.txt', 'secret/key.pem'])
      await c.send(new PutObjectCommand({ Bucket: 'site', Key, Body: Key }));
    const denied = await s3Error(
      c.send(new DeleteObjectCommand({ Bucket: 'site', Key: 'archive/2025.tar' })),
    );
    deepEqual([denied.name, denied.status], ['AccessDenied', 403]);
    match(denied.message, /explicit deny in the bucket policy of site \(statement keep-archive\)/);
    const many = await c.send(
      new DeleteObjectsCommand({
        Bucket: 'site',
        Delete: { Objects: [{ Key: 'archive/2025.tar' }, { Key: 'scratch/tmp.txt' }] },
      }),
    );
    deepEqual(
      many.Errors?.map((e) => [e.Key, e.Code]),
      [['archive/2025.tar', 'AccessDenied']],
    );
    deepEqual(
      many.Deleted?.map((d) => d.Key),
      ['scratch/tmp.txt'],
    );
    equal(
      (await c.send(new HeadObjectCommand({ Bucket: 'site', Key: 'archive/2025.tar' }))).ContentLength,
      16,
    );
    equal(
      (await s3Error(c.send(new GetObjectCommand({ Bucket: 'site', Key: 'secret/key.pem' })))).name,
      'AccessDenied',
    );
    equal(
      (
        await s3Error(
          c.send(
            new CopyObjectCommand({ Bucket: 'site', Key: 'leaked.pem', CopySource: 'site/secret/key.pem' }),
          ),
        )
      ).name,
      'AccessDenied',
    );
    equal((await s3Error(c.send(new HeadObjectCommand({ Bucket: 'site', Key: 'leaked.pem' })))).status, 404);
  });

  test('4 conditions: a user denied from outside a network, and a Deny of everything leaves the owner its policy', async () => {
    await c.send(
      new PutBucketPolicyCommand({
        Bucket: 'site',
        Policy: policy(
          {
            Sid: 'office-only',
            Effect: 'Deny',
            Principal: { AWS: 'arn:aws:iam::000000000000:user/alice' },
            Action: 's3:PutObject',
            Resource: 'arn:aws:s3:::site/*',
            Condition: { NotIpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '192.168.0.0/16'] } },
          },
          {
            Sid: 'loopback-reads',
            Effect: 'Deny',
            Principal: '*',
            Action: 's3:GetObject',
            Resource: 'arn:aws:s3:::site/*',
            Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } },
          },
        ),
      }),
    );
    equal(
      (await s3Error(c.send(new PutObjectCommand({ Bucket: 'site', Key: 'x.txt', Body: 'x' })))).name,
      'AccessDenied',
    );
    equal(
      (await s3Error(c.send(new GetObjectCommand({ Bucket: 'site', Key: 'public/app.js' })))).name,
      'AccessDenied',
    );
    await c.send(
      new PutBucketPolicyCommand({
        Bucket: 'site',
        Policy: policy({
          Sid: 'lockdown',
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:*',
          // One pattern for the bucket and every object in it: * spans the slash, as in IAM.
          Resource: 'arn:aws:s3:::*',
        }),
      }),
    );
    equal(
      (await s3Error(c.send(new GetObjectCommand({ Bucket: 'site', Key: 'public/app.js' })))).name,
      'AccessDenied',
    );
    ok((await c.send(new GetBucketPolicyCommand({ Bucket: 'site' }))).Policy?.includes('lockdown'));
    await c.send(new DeleteBucketPolicyCommand({ Bucket: 'site' }));
    equal(
      await (
        await c.send(new GetObjectCommand({ Bucket: 'site', Key: 'public/app.js' }))
      ).Body!.transformToString(),
      'alert(1)',
    );
  });

  test(
    '5 the aws CLI: put-bucket-policy from a file, get-bucket-policy, get-bucket-policy-status',
    requireTools('aws'),
    async () => {
      const work = makeTempDir('s3-policy');
      const aws = awsCliRun(g, key, work);
      const file = join(work, 'policy.json');
      writeFileSync(
        file,
        policy({
          Effect: 'Allow',
          Principal: '*',
          Action: ['s3:GetObject'],
          Resource: ['arn:aws:s3:::site/public/*'],
        }),
      );
      const put = await aws('s3api', 'put-bucket-policy', '--bucket', 'site', '--policy', `file://${file}`);
      equal(put.code, 0, put.output);
      const got = await aws('s3api', 'get-bucket-policy', '--bucket', 'site');
      equal(got.code, 0, got.output);
      equal(JSON.parse(JSON.parse(got.stdout).Policy).Statement[0].Resource[0], 'arn:aws:s3:::site/public/*');
      const status = await aws('s3api', 'get-bucket-policy-status', '--bucket', 'site');
      equal(JSON.parse(status.stdout).PolicyStatus.IsPublic, true);
      equal((await anonymous('/site/public/app.js')).status, 200);
      equal((await aws('s3api', 'delete-bucket-policy', '--bucket', 'site')).code, 0);
    },
  );

  test('6 a stored policy that cannot be read denies everything, closed not open, until its owner replaces it', async () => {
    const dir = await g.gw.ns.resolvePath(ROOT, '/export/site');
    await g.gw.ns.setXattrs(ROOT, dir.ino, {
      's3.policy': Buffer.from('{"bucket":"site","policy":"{damaged'),
    });
    equal(
      (await s3Error(c.send(new GetObjectCommand({ Bucket: 'site', Key: 'public/app.js' })))).name,
      'AccessDenied',
    );
    equal((await anonymous('/site/public/app.js')).status, 403);
    await c.send(new DeleteBucketPolicyCommand({ Bucket: 'site' }));
    equal(
      await (
        await c.send(new GetObjectCommand({ Bucket: 'site', Key: 'public/app.js' }))
      ).Body!.transformToString(),
      'alert(1)',
    );
  });
});
