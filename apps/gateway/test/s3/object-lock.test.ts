import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { statPath } from '../../src/cli/commands/stat.ts';
import { keyPath } from '../../src/protocols/s3/keys.ts';
import { DAY_MS } from '../../src/protocols/s3/lifecycle/rules.ts';
import { LifecycleSweeper } from '../../src/protocols/s3/lifecycle/sweeper.ts';
import { runFsck } from '../../src/storage/fsck/index.ts';
import { KEPT_VERSION_HOLD, ROOT } from '../../src/storage/types.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { awsCliRun, type S3Gateway, s3EnvOf, s3Error, sdkClient, startS3Gateway } from './fixture.ts';
import { signed, xmlCode } from './raw.ts';

const HOUR = 3_600_000;
const later = (ms: number) => new Date(Math.floor((Date.now() + ms) / 1000) * 1000);
const text = async (c: S3Client, Bucket: string, Key: string, VersionId?: string) =>
  await (await c.send(new GetObjectCommand({ Bucket, Key, VersionId }))).Body!.transformToString();

/**
 * S3 Object Lock with the AWS SDK and the aws CLI: WORM retention (GOVERNANCE, COMPLIANCE),
 * legal holds and default retention, as S3 and MinIO define them — a locked version can be
 * read and replaced by a newer one but not deleted or changed until its date, by anyone; the
 * namespace enforces it, so no other protocol gets round it either.
 */
describe('S3 Object Lock', () => {
  let g: S3Gateway;
  let c: S3Client;
  let stranger: S3Client;
  let key: Awaited<ReturnType<S3Gateway['user']>>;

  before(async () => {
    g = await startS3Gateway();
    key = await g.user('alice');
    c = sdkClient(g, key);
    stranger = sdkClient(g, await g.user('mallory'));
    await c.send(new CreateBucketCommand({ Bucket: 'vault', ObjectLockEnabledForBucket: true }));
  });
  after(() => g?.stop());

  test('1 a bucket created with Object Lock has versioning Enabled for good; others and bad documents change nothing', async () => {
    equal((await c.send(new GetBucketVersioningCommand({ Bucket: 'vault' }))).Status, 'Enabled');
    deepEqual(
      (await c.send(new GetObjectLockConfigurationCommand({ Bucket: 'vault' }))).ObjectLockConfiguration,
      {
        ObjectLockEnabled: 'Enabled',
      },
    );
    const suspend = await s3Error(
      c.send(
        new PutBucketVersioningCommand({ Bucket: 'vault', VersioningConfiguration: { Status: 'Suspended' } }),
      ),
    );
    deepEqual([suspend.name, suspend.status], ['InvalidBucketState', 409]);
    equal((await c.send(new GetBucketVersioningCommand({ Bucket: 'vault' }))).Status, 'Enabled');

    // An unversioned bucket has none, and cannot get one before versioning is enabled.
    await c.send(new CreateBucketCommand({ Bucket: 'plain' }));
    equal(
      (await s3Error(c.send(new GetObjectLockConfigurationCommand({ Bucket: 'plain' })))).name,
      'ObjectLockConfigurationNotFoundError',
    );
    const rule = {
      ObjectLockEnabled: 'Enabled' as const,
      Rule: { DefaultRetention: { Mode: 'GOVERNANCE' as const, Days: 1 } },
    };
    const early = await s3Error(
      c.send(new PutObjectLockConfigurationCommand({ Bucket: 'plain', ObjectLockConfiguration: rule })),
    );
    deepEqual([early.name, early.status], ['InvalidBucketState', 409]);
    await c.send(
      new PutBucketVersioningCommand({ Bucket: 'plain', VersioningConfiguration: { Status: 'Enabled' } }),
    );
    equal(
      (
        await s3Error(
          stranger.send(
            new PutObjectLockConfigurationCommand({ Bucket: 'plain', ObjectLockConfiguration: rule }),
          ),
        )
      ).name,
      'AccessDenied',
    );
    // Days and Years together, a zero period, an unknown mode: refused, nothing set.
    for (const [body, code] of [
      [
        '<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years></DefaultRetention></Rule></ObjectLockConfiguration>',
        'MalformedXML',
      ],
      [
        '<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>0</Days></DefaultRetention></Rule></ObjectLockConfiguration>',
        'InvalidArgument',
      ],
      [
        '<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>FOREVER</Mode><Days>1</Days></DefaultRetention></Rule></ObjectLockConfiguration>',
        'MalformedXML',
      ],
      [
        '<ObjectLockConfiguration><ObjectLockEnabled>Disabled</ObjectLockEnabled></ObjectLockConfiguration>',
        'MalformedXML',
      ],
    ]) {
      const r = await signed(g, key, { method: 'PUT', path: '/plain', query: { 'object-lock': '' }, body });
      equal(xmlCode(r.body.toString()), code, body);
    }
    equal(
      (await s3Error(c.send(new GetObjectLockConfigurationCommand({ Bucket: 'plain' })))).name,
      'ObjectLockConfigurationNotFoundError',
    );
    await c.send(new PutObjectLockConfigurationCommand({ Bucket: 'plain', ObjectLockConfiguration: rule }));
    deepEqual(
      (await c.send(new GetObjectLockConfigurationCommand({ Bucket: 'plain' }))).ObjectLockConfiguration,
      rule,
    );
  });

  test('2 COMPLIANCE: the version reads back with its lock, a newer one replaces it, but nobody deletes it or shortens its retention', async () => {
    const until = later(HOUR);
    const put = await c.send(
      new PutObjectCommand({
        Bucket: 'vault',
        Key: 'records/2026.csv',
        Body: 'year,total\n2026,42\n',
        ObjectLockMode: 'COMPLIANCE',
        ObjectLockRetainUntilDate: until,
      }),
    );
    const head = await c.send(new HeadObjectCommand({ Bucket: 'vault', Key: 'records/2026.csv' }));
    equal(head.ObjectLockMode, 'COMPLIANCE');
    equal(+head.ObjectLockRetainUntilDate!, +until);
    const retention = await c.send(
      new GetObjectRetentionCommand({ Bucket: 'vault', Key: 'records/2026.csv', VersionId: put.VersionId }),
    );
    deepEqual([retention.Retention?.Mode, +retention.Retention!.RetainUntilDate!], ['COMPLIANCE', +until]);

    // A newer version and a delete marker are allowed: the locked version stays, readable.
    await c.send(
      new PutObjectCommand({ Bucket: 'vault', Key: 'records/2026.csv', Body: 'year,total\n2026,43\n' }),
    );
    await c.send(new DeleteObjectCommand({ Bucket: 'vault', Key: 'records/2026.csv' }));
    equal(await text(c, 'vault', 'records/2026.csv', put.VersionId), 'year,total\n2026,42\n');
    for (const bypass of [false, true]) {
      const refused = await s3Error(
        c.send(
          new DeleteObjectCommand({
            Bucket: 'vault',
            Key: 'records/2026.csv',
            VersionId: put.VersionId,
            BypassGovernanceRetention: bypass,
          }),
        ),
      );
      deepEqual([refused.name, refused.status], ['AccessDenied', 403]);
      match(refused.message, /object lock/);
    }
    const many = await c.send(
      new DeleteObjectsCommand({
        Bucket: 'vault',
        Delete: { Objects: [{ Key: 'records/2026.csv', VersionId: put.VersionId }] },
      }),
    );
    equal(many.Errors?.[0]?.Code, 'AccessDenied');
    // Shorter, or GOVERNANCE instead: refused; longer: taken.
    for (const Retention of [
      { Mode: 'COMPLIANCE' as const, RetainUntilDate: later(HOUR / 2) },
      { Mode: 'GOVERNANCE' as const, RetainUntilDate: later(2 * HOUR) },
    ]) {
      const r = await s3Error(
        c.send(
          new PutObjectRetentionCommand({
            Bucket: 'vault',
            Key: 'records/2026.csv',
            VersionId: put.VersionId,
            Retention,
            BypassGovernanceRetention: true,
          }),
        ),
      );
      equal(r.name, 'AccessDenied');
    }
    const longer = later(2 * HOUR);
    await c.send(
      new PutObjectRetentionCommand({
        Bucket: 'vault',
        Key: 'records/2026.csv',
        VersionId: put.VersionId,
        Retention: { Mode: 'COMPLIANCE', RetainUntilDate: longer },
      }),
    );
    const held = await c.send(
      new HeadObjectCommand({ Bucket: 'vault', Key: 'records/2026.csv', VersionId: put.VersionId }),
    );
    equal(+held.ObjectLockRetainUntilDate!, +longer);
    // The namespace itself refuses: root cannot overwrite or remove the kept version's inode.
    const kept = await g.gw.ns.getattr(
      (await (
        await s3EnvOf(g)
      ).versions.find(
        (
          await g.gw.ns.resolvePath(ROOT, '/export/vault')
        ).ino,
        keyPath('records/2026.csv'),
        put.VersionId!,
      ))!.attrs.ino,
    );
    // Kept (noncurrent), it is read-only until removed; its retention is in its attributes
    // (HeadObject above), what S3 checks before removing it, and its hold once current again.
    equal(kept.immutableUntilNs, KEPT_VERSION_HOLD);
    await g.gw.ns.write(ROOT, kept.ino, 0n, Buffer.from('X')).then(
      () => assertNever('a write to a locked version'),
      (e: { code?: string }) => equal(e.code, 'EPERM'),
    );
  });

  test('3 GOVERNANCE yields to the bucket owner with x-amz-bypass-governance-retention, and to nobody else', async () => {
    const put = await c.send(
      new PutObjectCommand({
        Bucket: 'vault',
        Key: 'draft.txt',
        Body: 'draft',
        ObjectLockMode: 'GOVERNANCE',
        ObjectLockRetainUntilDate: later(HOUR),
      }),
    );
    const del = (bypass: boolean) =>
      c.send(
        new DeleteObjectCommand({
          Bucket: 'vault',
          Key: 'draft.txt',
          VersionId: put.VersionId,
          BypassGovernanceRetention: bypass,
        }),
      );
    equal((await s3Error(del(false))).name, 'AccessDenied');
    // Shortening without the bypass: refused; with it: taken.
    const shorter = { Mode: 'GOVERNANCE' as const, RetainUntilDate: later(HOUR / 2) };
    equal(
      (
        await s3Error(
          c.send(new PutObjectRetentionCommand({ Bucket: 'vault', Key: 'draft.txt', Retention: shorter })),
        )
      ).name,
      'AccessDenied',
    );
    await c.send(
      new PutObjectRetentionCommand({
        Bucket: 'vault',
        Key: 'draft.txt',
        Retention: shorter,
        BypassGovernanceRetention: true,
      }),
    );
    equal(
      +(await c.send(new HeadObjectCommand({ Bucket: 'vault', Key: 'draft.txt' })))
        .ObjectLockRetainUntilDate!,
      +shorter.RetainUntilDate,
    );
    // A stranger's bypass is no bypass (and writes to the bucket are not theirs anyway).
    equal(
      (
        await s3Error(
          stranger.send(
            new DeleteObjectCommand({
              Bucket: 'vault',
              Key: 'draft.txt',
              VersionId: put.VersionId,
              BypassGovernanceRetention: true,
            }),
          ),
        )
      ).name,
      'AccessDenied',
    );
    await del(true);
    equal(
      (
        await s3Error(
          c.send(new HeadObjectCommand({ Bucket: 'vault', Key: 'draft.txt', VersionId: put.VersionId })),
        )
      ).status,
      404,
    );
  });

  test('4 a legal hold keeps a version whatever its retention, until it is taken off', async () => {
    const put = await c.send(
      new PutObjectCommand({
        Bucket: 'vault',
        Key: 'evidence.bin',
        Body: 'exhibit A',
        ObjectLockLegalHoldStatus: 'ON',
      }),
    );
    equal(
      (await c.send(new HeadObjectCommand({ Bucket: 'vault', Key: 'evidence.bin' })))
        .ObjectLockLegalHoldStatus,
      'ON',
    );
    equal(
      (await c.send(new GetObjectLegalHoldCommand({ Bucket: 'vault', Key: 'evidence.bin' }))).LegalHold
        ?.Status,
      'ON',
    );
    equal(
      (await s3Error(c.send(new GetObjectRetentionCommand({ Bucket: 'vault', Key: 'evidence.bin' })))).name,
      'NoSuchObjectLockConfiguration',
    );
    const del = () =>
      c.send(
        new DeleteObjectCommand({
          Bucket: 'vault',
          Key: 'evidence.bin',
          VersionId: put.VersionId,
          BypassGovernanceRetention: true,
        }),
      );
    equal((await s3Error(del())).name, 'AccessDenied');
    // An operator sees it with ./cfs stat.
    match(
      (await statPath(g.gw.ns, '/export/vault/evidence.bin')).stdout,
      /^ {2}Hold: immutable under a legal hold \(S3 Object Lock\)$/m,
    );
    await c.send(
      new PutObjectLegalHoldCommand({ Bucket: 'vault', Key: 'evidence.bin', LegalHold: { Status: 'OFF' } }),
    );
    equal(
      (await c.send(new GetObjectLegalHoldCommand({ Bucket: 'vault', Key: 'evidence.bin' }))).LegalHold
        ?.Status,
      'OFF',
    );
    await del();
  });

  test('5 default retention: every new version gets it from its creation — PUT, multipart, copy — unless the request names its own', async () => {
    await c.send(new CreateBucketCommand({ Bucket: 'backups', ObjectLockEnabledForBucket: true }));
    await c.send(
      new PutObjectLockConfigurationCommand({
        Bucket: 'backups',
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 7 } },
        },
      }),
    );
    const t0 = Date.now();
    await c.send(new PutObjectCommand({ Bucket: 'backups', Key: 'night-1.tar', Body: 'tarball' }));
    const upload = await c.send(new CreateMultipartUploadCommand({ Bucket: 'backups', Key: 'night-2.tar' }));
    const part = await c.send(
      new UploadPartCommand({
        Bucket: 'backups',
        Key: 'night-2.tar',
        UploadId: upload.UploadId,
        PartNumber: 1,
        Body: Buffer.alloc(1000, 7),
      }),
    );
    await c.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'backups',
        Key: 'night-2.tar',
        UploadId: upload.UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    const own = later(30 * DAY_MS);
    await c.send(
      new PutObjectCommand({
        Bucket: 'backups',
        Key: 'monthly.tar',
        Body: 'month',
        ObjectLockMode: 'COMPLIANCE',
        ObjectLockRetainUntilDate: own,
      }),
    );
    // The source's lock is not copied: the copy gets the destination's default.
    await c.send(
      new CopyObjectCommand({ Bucket: 'backups', Key: 'night-3.tar', CopySource: 'backups/monthly.tar' }),
    );
    for (const Key of ['night-1.tar', 'night-2.tar', 'night-3.tar']) {
      const h = await c.send(new HeadObjectCommand({ Bucket: 'backups', Key }));
      equal(h.ObjectLockMode, 'GOVERNANCE', Key);
      const until = +h.ObjectLockRetainUntilDate!;
      ok(
        until >= t0 + 7 * DAY_MS - 1000 && until <= Date.now() + 7 * DAY_MS + 1000,
        `${Key}: ${h.ObjectLockRetainUntilDate}`,
      );
    }
    const monthly = await c.send(new HeadObjectCommand({ Bucket: 'backups', Key: 'monthly.tar' }));
    deepEqual([monthly.ObjectLockMode, +monthly.ObjectLockRetainUntilDate!], ['COMPLIANCE', +own]);
  });

  test('6 bad lock requests are refused before anything is written', async () => {
    const absent = async (Bucket: string, Key: string) =>
      equal((await s3Error(c.send(new HeadObjectCommand({ Bucket, Key })))).status, 404);
    const put = (Bucket: string, Key: string, headers: Record<string, string>) =>
      signed(g, key, {
        method: 'PUT',
        path: `/${Bucket}/${Key}`,
        headers: { 'content-md5': 'hOMOQZcYLzmD6K4SJUrrlw==', ...headers },
        body: 'content',
      });
    const cases: Array<[Record<string, string>, string]> = [
      [{ 'x-amz-object-lock-mode': 'GOVERNANCE' }, 'InvalidArgument'],
      [{ 'x-amz-object-lock-retain-until-date': later(HOUR).toISOString() }, 'InvalidArgument'],
      [
        {
          'x-amz-object-lock-mode': 'FOREVER',
          'x-amz-object-lock-retain-until-date': later(HOUR).toISOString(),
        },
        'InvalidArgument',
      ],
      [
        { 'x-amz-object-lock-mode': 'GOVERNANCE', 'x-amz-object-lock-retain-until-date': 'tomorrow' },
        'InvalidArgument',
      ],
      [
        {
          'x-amz-object-lock-mode': 'GOVERNANCE',
          'x-amz-object-lock-retain-until-date': '2020-01-01T00:00:00Z',
        },
        'InvalidArgument',
      ],
      [{ 'x-amz-object-lock-legal-hold': 'MAYBE' }, 'InvalidArgument'],
    ];
    for (const [headers, code] of cases) {
      const r = await put('vault', 'bad.txt', headers);
      equal(xmlCode(r.body.toString()), code, JSON.stringify(headers));
      await absent('vault', 'bad.txt');
    }
    // Without Content-MD5 or a checksum, lock headers are refused as S3 refuses them.
    const bare = await signed(g, key, {
      method: 'PUT',
      path: '/vault/bad.txt',
      headers: { 'x-amz-object-lock-legal-hold': 'ON' },
      body: 'content',
    });
    equal(xmlCode(bare.body.toString()), 'InvalidRequest');
    await absent('vault', 'bad.txt');
    // A bucket without Object Lock: lock headers and lock subresources are InvalidRequest.
    await c.send(new CreateBucketCommand({ Bucket: 'open' }));
    equal(
      (
        await s3Error(
          c.send(
            new PutObjectCommand({ Bucket: 'open', Key: 'x', Body: 'x', ObjectLockLegalHoldStatus: 'ON' }),
          ),
        )
      ).name,
      'InvalidRequest',
    );
    await absent('open', 'x');
    await c.send(new PutObjectCommand({ Bucket: 'open', Key: 'x', Body: 'x' }));
    equal(
      (
        await s3Error(
          c.send(new PutObjectLegalHoldCommand({ Bucket: 'open', Key: 'x', LegalHold: { Status: 'ON' } })),
        )
      ).name,
      'InvalidRequest',
    );
    const doc = await signed(g, key, {
      method: 'PUT',
      path: '/vault/records/2026.csv',
      query: { retention: '' },
      body: '<Retention><Mode>GOVERNANCE</Mode></Retention>',
    });
    equal(xmlCode(doc.body.toString()), 'MalformedXML');
    await c.send(new DeleteObjectCommand({ Bucket: 'open', Key: 'x' }));
  });

  test('7 lifecycle expiry of noncurrent versions passes locked ones by', async () => {
    await c.send(new CreateBucketCommand({ Bucket: 'rotating', ObjectLockEnabledForBucket: true }));
    await c.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: 'rotating',
        LifecycleConfiguration: {
          Rules: [
            {
              ID: 'old',
              Status: 'Enabled',
              Filter: { Prefix: '' },
              NoncurrentVersionExpiration: { NoncurrentDays: 1 },
            },
          ],
        },
      }),
    );
    const v1 = await c.send(
      new PutObjectCommand({
        Bucket: 'rotating',
        Key: 'k',
        Body: 'kept by its lock',
        ObjectLockMode: 'COMPLIANCE',
        ObjectLockRetainUntilDate: later(3650 * DAY_MS),
      }),
    );
    const v2 = await c.send(new PutObjectCommand({ Bucket: 'rotating', Key: 'k', Body: 'free to go' }));
    await c.send(new PutObjectCommand({ Bucket: 'rotating', Key: 'k', Body: 'current' }));
    const report = await new LifecycleSweeper(
      await s3EnvOf(g),
      g.gw.log,
      () => Date.now() + 2 * DAY_MS,
    ).run();
    equal(report.expired, 1);
    equal(report.buckets.find((b) => b.bucket === 'rotating')?.error, undefined);
    equal(await text(c, 'rotating', 'k', v1.VersionId), 'kept by its lock');
    equal(
      (
        await s3Error(
          c.send(new HeadObjectCommand({ Bucket: 'rotating', Key: 'k', VersionId: v2.VersionId })),
        )
      ).status,
      404,
    );
  });

  test(
    '8 the aws CLI: create-bucket --object-lock-enabled-for-bucket, put-object with a retention, get-object-retention, put-object-legal-hold, a refused delete',
    requireTools('aws'),
    async () => {
      const aws = awsCliRun(g, key, makeTempDir('aws-lock'));
      equal(
        (await aws('s3api', 'create-bucket', '--bucket', 'cli-vault', '--object-lock-enabled-for-bucket'))
          .code,
        0,
      );
      const until = later(HOUR).toISOString();
      const file = join(makeTempDir('aws-lock-body'), 'b.txt');
      writeFileSync(file, 'cli body');
      const put = await aws(
        's3api',
        'put-object',
        '--bucket',
        'cli-vault',
        '--key',
        'b.txt',
        '--body',
        file,
        '--object-lock-mode',
        'GOVERNANCE',
        '--object-lock-retain-until-date',
        until,
      );
      equal(put.code, 0, put.output);
      const versionId = JSON.parse(put.stdout).VersionId as string;
      const got = await aws('s3api', 'get-object-retention', '--bucket', 'cli-vault', '--key', 'b.txt');
      equal(got.code, 0, got.output);
      equal(JSON.parse(got.stdout).Retention.Mode, 'GOVERNANCE');
      const legalHold = (status: string) =>
        aws(
          's3api',
          'put-object-legal-hold',
          '--bucket',
          'cli-vault',
          '--key',
          'b.txt',
          '--legal-hold',
          `Status=${status}`,
        );
      const deleteIt = () =>
        aws(
          's3api',
          'delete-object',
          '--bucket',
          'cli-vault',
          '--key',
          'b.txt',
          '--version-id',
          versionId,
          '--bypass-governance-retention',
        );
      equal((await legalHold('ON')).code, 0);
      const refused = await deleteIt();
      ok(refused.code !== 0, refused.output);
      match(refused.output, /AccessDenied/);
      equal((await legalHold('OFF')).code, 0);
      const deleted = await deleteIt();
      equal(deleted.code, 0, deleted.output);
    },
  );

  test('9 fsck finds the tree of locked versions consistent', async () => {
    const report = await runFsck({ dbFile: `${g.dir}/state/meta.db`, dataDir: `${g.dir}/state/data` });
    deepEqual(report.problems, []);
  });
});

function assertNever(what: string): never {
  throw new Error(`${what} succeeded`);
}
