import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ROOT } from '../../src/storage/types.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { BrowserPages, pageServer } from './browser-pages.ts';
import { awsCli, type S3Gateway, sdkClient, startS3Gateway } from './fixture.ts';

const BUCKET = 'web-uploads';

/**
 * s3.cors_origins, with headless Chromium as the client: a page on an allowed origin uploads
 * through a presigned URL (a PUT, so the browser sends a preflight first) and reads the ETag
 * back; a page on any other origin is stopped by the browser before anything is written.
 */
describe('S3 CORS for browser uploads (s3.cors_origins)', () => {
  let g: S3Gateway;
  let s3: S3Client;
  let allowed: Awaited<ReturnType<typeof pageServer>>;
  let other: Awaited<ReturnType<typeof pageServer>>;
  const pages = new BrowserPages();
  let key: { accessKeyId: string; secret: string };

  before(async () => {
    allowed = await pageServer();
    other = await pageServer();
    g = await startS3Gateway({ corsOrigins: [allowed.origin] });
    key = await g.user('webapp');
    s3 = sdkClient(g, key);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  after(async () => {
    await pages.close();
    allowed?.close();
    other?.close();
    await g?.stop();
  });

  test(
    '1 a page on the allowed origin uploads with a presigned PUT and reads the ETag; the GET returns its bytes',
    requireTools('chromium'),
    async () => {
      const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: BUCKET, Key: 'from-page.txt' }), {
        expiresIn: 300,
      });
      const put = await pages.fetch(allowed.origin, putUrl, { method: 'PUT', body: 'uploaded by a page' });
      ok('status' in put, JSON.stringify(put));
      equal(put.status, 200);
      const md5 = createHash('md5').update('uploaded by a page').digest('hex');
      equal(put.etag, `"${md5}"`, 'the ETag is exposed to the page');
      const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: BUCKET, Key: 'from-page.txt' }), {
        expiresIn: 300,
      });
      const got = await pages.fetch(allowed.origin, getUrl, { method: 'GET' });
      deepEqual(got, { status: 200, etag: put.etag, text: 'uploaded by a page' });
    },
  );

  test(
    '2 a page on another origin is stopped at the preflight: nothing is written',
    requireTools('chromium'),
    async () => {
      const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: BUCKET, Key: 'refused.txt' }), {
        expiresIn: 300,
      });
      const put = await pages.fetch(other.origin, putUrl, { method: 'PUT', body: 'should not land' });
      ok('failed' in put, JSON.stringify(put));
      match(put.failed ?? '', /TypeError: Failed to fetch/);
      await g.gw.ns.resolvePath(ROOT, `/export/${BUCKET}/refused.txt`).then(
        () => ok(false, 'refused.txt was written'),
        (e: { code?: string }) => equal(e.code, 'ENOENT'),
      );
    },
  );

  test('3 preflights as S3 answers them: allowed, refused origin, refused method, no Origin', async () => {
    const url = `${g.endpoint}/${BUCKET}/x.txt`;
    const ask = (headers: Record<string, string>) => fetch(url, { method: 'OPTIONS', headers });
    const ok200 = await ask({
      origin: allowed.origin,
      'access-control-request-method': 'PUT',
      'access-control-request-headers': 'content-type,x-amz-meta-note',
    });
    equal(ok200.status, 200);
    equal(ok200.headers.get('access-control-allow-origin'), allowed.origin);
    equal(ok200.headers.get('access-control-allow-headers'), 'content-type,x-amz-meta-note');
    match(ok200.headers.get('access-control-allow-methods') ?? '', /PUT/);
    const refused = await ask({ origin: other.origin, 'access-control-request-method': 'PUT' });
    equal(refused.status, 403);
    match(await refused.text(), /<Code>AccessForbidden<\/Code>/);
    equal(refused.headers.get('access-control-allow-origin'), null);
    const patch = await ask({ origin: allowed.origin, 'access-control-request-method': 'PATCH' });
    equal(patch.status, 403);
    const bare = await ask({});
    equal(bare.status, 400);
    match(await bare.text(), /<Code>InvalidRequest<\/Code>/);
  });

  test(
    '4 GetBucketCors shows the rule; a reload that empties cors_origins takes it away',
    requireTools('aws'),
    async () => {
      const aws = awsCli(g, key, makeTempDir('cors-cli'));
      const rules = JSON.parse(await aws('s3api', 'get-bucket-cors', '--bucket', BUCKET)).CORSRules;
      deepEqual(rules[0].AllowedOrigins, [allowed.origin]);
      deepEqual(rules[0].AllowedMethods, ['GET', 'PUT', 'POST', 'DELETE', 'HEAD']);
      ok(rules[0].ExposeHeaders.includes('ETag'));
      await g.gw.reload({ ...g.gw.config, s3: { ...g.gw.config.s3, corsOrigins: [] } });
      const after = await fetch(`${g.endpoint}/${BUCKET}/x.txt`, {
        method: 'OPTIONS',
        headers: { origin: allowed.origin, 'access-control-request-method': 'PUT' },
      });
      equal(after.status, 403);
      await aws('s3api', 'get-bucket-cors', '--bucket', BUCKET).then(
        () => ok(false, 'expected NoSuchCORSConfiguration'),
        (e: Error) => match(e.message, /NoSuchCORSConfiguration/),
      );
    },
  );
});
