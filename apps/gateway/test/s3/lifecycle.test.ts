import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { removeKey } from '../../src/protocols/s3/handlers/delete-object.ts';
import { DAY_MS } from '../../src/protocols/s3/lifecycle/rules.ts';
import {
  type LifecycleStatus,
  LifecycleSweeper,
  type SweepReport,
} from '../../src/protocols/s3/lifecycle/sweeper.ts';
import { ROOT } from '../../src/storage/types.ts';
import { CFS, sampleValue, scrape } from '../metrics/fixture.ts';
import { capturedLog } from '../support/log.ts';
import { type RunResult, runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { awsCliRun, type S3Gateway, s3EnvOf, startS3Gateway } from './fixture.ts';

const BUCKET = 'lifecycle';
const today = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS).toISOString();

const RULES = {
  Rules: [
    { ID: 'expire-logs', Filter: { Prefix: 'logs/' }, Status: 'Enabled', Expiration: { Days: 1 } },
    {
      ID: 'expire-temp',
      Filter: { And: { Prefix: 'tmp/', Tags: [{ Key: 'temp', Value: 'yes' }] } },
      Status: 'Enabled',
      Expiration: { Date: today },
    },
    { ID: 'off', Filter: { Prefix: 'keep/' }, Status: 'Disabled', Expiration: { Days: 1 } },
    {
      ID: 'abort-uploads',
      Filter: { Prefix: 'uploads/' },
      Status: 'Enabled',
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
    },
  ],
};

/**
 * Bucket lifecycle rules as S3 users set them (aws CLI put/get/delete-bucket-lifecycle-
 * configuration) and as the gateway carries them out: objects expire by age or date under a
 * prefix and tags, incomplete uploads are aborted, refused configurations change nothing, and
 * operators see the rules and sweep at once with `./cfs s3 lifecycle [run]`.
 */
describe('S3 bucket lifecycle rules', () => {
  let g: S3Gateway;
  let aws: (...args: string[]) => Promise<RunResult>;
  let other: (...args: string[]) => Promise<RunResult>;
  let work: string;
  const audits: Array<{ action: string; outcome: string; detail?: unknown }> = [];
  const captured = capturedLog();

  const json = async (...args: string[]) => {
    const r = await aws(...args);
    equal(r.code, 0, r.output);
    return r.stdout.trim() === '' ? {} : (JSON.parse(r.stdout) as Record<string, unknown>);
  };
  const keys = async () =>
    (((await json('s3api', 'list-objects-v2', '--bucket', BUCKET)).Contents ?? []) as Array<{ Key: string }>)
      .map((o) => o.Key)
      .sort();
  const putRules = (who: typeof aws, rules: unknown) => {
    const file = join(work, `rules-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(rules));
    return who(
      's3api',
      'put-bucket-lifecycle-configuration',
      '--bucket',
      BUCKET,
      '--lifecycle-configuration',
      `file://${file}`,
    );
  };
  const cfs = (...args: string[]) =>
    runCommand(CFS, [...args, '--config', join(g.dir, 'gateway.yaml')], { timeoutMs: 60_000 });

  before(async () => {
    // Sweeps only when asked: each one in this file is the test's own.
    g = await startS3Gateway({ log: captured.log, s3Extra: 'lifecycle_interval: 0' });
    const real = g.gw.admin.audit;
    g.gw.admin.audit = (e) => {
      audits.push({ action: e.action, outcome: e.outcome, detail: e.detail });
      return real(e);
    };
    work = makeTempDir('lifecycle');
    aws = awsCliRun(g, await g.user('owner'), work);
    other = awsCliRun(g, await g.user('stranger'), work);
    equal((await aws('s3', 'mb', `s3://${BUCKET}`)).code, 0);
  });
  after(() => g?.stop());

  test('1 rules set with the aws CLI read back as set', requireTools('aws'), async () => {
    const none = await aws('s3api', 'get-bucket-lifecycle-configuration', '--bucket', BUCKET);
    match(none.output, /NoSuchLifecycleConfiguration/);
    const put = await putRules(aws, RULES);
    equal(put.code, 0, put.output);
    const got = (await json('s3api', 'get-bucket-lifecycle-configuration', '--bucket', BUCKET)) as {
      Rules: Array<Record<string, unknown>>;
    };
    deepEqual(
      got.Rules.map((r) => [r.ID, r.Status, r.Filter, r.Expiration, r.AbortIncompleteMultipartUpload]),
      [
        ['expire-logs', 'Enabled', { Prefix: 'logs/' }, { Days: 1 }, undefined],
        [
          'expire-temp',
          'Enabled',
          { And: { Prefix: 'tmp/', Tags: [{ Key: 'temp', Value: 'yes' }] } },
          { Date: today.replace('.000Z', '+00:00') },
          undefined,
        ],
        ['off', 'Disabled', { Prefix: 'keep/' }, { Days: 1 }, undefined],
        ['abort-uploads', 'Enabled', { Prefix: 'uploads/' }, undefined, { DaysAfterInitiation: 1 }],
      ],
    );
  });

  test(
    '2 a refused configuration, or a caller not the owner, changes nothing',
    requireTools('aws'),
    async () => {
      const cases: Array<[unknown, RegExp]> = [
        [
          {
            Rules: [
              {
                ID: 'x',
                Filter: {},
                Status: 'Enabled',
                Transitions: [{ Days: 30, StorageClass: 'GLACIER' }],
              },
            ],
          },
          /NotImplemented/,
        ],
        [{ Rules: [{ ID: 'x', Filter: {}, Status: 'Enabled', Expiration: { Days: 0 } }] }, /InvalidArgument/],
        [
          {
            Rules: [{ ID: 'x', Filter: {}, Status: 'Enabled', Expiration: { Date: '2026-12-01T12:00:00Z' } }],
          },
          /InvalidArgument.*midnight GMT/,
        ],
        [
          {
            Rules: [
              { ID: 'x', Filter: {}, Status: 'Enabled', Expiration: { Days: 1 } },
              { ID: 'x', Filter: {}, Status: 'Enabled', Expiration: { Days: 2 } },
            ],
          },
          /InvalidArgument.*unique/,
        ],
        [
          {
            Rules: [
              {
                ID: 'x',
                Filter: { Tag: { Key: 'k', Value: 'v' } },
                Status: 'Enabled',
                AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
              },
            ],
          },
          /InvalidRequest/,
        ],
      ];
      for (const [rules, error] of cases) {
        const r = await putRules(aws, rules);
        equal(r.code === 0, false, JSON.stringify(rules));
        match(r.output, error);
      }
      const denied = await putRules(other, {
        Rules: [{ ID: 'mine', Filter: {}, Status: 'Enabled', Expiration: { Days: 1 } }],
      });
      match(denied.output, /AccessDenied/);
      match((await other('s3api', 'delete-bucket-lifecycle', '--bucket', BUCKET)).output, /AccessDenied/);
      const got = (await json('s3api', 'get-bucket-lifecycle-configuration', '--bucket', BUCKET)) as {
        Rules: Array<{ ID: string }>;
      };
      deepEqual(
        got.Rules.map((r) => r.ID),
        ['expire-logs', 'expire-temp', 'off', 'abort-uploads'],
      );
    },
  );

  test(
    '3 ./cfs s3 lifecycle run expires what is due — by date and tag, by age — and nothing else',
    requireTools('aws'),
    async () => {
      const body = join(work, 'body.txt');
      writeFileSync(body, 'x'.repeat(1000));
      for (const k of ['tmp/a.txt', 'logs/old.log', 'logs/new.log', 'keep/old.txt', 'tmp/b.txt'])
        equal((await aws('s3api', 'put-object', '--bucket', BUCKET, '--key', k, '--body', body)).code, 0);
      equal(
        (
          await aws(
            's3api',
            'put-object',
            '--bucket',
            BUCKET,
            '--key',
            'tmp/tagged.txt',
            '--body',
            body,
            '--tagging',
            'temp=yes&x=1',
          )
        ).code,
        0,
      );
      // Two objects last written three days ago (what `touch -d` over NFS or SMB does).
      const threeDaysAgo = BigInt(Date.now() - 3 * DAY_MS) * 1_000_000n;
      for (const path of ['/export/lifecycle/logs/old.log', '/export/lifecycle/keep/old.txt']) {
        const a = await g.gw.ns.resolvePath(ROOT, path);
        await g.gw.ns.setattr(ROOT, a.ino, { mtimeNs: threeDaysAgo });
      }

      const listed = await cfs('s3', 'lifecycle');
      equal(listed.code, 0, listed.output);
      match(
        listed.stdout,
        /lifecycle +expire-logs +Enabled +expire 1 day after last write — keys under "logs\/"/,
      );
      match(listed.stdout, /lifecycle +off +Disabled/);
      match(listed.stdout, /Next sweep: none scheduled \(s3.lifecycle_interval: 0/);

      const run = await cfs('s3', 'lifecycle', 'run', '--json');
      equal(run.code, 0, run.output);
      const report = JSON.parse(run.stdout) as SweepReport;
      equal(report.expired, 2);
      equal(report.freedBytes, '2000');
      deepEqual(
        report.buckets.map((b) => [b.bucket, b.expired, b.aborted, b.error]),
        [[BUCKET, 2, 0, undefined]],
      );
      deepEqual(await keys(), ['keep/old.txt', 'logs/new.log', 'tmp/a.txt', 'tmp/b.txt']);

      const text = await cfs('s3', 'lifecycle', 'run');
      equal(text.code, 0, text.output);
      match(
        text.stdout,
        /^0 objects expired \(0B freed\), 0 incomplete uploads aborted, 1 bucket with rules/,
      );

      const { samples } = await scrape(`http://127.0.0.1:${g.opsPort}`);
      equal(sampleValue(samples, 'gateway_s3_lifecycle_expired_total'), 2);
      equal(sampleValue(samples, 'gateway_s3_lifecycle_bytes_freed_total'), 2000);
      ok(
        captured.logged('S3 lifecycle: bucket lifecycle: 2 objects expired (2KB freed)'),
        captured.lines.join(''),
      );
      const audit = audits.find((a) => a.action === 's3.lifecycle.run' && a.outcome === 'ok');
      deepEqual(audit?.detail, { expired: 2, freedBytes: '2000', aborted: 0 });
    },
  );

  test('4 an object rewritten after it was examined is not removed', async () => {
    const env = await s3EnvOf(g);
    // Rewritten between the examination and the removal: the sweep's removal must leave it.
    const a = await g.gw.ns.resolvePath(ROOT, '/export/lifecycle/logs/new.log');
    await g.gw.ns.write(ROOT, a.ino, 0n, Buffer.from('fresh'));
    equal(
      await removeKey(
        env,
        ROOT,
        (await g.gw.ns.resolvePath(ROOT, '/export/lifecycle')).ino,
        'logs/new.log',
        a,
      ),
      false,
    );
    deepEqual(await keys(), ['keep/old.txt', 'logs/new.log', 'tmp/a.txt', 'tmp/b.txt']);
  });

  test(
    '5 incomplete uploads go DaysAfterInitiation after they started; objects when their days have passed',
    requireTools('aws'),
    async () => {
      const started = (await json(
        's3api',
        'create-multipart-upload',
        '--bucket',
        BUCKET,
        '--key',
        'uploads/big.bin',
      )) as {
        UploadId: string;
      };
      const elsewhere = (await json(
        's3api',
        'create-multipart-upload',
        '--bucket',
        BUCKET,
        '--key',
        'keep/big.bin',
      )) as {
        UploadId: string;
      };
      const uploads = async () =>
        (
          ((await json('s3api', 'list-multipart-uploads', '--bucket', BUCKET)).Uploads ?? []) as Array<{
            UploadId: string;
          }>
        )
          .map((u) => u.UploadId)
          .sort();
      const env = await s3EnvOf(g);
      // Half a day on: not yet (the rule says one day, rounded up to midnight).
      const soon = await new LifecycleSweeper(
        env,
        captured.log,
        () => Date.now() + DAY_MS / 2 - 60_000,
      ).run();
      equal(soon.aborted, 0);
      deepEqual(await uploads(), [started.UploadId, elsewhere.UploadId].sort());
      // Two days on: the upload under uploads/ goes, the other stays; logs/new.log is now old enough.
      const later = await new LifecycleSweeper(env, captured.log, () => Date.now() + 2 * DAY_MS).run();
      equal(later.aborted, 1);
      equal(later.expired, 1);
      deepEqual(await uploads(), [elsewhere.UploadId]);
      deepEqual(await keys(), ['keep/old.txt', 'tmp/a.txt', 'tmp/b.txt']);
    },
  );

  test('6 delete-bucket-lifecycle: no rules, nothing more expires', requireTools('aws'), async () => {
    equal((await aws('s3api', 'delete-bucket-lifecycle', '--bucket', BUCKET)).code, 0);
    match(
      (await aws('s3api', 'get-bucket-lifecycle-configuration', '--bucket', BUCKET)).output,
      /NoSuchLifecycleConfiguration/,
    );
    const status = JSON.parse((await cfs('s3', 'lifecycle', '--json')).stdout) as LifecycleStatus;
    deepEqual(status.buckets, []);
    equal((await cfs('s3', 'lifecycle')).stdout.split('\n')[0], 'No bucket has lifecycle rules.');
    const env = await s3EnvOf(g);
    equal((await new LifecycleSweeper(env, captured.log, () => Date.now() + 400 * DAY_MS).run()).expired, 0);
    deepEqual(await keys(), ['keep/old.txt', 'tmp/a.txt', 'tmp/b.txt']);
  });
});

describe('scheduled lifecycle sweeps', () => {
  test(
    '7 with s3.lifecycle_interval the gateway sweeps by itself, again and again',
    requireTools('aws'),
    async () => {
      const captured = capturedLog();
      const g = await startS3Gateway({ log: captured.log, s3Extra: 'lifecycle_interval: 1s' });
      try {
        const work = makeTempDir('lifecycle-scheduled');
        const aws = awsCliRun(g, await g.user('owner'), work);
        equal((await aws('s3', 'mb', 's3://scheduled')).code, 0);
        const rules = join(work, 'rules.json');
        writeFileSync(
          rules,
          JSON.stringify({
            Rules: [
              { ID: 'now', Filter: { Prefix: 'tmp/' }, Status: 'Enabled', Expiration: { Date: today } },
            ],
          }),
        );
        const set = await aws(
          's3api',
          'put-bucket-lifecycle-configuration',
          '--bucket',
          'scheduled',
          '--lifecycle-configuration',
          `file://${rules}`,
        );
        equal(set.code, 0, set.output);
        const body = join(work, 'body');
        writeFileSync(body, 'bye');
        const gone = async (key: string) => {
          for (let i = 0; i < 100; i++) {
            const r = await aws('s3api', 'head-object', '--bucket', 'scheduled', '--key', key);
            if (r.code !== 0) return;
            await new Promise((res) => setTimeout(res, 200));
          }
          throw new Error(`${key} was not expired by a scheduled sweep`);
        };
        // Two objects put one after the other's removal: the sweeps keep coming.
        for (const key of ['tmp/first', 'tmp/second']) {
          equal(
            (await aws('s3api', 'put-object', '--bucket', 'scheduled', '--key', key, '--body', body)).code,
            0,
          );
          await gone(key);
        }
        const status = JSON.parse(
          (await runCommand(CFS, ['s3', 'lifecycle', '--json', '--config', join(g.dir, 'gateway.yaml')]))
            .stdout,
        ) as LifecycleStatus;
        ok(status.nextSweep !== undefined || status.sweeping, 'a next sweep is scheduled');
        ok(captured.logged('S3 lifecycle: bucket scheduled: 1 object expired'), captured.lines.join(''));
      } finally {
        await g.stop();
      }
    },
  );
});
