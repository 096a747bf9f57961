import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT } from '../../src/storage/types.ts';
import type { RunResult } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { awsCliRun, type S3Gateway, startS3Gateway } from './fixture.ts';

const BUCKET = 'settings-bucket';

/** What the aws CLI prints for an S3 error: `An error occurred (Code) when calling the Op operation: …`. */
function failedWith(r: RunResult, code: string, op: string): void {
  ok(r.code !== 0, `expected ${code}, the command succeeded: ${r.output}`);
  match(r.stderr, new RegExp(`An error occurred \\(${code}\\) when calling the ${op} operation`));
}

/**
 * What tools that read a bucket's whole state (Terraform's refresh, `s3cmd info`, backup tools)
 * get for settings never set — versioning (until enabled: versioning.test.ts), tags, policies,
 * CORS, encryption…: S3's own "not set" answers, through Debian's aws CLI. Setting one the
 * gateway does not keep stays NotImplemented.
 */
describe('bucket settings read as never set, object versions as S3 lists an unversioned bucket', () => {
  let g: S3Gateway;
  let aws: (...args: string[]) => Promise<RunResult>;
  let stranger: (...args: string[]) => Promise<RunResult>;
  let work: string;

  before(async () => {
    g = await startS3Gateway();
    work = makeTempDir('bucket-settings');
    aws = awsCliRun(g, await g.user('owner'), work);
    stranger = awsCliRun(g, await g.user('stranger'), work);
    equal((await aws('s3', 'mb', `s3://${BUCKET}`)).code, 0);
    const file = join(work, 'f.txt');
    writeFileSync(file, 'content');
    for (const key of ['a.txt', 'b/c.txt', 'b/d.txt', 'e.txt'])
      equal((await aws('s3', 'cp', '--only-show-errors', file, `s3://${BUCKET}/${key}`)).code, 0);
  });
  after(() => g?.stop());

  test(
    '1 versioning, logging, accelerate, notifications and request payment read as never set',
    requireTools('aws'),
    async () => {
      for (const cmd of [
        'get-bucket-versioning',
        'get-bucket-logging',
        'get-bucket-accelerate-configuration',
        'get-bucket-notification-configuration',
      ]) {
        const r = await aws('s3api', cmd, '--bucket', BUCKET);
        equal(r.code, 0, `${cmd}: ${r.output}`);
        equal(r.stdout.trim(), '', `${cmd}: nothing set, nothing printed`);
      }
      const payer = await aws('s3api', 'get-bucket-request-payment', '--bucket', BUCKET);
      deepEqual(JSON.parse(payer.stdout), { Payer: 'BucketOwner' });
    },
  );

  test(
    '2 tags, policy, CORS, encryption, lifecycle, website, replication, object lock, public access block, ownership: S3’s 404 for "none"',
    requireTools('aws'),
    async () => {
      const rows: [cmd: string, code: string, op: string][] = [
        ['get-bucket-tagging', 'NoSuchTagSet', 'GetBucketTagging'],
        ['get-bucket-policy', 'NoSuchBucketPolicy', 'GetBucketPolicy'],
        ['get-bucket-cors', 'NoSuchCORSConfiguration', 'GetBucketCors'],
        ['get-bucket-encryption', 'ServerSideEncryptionConfigurationNotFoundError', 'GetBucketEncryption'],
        [
          'get-bucket-lifecycle-configuration',
          'NoSuchLifecycleConfiguration',
          'GetBucketLifecycleConfiguration',
        ],
        ['get-bucket-website', 'NoSuchWebsiteConfiguration', 'GetBucketWebsite'],
        ['get-bucket-replication', 'ReplicationConfigurationNotFoundError', 'GetBucketReplication'],
        [
          'get-object-lock-configuration',
          'ObjectLockConfigurationNotFoundError',
          'GetObjectLockConfiguration',
        ],
        ['get-public-access-block', 'NoSuchPublicAccessBlockConfiguration', 'GetPublicAccessBlock'],
        ['get-bucket-ownership-controls', 'OwnershipControlsNotFoundError', 'GetBucketOwnershipControls'],
      ];
      for (const [cmd, code, op] of rows) failedWith(await aws('s3api', cmd, '--bucket', BUCKET), code, op);
    },
  );

  test(
    '3 a bucket that does not exist, or that the caller may not open, answers as for any other read',
    requireTools('aws'),
    async () => {
      failedWith(
        await aws('s3api', 'get-bucket-versioning', '--bucket', 'no-such-bucket'),
        'NoSuchBucket',
        'GetBucketVersioning',
      );
      failedWith(
        await aws('s3api', 'get-bucket-policy', '--bucket', 'no-such-bucket'),
        'NoSuchBucket',
        'GetBucketPolicy',
      );
      const dir = await g.gw.ns.resolvePath(ROOT, `/export/${BUCKET}`);
      await g.gw.ns.setattr(ROOT, dir.ino, { mode: 0o700 });
      try {
        failedWith(
          await stranger('s3api', 'get-bucket-versioning', '--bucket', BUCKET),
          'AccessDenied',
          'GetBucketVersioning',
        );
        failedWith(
          await stranger('s3api', 'list-object-versions', '--bucket', BUCKET),
          'AccessDenied',
          'ListObjectVersions',
        );
      } finally {
        await g.gw.ns.setattr(ROOT, dir.ino, { mode: 0o755 });
      }
    },
  );

  test(
    '4 setting one is still NotImplemented (a policy with no statement is MalformedPolicy), and changes nothing',
    requireTools('aws'),
    async () => {
      failedWith(
        await aws(
          's3api',
          'put-bucket-encryption',
          '--bucket',
          BUCKET,
          '--server-side-encryption-configuration',
          '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}',
        ),
        'NotImplemented',
        'PutBucketEncryption',
      );
      failedWith(
        await aws(
          's3api',
          'put-bucket-policy',
          '--bucket',
          BUCKET,
          '--policy',
          '{"Version":"2012-10-17","Statement":[]}',
        ),
        'MalformedPolicy',
        'PutBucketPolicy',
      );
      failedWith(
        await aws('s3api', 'get-bucket-policy', '--bucket', BUCKET),
        'NoSuchBucketPolicy',
        'GetBucketPolicy',
      );
      failedWith(
        await aws('s3api', 'get-bucket-encryption', '--bucket', BUCKET),
        'ServerSideEncryptionConfigurationNotFoundError',
        'GetBucketEncryption',
      );
      failedWith(
        await aws('s3api', 'get-bucket-tagging', '--bucket', BUCKET),
        'NoSuchTagSet',
        'GetBucketTagging',
      );
    },
  );

  test(
    '5 an object never tagged has an empty TagSet; a missing key is NoSuchKey',
    requireTools('aws'),
    async () => {
      const r = await aws('s3api', 'get-object-tagging', '--bucket', BUCKET, '--key', 'b/c.txt');
      equal(r.code, 0, r.output);
      deepEqual(JSON.parse(r.stdout), { TagSet: [] });
      failedWith(
        await aws('s3api', 'get-object-tagging', '--bucket', BUCKET, '--key', 'nope.txt'),
        'NoSuchKey',
        'GetObjectTagging',
      );
    },
  );

  test(
    '6 list-object-versions: one "null" version per object, paged by key marker, prefixes by delimiter',
    requireTools('aws'),
    async () => {
      const all = await aws('s3api', 'list-object-versions', '--bucket', BUCKET);
      equal(all.code, 0, all.output);
      const listed = JSON.parse(all.stdout) as {
        Versions: Array<{ Key: string; VersionId: string; IsLatest: boolean; Size: number; ETag: string }>;
      };
      deepEqual(
        listed.Versions.map((v) => `${v.Key} ${v.VersionId} ${v.IsLatest} ${v.Size}`),
        ['a.txt null true 7', 'b/c.txt null true 7', 'b/d.txt null true 7', 'e.txt null true 7'],
      );
      match(listed.Versions[0]!.ETag, /^"[0-9a-f]{32}"$/);
      const page = JSON.parse(
        (await aws('s3api', 'list-object-versions', '--bucket', BUCKET, '--no-paginate', '--max-keys', '2'))
          .stdout,
      );
      deepEqual([page.IsTruncated, page.NextKeyMarker, page.NextVersionIdMarker], [true, 'b/c.txt', 'null']);
      const next = JSON.parse(
        (
          await aws(
            's3api',
            'list-object-versions',
            '--bucket',
            BUCKET,
            '--no-paginate',
            '--key-marker',
            'b/c.txt',
            '--version-id-marker',
            'null',
          )
        ).stdout,
      );
      deepEqual(
        next.Versions.map((v: { Key: string }) => v.Key),
        ['b/d.txt', 'e.txt'],
      );
      const folders = JSON.parse(
        (await aws('s3api', 'list-object-versions', '--bucket', BUCKET, '--delimiter', '/')).stdout,
      );
      deepEqual(
        folders.Versions.map((v: { Key: string }) => v.Key),
        ['a.txt', 'e.txt'],
      );
      deepEqual(folders.CommonPrefixes, [{ Prefix: 'b/' }]);
      failedWith(
        await aws('s3api', 'list-object-versions', '--bucket', BUCKET, '--version-id-marker', 'null'),
        'InvalidArgument',
        'ListObjectVersions',
      );
    },
  );

  test(
    '7 emptying a bucket version by version, as scripts written for S3 do, then removing it',
    requireTools('aws'),
    async () => {
      const listed = JSON.parse((await aws('s3api', 'list-object-versions', '--bucket', BUCKET)).stdout);
      const objects = listed.Versions.map((v: { Key: string; VersionId: string }) => ({
        Key: v.Key,
        VersionId: v.VersionId,
      }));
      const del = await aws(
        's3api',
        'delete-objects',
        '--bucket',
        BUCKET,
        '--delete',
        JSON.stringify({ Objects: objects }),
      );
      equal(del.code, 0, del.output);
      equal(JSON.parse(del.stdout).Deleted.length, 4);
      const after = await aws('s3api', 'list-object-versions', '--bucket', BUCKET);
      equal(after.stdout.includes('Versions'), false, after.stdout);
      equal((await aws('s3api', 'delete-bucket', '--bucket', BUCKET)).code, 0);
    },
  );
});
