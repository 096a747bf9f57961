import { deepEqual, equal, ok } from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { until } from '../ops-drain/fixture.ts';
import { spawnProcess } from '../support/proc.ts';
import { mustToolPath, requireTools } from '../support/tools.ts';
import { type S3Gateway, sdkClient, startS3Gateway } from './fixture.ts';

const MiB = 1024 * 1024;

/**
 * A GET that has begun sends the object as it was when it began, whole — as S3 does — even when
 * the key is overwritten or deleted while its body is still being sent (a slow client: curl
 * with a rate limit). The replaced object's bytes are then gone, with nothing left over.
 */
describe(
  'an S3 GET under way while its key is overwritten or deleted (an unversioned bucket)',
  requireTools('curl'),
  () => {
    let g: S3Gateway;
    let s3: S3Client;
    before(async () => {
      g = await startS3Gateway();
      s3 = sdkClient(g, await g.user('reader'));
      await s3.send(new CreateBucketCommand({ Bucket: 'live' }));
    });
    after(async () => {
      s3?.destroy();
      await g?.stop();
    });

    for (const change of ['overwritten', 'deleted'] as const) {
      test(`the key ${change} mid-body: curl receives the old object, whole; its bytes go once the GET ends`, async () => {
        const key = `big-${change}.bin`;
        const old = randomBytes(32 * MiB);
        await s3.send(new PutObjectCommand({ Bucket: 'live', Key: key, Body: old }));
        const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'live', Key: key }), {
          expiresIn: 600,
        });
        const out = join(g.dir, `${key}.out`);
        // 32 MiB at 4 MiB/s: about 8 seconds; the kernel's socket buffers hold only a few MiB.
        const curl = spawnProcess(mustToolPath('curl'), ['-s', '-S', '-o', out, '--limit-rate', '4M', url], {
          name: 'curl',
          keepAlive: true,
        });
        const sent = () =>
          g.gw.connections
            .list()
            .filter((c) => c.protocol === 's3' && c.currentOp === 'GetObject')
            .reduce((n, c) => n + c.bytesOut, 0);
        await until(() => sent() > 10 * MiB, 60_000, 'a third of the body sent');
        if (change === 'overwritten')
          await s3.send(new PutObjectCommand({ Bucket: 'live', Key: key, Body: Buffer.from('the new one') }));
        else await s3.send(new DeleteObjectCommand({ Bucket: 'live', Key: key }));
        const done = await curl.exited;
        equal(done.code, 0, `curl: ${curl.output()}`);
        ok(readFileSync(out).equals(old), 'the body is the old object, whole');
        await until(
          async () => (await g.gw.ns.meta.detached()).length === 0,
          30_000,
          'the replaced object removed once the GET ended',
        );
        const now = await s3.send(new GetObjectCommand({ Bucket: 'live', Key: key })).then(
          async (r) => r.Body!.transformToString(),
          (e: Error) => e.name,
        );
        deepEqual(now, change === 'overwritten' ? 'the new one' : 'NoSuchKey');
      });
    }
  },
);
