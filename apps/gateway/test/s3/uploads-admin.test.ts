import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { UploadSummary } from '../../src/protocols/s3/multipart/report.ts';
import { CFS } from '../metrics/fixture.ts';
import { capturedLog } from '../support/log.ts';
import { type RunResult, runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { awsCliRun, type S3Gateway, startS3Gateway } from './fixture.ts';

const MiB = 1024 * 1024;

/**
 * `./cfs s3 uploads [abort ID]`: the incomplete multipart uploads whose parts hold space (and
 * their owners' quota), and an operator's abort — logged, audited, the space given back.
 */
describe('./cfs s3 uploads', () => {
  let g: S3Gateway;
  let aws: (...args: string[]) => Promise<RunResult>;
  let uid: number;
  let work: string;
  const audits: Array<{ action: string; target: string; outcome: string; detail?: unknown }> = [];
  const captured = capturedLog();
  const cfs = (...args: string[]) =>
    runCommand(CFS, ['s3', 'uploads', ...args, '--config', join(g.dir, 'gateway.yaml')], {
      timeoutMs: 60_000,
    });

  before(async () => {
    g = await startS3Gateway({ log: captured.log });
    const real = g.gw.admin.audit;
    g.gw.admin.audit = (e) => {
      audits.push({ action: e.action, target: e.target, outcome: e.outcome, detail: e.detail });
      return real(e);
    };
    work = makeTempDir('uploads-admin');
    const key = await g.user('carol');
    uid = key.uid;
    aws = awsCliRun(g, key, work);
    equal((await aws('s3', 'mb', 's3://media')).code, 0);
  });
  after(() => g?.stop());

  test(
    '1 listed with owner, parts and size; aborted by an operator: gone, space freed, audited',
    requireTools('aws'),
    async () => {
      equal((await cfs()).stdout, 'No multipart uploads in progress.\n');
      const created = await aws(
        's3api',
        'create-multipart-upload',
        '--bucket',
        'media',
        '--key',
        'films/big.mkv',
      );
      equal(created.code, 0, created.output);
      const uploadId = (JSON.parse(created.stdout) as { UploadId: string }).UploadId;
      const part = join(work, 'part');
      writeFileSync(part, Buffer.alloc(MiB, 3));
      for (const n of ['1', '2']) {
        const r = await aws(
          's3api',
          'upload-part',
          '--bucket',
          'media',
          '--key',
          'films/big.mkv',
          '--upload-id',
          uploadId,
          '--part-number',
          n,
          '--body',
          part,
        );
        equal(r.code, 0, r.output);
      }
      const usage = (await g.gw.ns.quotaUsage('uid', uid)).bytes;
      ok(usage >= BigInt(2 * MiB), `the parts count against carol: ${usage}`);

      const listed = JSON.parse((await cfs('--json')).stdout) as UploadSummary[];
      deepEqual(
        listed.map((u) => [u.uploadId, u.bucket, u.key, u.owner, u.parts, u.bytes]),
        [[uploadId, 'media', 'films/big.mkv', 'carol', 2, String(2 * MiB)]],
      );
      const text = (await cfs()).stdout.split('\n');
      match(text[0]!, /^Upload +Object +Owner +Started +Idle for +Parts +Size$/);
      match(
        text[1]!,
        new RegExp(
          `^${uploadId} +media/films/big\\.mkv +carol +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +\\S+ +2 +2\\.1MB$`,
        ),
      );

      const aborted = await cfs('abort', uploadId);
      equal(aborted.code, 0, aborted.output);
      equal(aborted.stdout, `aborted ${uploadId} (media/films/big.mkv): 2 parts, 2.1MB freed\n`);
      const left = await aws('s3api', 'list-multipart-uploads', '--bucket', 'media');
      equal(left.code, 0, left.output);
      equal((JSON.parse(left.stdout || '{}') as { Uploads?: unknown[] }).Uploads, undefined);
      ok((await g.gw.ns.quotaUsage('uid', uid)).bytes < usage - BigInt(2 * MiB) + 1n, 'the space went back');
      ok(
        captured.logged(`S3 multipart upload ${uploadId} of media/films/big.mkv aborted by`),
        captured.lines.join(''),
      );
      const audit = audits.find((a) => a.action === 's3.upload.abort');
      deepEqual(audit && [audit.target, audit.outcome, audit.detail], [
        `upload:${uploadId}`,
        'ok',
        { bucket: 'media', key: 'films/big.mkv', parts: 2, freedBytes: String(2 * MiB) },
      ]);

      const again = await cfs('abort', uploadId);
      equal(again.code, 1);
      match(again.output, new RegExp(`no multipart upload ${uploadId} in progress`));
      equal((await cfs('abort')).code, 2);
    },
  );
});
