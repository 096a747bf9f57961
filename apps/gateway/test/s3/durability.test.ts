import { deepEqual, equal, ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { getMetrics } from '../../src/ops/metrics/index.ts';
import { type S3Gateway, sdkClient, startS3Gateway } from './fixture.ts';

/**
 * S3 has no COMMIT: its answer is the client's only word that a change is kept. So with
 * `durability.metadata: async` (flushed hourly here) every S3 change is still flushed before
 * it is answered — counted in `gateway_metadata_flushes_total` as an operator reads it.
 */
describe('S3 with durability.metadata async', () => {
  let g: S3Gateway;
  let flushes: () => Promise<number>;

  before(async () => {
    g = await startS3Gateway({ extraYaml: 'durability: { metadata: async, flush_interval: 1h }' });
    flushes = async () => {
      const text = await (await fetch(`http://127.0.0.1:${g.opsPort}/metrics`)).text();
      const m = /^gateway_metadata_flushes_total (\d+)$/m.exec(text);
      ok(m, 'gateway_metadata_flushes_total is exported');
      return Number(m[1]);
    };
  });
  after(() => g?.stop());

  test('0 the metrics and the console’s snapshot say which mode is in force', async () => {
    const text = await (await fetch(`http://127.0.0.1:${g.opsPort}/metrics`)).text();
    ok(text.includes('gateway_metadata_durability{mode="async"} 1'), text);
    ok(text.includes('gateway_metadata_durability{mode="sync"} 0'), text);
    deepEqual(getMetrics(g.gw).snapshot().durability, { metadata: 'async', flushIntervalMs: 3_600_000 });
  });

  test('1 a bucket, a PUT and a DELETE are each on disk before they are answered', async () => {
    const s3 = sdkClient(g, await g.user('dora'));
    let before = await flushes();
    await s3.send(new CreateBucketCommand({ Bucket: 'kept' }));
    ok((await flushes()) > before, 'CreateBucket flushed the new directory');
    for (let i = 0; i < 5; i++) {
      before = await flushes();
      await s3.send(new PutObjectCommand({ Bucket: 'kept', Key: `k${i}`, Body: `object ${i}` }));
      // One flush: the name that publishes the object, and with it (the log replays in order)
      // the detached inode and its bytes, inline here.
      ok((await flushes()) - before >= 1, `PUT k${i}: ${(await flushes()) - before} flushes`);
    }
    before = await flushes();
    await s3.send(new DeleteObjectCommand({ Bucket: 'kept', Key: 'k0' }));
    ok((await flushes()) > before, 'DeleteObject flushed the removal');
    const got = await s3.send(new GetObjectCommand({ Bucket: 'kept', Key: 'k4' }));
    equal(await got.Body?.transformToString(), 'object 4');
  });
});
