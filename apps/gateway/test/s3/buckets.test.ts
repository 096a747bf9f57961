import { deepEqual, equal, match } from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BucketSummary, BucketUsage } from '../../src/protocols/s3/buckets.ts';
import { CFS } from '../metrics/fixture.ts';
import { type RunResult, runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { awsCliRun, type S3Gateway, startS3Gateway } from './fixture.ts';

/**
 * `./cfs s3 buckets`: every bucket with its owner, creation, mode, anonymous access and
 * lifecycle rules, and with --usage what it holds — as the aws CLI made them.
 */
describe('./cfs s3 buckets', () => {
  let g: S3Gateway;
  let ann: (...args: string[]) => Promise<RunResult>;
  let bob: (...args: string[]) => Promise<RunResult>;
  let work: string;
  const cfs = (...args: string[]) =>
    runCommand(CFS, ['s3', 'buckets', ...args, '--config', join(g.dir, 'gateway.yaml')], {
      timeoutMs: 60_000,
    });

  before(async () => {
    g = await startS3Gateway({ publicRead: ['pictures'] });
    work = makeTempDir('buckets');
    ann = awsCliRun(g, await g.user('ann'), work);
    bob = awsCliRun(g, await g.user('bob'), work);
  });
  after(() => g?.stop());

  test(
    '1 owners, anonymous access, lifecycle rules; --usage counts objects and bytes',
    requireTools('aws'),
    async () => {
      equal((await cfs()).stdout, 'No buckets.\n');
      for (const [who, bucket] of [
        [ann, 'pictures'],
        [bob, 'backups'],
      ] as const)
        equal((await who('s3', 'mb', `s3://${bucket}`)).code, 0);
      const file = join(work, 'f');
      writeFileSync(file, Buffer.alloc(1500, 1));
      for (const key of ['a.jpg', 'trip/b.jpg', 'trip/2026/c.jpg'])
        equal(
          (await ann('s3api', 'put-object', '--bucket', 'pictures', '--key', key, '--body', file)).code,
          0,
        );
      // Versioned, with one object overwritten: its old version is kept, and counted apart.
      for (const args of [
        ['put-bucket-versioning', '--bucket', 'pictures', '--versioning-configuration', 'Status=Enabled'],
        ['put-object', '--bucket', 'pictures', '--key', 'a.jpg', '--body', file],
        // Object Lock from now on: new objects kept 30 days (the ones above stay unlocked).
        [
          'put-object-lock-configuration',
          '--bucket',
          'pictures',
          '--object-lock-configuration',
          'ObjectLockEnabled=Enabled,Rule={DefaultRetention={Mode=GOVERNANCE,Days=30}}',
        ],
      ])
        equal((await ann('s3api', ...args)).code, 0);
      const rules = join(work, 'rules.json');
      writeFileSync(
        rules,
        JSON.stringify({
          Rules: [{ ID: 'old', Filter: { Prefix: 'daily/' }, Status: 'Enabled', Expiration: { Days: 7 } }],
        }),
      );
      equal(
        (
          await bob(
            's3api',
            'put-bucket-lifecycle-configuration',
            '--bucket',
            'backups',
            '--lifecycle-configuration',
            `file://${rules}`,
          )
        ).code,
        0,
      );

      // bob keeps his dailies from deletion by a bucket policy.
      const policyFile = join(work, 'policy.json');
      writeFileSync(
        policyFile,
        JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:DeleteObject',
              Resource: 'arn:aws:s3:::backups/daily/*',
            },
          ],
        }),
      );
      equal(
        (await bob('s3api', 'put-bucket-policy', '--bucket', 'backups', '--policy', `file://${policyFile}`))
          .code,
        0,
      );

      equal(
        (
          await bob(
            's3api',
            'put-bucket-cors',
            '--bucket',
            'backups',
            '--cors-configuration',
            JSON.stringify({
              CORSRules: [
                { AllowedOrigins: ['https://restore.example.com'], AllowedMethods: ['GET'] },
                { AllowedOrigins: ['https://*.example.com'], AllowedMethods: ['HEAD'] },
              ],
            }),
          )
        ).code,
        0,
      );

      const text = await cfs();
      equal(text.code, 0, text.output);
      const lines = text.stdout.trimEnd().split('\n');
      match(
        lines[0]!,
        /^Bucket +Owner +Created +Mode +Anonymous +Policy +CORS +Versioning +Object lock +Lifecycle rules$/,
      );
      match(
        lines[1]!,
        /^backups +bob +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +0755 +- +1 statement +2 rules +- +- +1$/,
      );
      match(
        lines[2]!,
        /^pictures +ann +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +0755 +read +- +- +Enabled +GOVERNANCE 30d +0$/,
      );

      const json = JSON.parse((await cfs('--usage', '--json')).stdout) as Array<
        BucketSummary & { usage: BucketUsage }
      >;
      deepEqual(
        json.map((b) => [
          b.name,
          b.owner,
          b.publicRead,
          b.lifecycle,
          b.versioning,
          b.objectLock,
          b.policy,
          b.cors,
          b.usage.objects,
          b.usage.bytes,
          b.usage.versions,
          b.usage.versionBytes,
          b.usage.complete,
        ]),
        [
          [
            'backups',
            'bob',
            false,
            ['old: expire 7 days after last write — keys under "daily/"'],
            null,
            null,
            { statements: 1, public: false },
            { rules: 2, origins: ['https://restore.example.com', 'https://*.example.com'] },
            0,
            '0',
            0,
            '0',
            true,
          ],
          [
            'pictures',
            'ann',
            true,
            [],
            'Enabled',
            { defaultRetention: 'GOVERNANCE 30d' },
            null,
            null,
            3,
            '4500',
            1,
            '1500',
            true,
          ],
        ],
      );
      match(
        (await cfs('--usage')).stdout,
        /pictures +ann .* Enabled +GOVERNANCE 30d +0 +3 +4\.5KB +1 +1\.5KB$/m,
      );
    },
  );

  test('2 the usage of a name that is no bucket is a 404 naming it', async () => {
    const r = await fetch(`http://127.0.0.1:${g.opsPort}/admin/s3/buckets/nothere/usage`);
    equal(r.status, 404);
    match(await r.text(), /no bucket named nothere/);
  });
});
