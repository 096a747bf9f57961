import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  DeleteBucketCorsCommand,
  GetBucketCorsCommand,
  GetObjectCommand,
  PutBucketCorsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ROOT } from '../../src/storage/types.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { BrowserPages, pageServer } from './browser-pages.ts';
import { awsCli, type S3Gateway, s3Error, sdkClient, startS3Gateway } from './fixture.ts';
import { signed } from './raw.ts';

type Page = Awaited<ReturnType<typeof pageServer>>;

/**
 * A bucket's own CORS rules (PutBucketCors), set with the aws CLI and the SDK and obeyed by
 * headless Chromium: they replace the gateway's `s3.cors_origins` rule for that bucket only,
 * and deleting them gives it back.
 */
describe('S3 bucket CORS rules (PutBucketCors)', () => {
  let g: S3Gateway;
  let s3: S3Client;
  let key: { accessKeyId: string; secret: string };
  let aws: (...args: string[]) => Promise<string>;
  /** The gateway's rule allows `site`; the bucket's own rules allow `gallery`; `stranger`: none. */
  let site: Page;
  let gallery: Page;
  let stranger: Page;
  const pages = new BrowserPages();

  before(async () => {
    site = await pageServer();
    gallery = await pageServer();
    stranger = await pageServer();
    g = await startS3Gateway({ corsOrigins: [site.origin] });
    key = await g.user('photos');
    s3 = sdkClient(g, key);
    aws = awsCli(g, key, makeTempDir('bucket-cors-cli'));
    for (const Bucket of ['pictures', 'plain']) {
      await s3.send(new CreateBucketCommand({ Bucket }));
      await s3.send(
        new PutObjectCommand({ Bucket, Key: 'cat.txt', Body: 'a cat', Metadata: { note: 'hi' } }),
      );
    }
  });
  after(async () => {
    await pages.close();
    for (const p of [site, gallery, stranger]) p?.close();
    await g?.stop();
  });

  const presigned = (Bucket: string, Key: string, put = false) =>
    getSignedUrl(s3, put ? new PutObjectCommand({ Bucket, Key }) : new GetObjectCommand({ Bucket, Key }), {
      expiresIn: 300,
    });
  const preflight = (bucket: string, headers: Record<string, string>) =>
    fetch(`${g.endpoint}/${bucket}/cat.txt`, { method: 'OPTIONS', headers });

  const RULES = {
    CORSRules: [
      {
        ID: 'gallery-pages',
        AllowedHeaders: ['x-amz-*'],
        AllowedMethods: ['GET', 'HEAD'],
        AllowedOrigins: ['ORIGIN'],
        ExposeHeaders: ['ETag', 'x-amz-meta-note'],
        MaxAgeSeconds: 600,
      },
      {
        AllowedHeaders: ['*'],
        AllowedMethods: ['PUT', 'POST'],
        AllowedOrigins: ['https://*.example.com'],
      },
    ],
  };

  test(
    '1 put-bucket-cors (aws CLI): the bucket answers its own origins only, other buckets keep the gateway rule; delete-bucket-cors gives it back',
    requireTools('aws', 'chromium'),
    async () => {
      const rules = JSON.parse(JSON.stringify(RULES).replace('ORIGIN', gallery.origin));
      await aws(
        's3api',
        'put-bucket-cors',
        '--bucket',
        'pictures',
        '--cors-configuration',
        JSON.stringify(rules),
      );
      deepEqual(JSON.parse(await aws('s3api', 'get-bucket-cors', '--bucket', 'pictures')), rules);

      // A page of the bucket's origin reads the object and the headers the rule exposes.
      const got = await pages.fetch(gallery.origin, await presigned('pictures', 'cat.txt'), {
        method: 'GET',
      });
      equal(got.failed, undefined, JSON.stringify(got));
      equal(got.text, 'a cat');
      match(got.etag ?? '', /^"[0-9a-f]{32}"$/);
      // Writing is not among its methods: the browser stops at the preflight, nothing lands.
      const put = await pages.fetch(gallery.origin, await presigned('pictures', 'new.txt', true), {
        method: 'PUT',
        body: 'should not land',
      });
      match(put.failed ?? '', /Failed to fetch/, JSON.stringify(put));
      await g.gw.ns.resolvePath(ROOT, '/export/pictures/new.txt').then(
        () => ok(false, 'new.txt was written'),
        (e: { code?: string }) => equal(e.code, 'ENOENT'),
      );
      // The gateway's origin is not the bucket's: its page may not read this bucket, only others.
      const fromSite = await pages.fetch(site.origin, await presigned('pictures', 'cat.txt'), {
        method: 'GET',
      });
      match(fromSite.failed ?? '', /Failed to fetch/, JSON.stringify(fromSite));
      const plain = await pages.fetch(site.origin, await presigned('plain', 'cat.txt'), { method: 'GET' });
      equal(plain.text, 'a cat', JSON.stringify(plain));
      const strange = await pages.fetch(stranger.origin, await presigned('pictures', 'cat.txt'), {
        method: 'GET',
      });
      match(strange.failed ?? '', /Failed to fetch/);

      await aws('s3api', 'delete-bucket-cors', '--bucket', 'pictures');
      const back = JSON.parse(await aws('s3api', 'get-bucket-cors', '--bucket', 'pictures')).CORSRules;
      deepEqual(back[0].AllowedOrigins, [site.origin], 'the gateway rule again');
      const again = await pages.fetch(site.origin, await presigned('pictures', 'cat.txt'), { method: 'GET' });
      equal(again.text, 'a cat', JSON.stringify(again));
      const gone = await pages.fetch(gallery.origin, await presigned('pictures', 'cat.txt'), {
        method: 'GET',
      });
      match(gone.failed ?? '', /Failed to fetch/);
    },
  );

  test('2 preflights and answers under the bucket rules: wildcards, methods, headers, credentials, max age', async () => {
    const rules = JSON.parse(JSON.stringify(RULES).replace('ORIGIN', gallery.origin));
    await s3.send(new PutBucketCorsCommand({ Bucket: 'pictures', CORSConfiguration: rules }));

    const upload = await preflight('pictures', {
      origin: 'https://upload.example.com',
      'access-control-request-method': 'PUT',
      'access-control-request-headers': 'content-type, x-amz-meta-a',
    });
    equal(upload.status, 200);
    equal(upload.headers.get('access-control-allow-origin'), 'https://upload.example.com');
    equal(upload.headers.get('access-control-allow-credentials'), 'true');
    equal(upload.headers.get('access-control-allow-methods'), 'PUT, POST');
    equal(upload.headers.get('access-control-allow-headers'), 'content-type, x-amz-meta-a');
    equal(upload.headers.get('access-control-max-age'), null, 'the rule gives no max age');
    match(upload.headers.get('vary') ?? '', /Origin/);

    const refusals: Array<[Record<string, string>, RegExp]> = [
      [
        { origin: 'https://example.com', 'access-control-request-method': 'PUT' },
        /https:\/\/example\.com is not an allowed origin/,
      ],
      [
        { origin: gallery.origin, 'access-control-request-method': 'DELETE' },
        /DELETE is not an allowed method/,
      ],
      [
        {
          origin: gallery.origin,
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'x-amz-date, authorization',
        },
        /the request header authorization is not allowed for GET/,
      ],
    ];
    for (const [headers, why] of refusals) {
      const r = await preflight('pictures', headers);
      equal(r.status, 403, JSON.stringify(headers));
      const body = await r.text();
      match(body, /<Code>AccessForbidden<\/Code>/);
      match(body, why);
      equal(r.headers.get('access-control-allow-origin'), null);
    }
    const reading = await preflight('pictures', {
      origin: gallery.origin,
      'access-control-request-method': 'GET',
      'access-control-request-headers': 'x-amz-date',
    });
    equal(reading.status, 200);
    equal(reading.headers.get('access-control-max-age'), '600');
    equal(reading.headers.get('access-control-allow-methods'), 'GET, HEAD');

    // The request itself: the matching rule's headers on the answer; none for another origin.
    const url = await presigned('pictures', 'cat.txt');
    const mine = await fetch(url, { headers: { origin: gallery.origin } });
    equal(mine.status, 200);
    equal(mine.headers.get('access-control-allow-origin'), gallery.origin);
    equal(mine.headers.get('access-control-expose-headers'), 'ETag, x-amz-meta-note');
    const theirs = await fetch(url, { headers: { origin: stranger.origin } });
    equal(theirs.status, 200, 'CORS decides what a page reads, not what a signed request may do');
    equal(theirs.headers.get('access-control-allow-origin'), null);
    match(theirs.headers.get('vary') ?? '', /Origin/);

    // A rule for any origin answers `*`, without credentials.
    await s3.send(
      new PutBucketCorsCommand({
        Bucket: 'plain',
        CORSConfiguration: { CORSRules: [{ AllowedOrigins: ['*'], AllowedMethods: ['GET'] }] },
      }),
    );
    const any = await preflight('plain', { origin: stranger.origin, 'access-control-request-method': 'GET' });
    equal(any.status, 200);
    equal(any.headers.get('access-control-allow-origin'), '*');
    equal(any.headers.get('access-control-allow-credentials'), null);

    // Own rules do not depend on s3.cors_origins: emptied by a reload, a bucket without rules
    // has no CORS at all, one with rules keeps them.
    const config = g.gw.config;
    await g.gw.reload({ ...config, s3: { ...config.s3, corsOrigins: [] } });
    try {
      await s3.send(new DeleteBucketCorsCommand({ Bucket: 'plain' }));
      const none = await preflight('plain', { origin: site.origin, 'access-control-request-method': 'GET' });
      equal(none.status, 403);
      match(await none.text(), /CORS is not enabled for this bucket/);
      const kept = await preflight('pictures', {
        origin: gallery.origin,
        'access-control-request-method': 'GET',
      });
      equal(kept.status, 200);
      equal(
        (await s3Error(s3.send(new GetBucketCorsCommand({ Bucket: 'plain' })))).name,
        'NoSuchCORSConfiguration',
      );
    } finally {
      await g.gw.reload(config);
    }
  });

  test('3 a refused document changes nothing; only the bucket owner sets or deletes rules', async () => {
    const before = await s3.send(new GetBucketCorsCommand({ Bucket: 'pictures' }));
    const rule = { AllowedOrigins: ['https://app.example.com'], AllowedMethods: ['GET'] };
    const bad: Array<[string, unknown, string, RegExp]> = [
      ['a method S3 has no CORS for', [{ ...rule, AllowedMethods: ['PATCH'] }], 'InvalidRequest', /PATCH/],
      [
        'two wildcards in an origin',
        [{ ...rule, AllowedOrigins: ['https://*.*.example.com'] }],
        'InvalidRequest',
        /can not have more than one wildcard/,
      ],
      ['a wildcard exposed header', [{ ...rule, ExposeHeaders: ['*'] }], 'InvalidRequest', /ExposeHeader/],
      ['no rules', [], 'MalformedXML', /at least one <CORSRule>/],
      ['101 rules', Array.from({ length: 101 }, () => rule), 'MalformedXML', /at most 100 rules/],
    ];
    for (const [what, CORSRules, code, why] of bad) {
      const e = await s3Error(
        s3.send(
          new PutBucketCorsCommand({
            Bucket: 'pictures',
            CORSConfiguration: { CORSRules } as never,
          }),
        ),
      );
      equal(e.name, code, what);
      match(e.message, why, what);
    }
    const raw = (body: string) =>
      signed(g, key, { method: 'PUT', path: '/pictures', query: { cors: '' }, body });
    for (const body of [
      '<CORSConfiguration><CORSRule><AllowedOrigin>x</AllowedOrigin></CORSRule></CORSConfiguration>',
      '<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin><Bogus/></CORSRule></CORSConfiguration>',
      '<CORSConfiguration><CORSRule>',
      `<CORSConfiguration>${'x'.repeat(64 * 1024)}</CORSConfiguration>`,
    ]) {
      const r = await raw(body);
      equal(r.status, 400, body.slice(0, 80));
      match(r.body, /<Code>(MalformedXML|MaxMessageLengthExceeded)<\/Code>/);
    }
    deepEqual((await s3.send(new GetBucketCorsCommand({ Bucket: 'pictures' }))).CORSRules, before.CORSRules);

    const other = sdkClient(g, await g.user('visitor'));
    try {
      const put = await s3Error(
        other.send(
          new PutBucketCorsCommand({ Bucket: 'pictures', CORSConfiguration: { CORSRules: [rule] } }),
        ),
      );
      equal(put.name, 'AccessDenied');
      equal(
        (await s3Error(other.send(new DeleteBucketCorsCommand({ Bucket: 'pictures' })))).name,
        'AccessDenied',
      );
    } finally {
      other.destroy();
    }
    deepEqual((await s3.send(new GetBucketCorsCommand({ Bucket: 'pictures' }))).CORSRules, before.CORSRules);
  });
});
