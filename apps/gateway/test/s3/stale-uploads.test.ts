import { equal, match, ok } from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CompleteMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { sampleValue, scrape } from '../metrics/fixture.ts';
import { capturedLog } from '../support/log.ts';
import type { RunResult } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { awsCliRun, type S3Gateway, sdkClient, startS3Gateway } from './fixture.ts';

const BUCKET = 'uploads';
const MiB = 1024 * 1024;

async function waitUntil(cond: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Multipart uploads nobody completes no longer hold their parts forever: past
 * `s3.stale_uploads_expiry` without a part they are aborted (MinIO's stale upload expiry, S3
 * lifecycle's AbortIncompleteMultipartUpload), logged, counted, and their owner's quota freed —
 * while an upload that keeps receiving parts completes.
 */
describe('stale multipart uploads are aborted after s3.stale_uploads_expiry', () => {
  let g: S3Gateway;
  let aws: (...args: string[]) => Promise<RunResult>;
  let key: Awaited<ReturnType<S3Gateway['user']>>;
  let work: string;
  const captured = capturedLog();

  before(async () => {
    g = await startS3Gateway({ s3Extra: 'stale_uploads_expiry: 4s', log: captured.log });
    work = makeTempDir('stale-uploads');
    key = await g.user('uploader');
    aws = awsCliRun(g, key, work);
    writeFileSync(join(work, 'part.bin'), Buffer.alloc(5 * MiB, 1));
    equal((await aws('s3', 'mb', `s3://${BUCKET}`)).code, 0);
  });
  after(() => g?.stop());

  const uploadsListed = async (): Promise<string[]> => {
    const r = await aws('s3api', 'list-multipart-uploads', '--bucket', BUCKET);
    equal(r.code, 0, r.output);
    if (r.stdout.trim() === '') return [];
    return ((JSON.parse(r.stdout) as { Uploads?: Array<{ Key: string }> }).Uploads ?? []).map((u) => u.Key);
  };
  const create = async (objectKey: string): Promise<string> => {
    const r = await aws('s3api', 'create-multipart-upload', '--bucket', BUCKET, '--key', objectKey);
    equal(r.code, 0, r.output);
    return (JSON.parse(r.stdout) as { UploadId: string }).UploadId;
  };

  test(
    '1 an idle upload goes with its parts; one still receiving parts stays and completes',
    requireTools('aws'),
    async () => {
      const usageBefore = (await g.gw.ns.quotaUsage('uid', key.uid)).bytes;
      const idle = await create('idle.bin');
      const part = await aws(
        's3api',
        'upload-part',
        '--bucket',
        BUCKET,
        '--key',
        'idle.bin',
        '--upload-id',
        idle,
        '--part-number',
        '1',
        '--body',
        join(work, 'part.bin'),
      );
      equal(part.code, 0, part.output);
      ok(
        (await g.gw.ns.quotaUsage('uid', key.uid)).bytes >= usageBefore + BigInt(5 * MiB),
        'the part is charged',
      );

      const active = await create('active.bin');
      const sdk = sdkClient(g, key);
      let etag = '';
      let keepGoing = true;
      const keepAlive = (async () => {
        while (keepGoing) {
          const r = await sdk.send(
            new UploadPartCommand({
              Bucket: BUCKET,
              Key: 'active.bin',
              UploadId: active,
              PartNumber: 1,
              Body: Buffer.from(`at ${Date.now()}`),
            }),
          );
          etag = r.ETag ?? '';
          await new Promise((r) => setTimeout(r, 700));
        }
      })();
      try {
        await waitUntil(async () => !(await uploadsListed()).includes('idle.bin'), 'the idle upload aborted');
        ok((await uploadsListed()).includes('active.bin'), 'the active upload is still there');
      } finally {
        keepGoing = false;
        await keepAlive;
      }
      await sdk.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: 'active.bin',
          UploadId: active,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: etag }] },
        }),
      );
      const head = await aws('s3api', 'head-object', '--bucket', BUCKET, '--key', 'active.bin');
      equal(head.code, 0, head.output);

      const gone = await aws(
        's3api',
        'abort-multipart-upload',
        '--bucket',
        BUCKET,
        '--key',
        'idle.bin',
        '--upload-id',
        idle,
      );
      match(gone.stderr, /NoSuchUpload/);
      ok(
        (await g.gw.ns.quotaUsage('uid', key.uid)).bytes < usageBefore + BigInt(MiB),
        'the part no longer counts',
      );
      ok(
        captured.logged(`S3 multipart upload ${idle} of ${BUCKET}/idle.bin aborted: no activity for`),
        captured.lines.join(''),
      );
      ok(captured.logged('(s3.stale_uploads_expiry 4s); 1 part, 5.24MB freed'), captured.lines.join(''));
      const { samples } = await scrape(`http://127.0.0.1:${g.opsPort}`);
      equal(sampleValue(samples, 'gateway_s3_stale_uploads_aborted_total'), 1);
      equal(sampleValue(samples, 'gateway_s3_stale_upload_bytes_freed_total'), 5 * MiB);
    },
  );

  test(
    '2 a reload sets the expiry: 0 keeps idle uploads, a shorter one aborts them',
    requireTools('aws'),
    async () => {
      await g.gw.reload({ ...g.gw.config, s3: { ...g.gw.config.s3, staleUploadsExpiryMs: 0 } });
      await create('kept.bin');
      await new Promise((r) => setTimeout(r, 6000));
      ok((await uploadsListed()).includes('kept.bin'), 'with no expiry the upload stays');
      await g.gw.reload({ ...g.gw.config, s3: { ...g.gw.config.s3, staleUploadsExpiryMs: 1000 } });
      await waitUntil(
        async () => !(await uploadsListed()).includes('kept.bin'),
        'aborted once the expiry is back',
      );
    },
  );
});
