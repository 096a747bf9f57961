import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createPresignedPost, type PresignedPostOptions } from '@aws-sdk/s3-presigned-post';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/chromium.ts';
import { requireTools } from '../support/tools.ts';
import { type S3Gateway, sdkClient, startS3Gateway } from './fixture.ts';

const BUCKET = 'forms';

/**
 * Browser-based uploads (S3's POST Object with a SigV4-signed policy), with the policies the
 * AWS SDK's createPresignedPost signs, sent as a browser sends them: multipart/form-data from
 * fetch, and a real HTML form submitted in headless Chromium. What the policy allows is stored
 * with its metadata; what it does not is refused with S3's error and nothing is stored.
 */
describe('S3 POST Object (browser-based uploads)', () => {
  let g: S3Gateway;
  let s3: S3Client;
  let stranger: S3Client;
  let browser: Browser | undefined;

  before(async () => {
    g = await startS3Gateway();
    s3 = sdkClient(g, await g.user('webapp'));
    stranger = sdkClient(g, await g.user('stranger'));
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  after(async () => {
    await browser?.close();
    s3?.destroy();
    stranger?.destroy();
    await g?.stop();
  });

  const presign = (client: S3Client, o: Omit<PresignedPostOptions, 'Bucket'>) =>
    createPresignedPost(client, { Bucket: BUCKET, Expires: 600, ...o });

  /** Posts the form as a browser's fetch does: the fields, then the file, last. */
  async function post(
    p: { url: string; fields: Record<string, string> },
    file: Buffer,
    o: { filename?: string; extra?: Record<string, string>; drop?: string[] } = {},
  ): Promise<{ status: number; text: string; headers: Headers }> {
    const form = new FormData();
    for (const [k, v] of Object.entries({ ...p.fields, ...o.extra }))
      if (!o.drop?.includes(k)) form.append(k, v);
    form.append(
      'file',
      new Blob([new Uint8Array(file)], { type: 'application/octet-stream' }),
      o.filename ?? 'upload.bin',
    );
    const r = await fetch(p.url, { method: 'POST', body: form, redirect: 'manual' });
    return { status: r.status, text: await r.text(), headers: r.headers };
  }

  const keys = async () =>
    ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents ?? []).map((o) => o.Key).sort();

  test('1 a signed policy uploads the file with its fields as metadata; 204 with the ETag', async () => {
    const body = Buffer.from('hello from a form\n');
    const p = await presign(s3, {
      Key: 'uploads/hello.txt',
      Conditions: [['content-length-range', 1, 1024]],
      Fields: { 'Content-Type': 'text/plain', 'x-amz-meta-origin': 'form' },
    });
    const r = await post(p, body);
    equal(r.status, 204, r.text);
    const md5 = createHash('md5').update(body).digest('hex');
    equal(r.headers.get('etag'), `"${md5}"`);
    match(r.headers.get('location') ?? '', /\/forms\/uploads\/hello\.txt$/);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'uploads/hello.txt' }));
    equal(await got.Body?.transformToString(), body.toString());
    equal(got.ContentType, 'text/plain');
    deepEqual(got.Metadata, { origin: 'form' });
    equal(got.ETag, `"${md5}"`);
  });

  test('2 success_action_status 201 answers a PostResponse; the file’s name fills the key; tags', async () => {
    const p = await presign(s3, {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: S3's key variable, sent literally
      Key: 'uploads/${filename}',
      Conditions: [['starts-with', '$key', 'uploads/']],
      Fields: {
        success_action_status: '201',
        tagging: '<Tagging><TagSet><Tag><Key>from</Key><Value>form</Value></Tag></TagSet></Tagging>',
      },
    });
    const r = await post(p, Buffer.from('report'), { filename: 'report.pdf' });
    equal(r.status, 201, r.text);
    match(r.text, /<PostResponse xmlns="http:\/\/s3\.amazonaws\.com\/doc\/2006-03-01\/">/);
    match(
      r.text,
      /<Bucket>forms<\/Bucket><Key>uploads\/report\.pdf<\/Key><ETag>&quot;[0-9a-f]{32}&quot;<\/ETag>/,
    );
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: 'uploads/report.pdf' }));
    deepEqual(tags.TagSet, [{ Key: 'from', Value: 'form' }]);
  });

  test('3 success_action_redirect: 303 to it with the bucket, key and ETag', async () => {
    const p = await presign(s3, {
      Key: 'uploads/redirected.txt',
      Fields: { success_action_redirect: 'http://app.example/done' },
    });
    const r = await post(p, Buffer.from('x'));
    equal(r.status, 303, r.text);
    const to = new URL(r.headers.get('location') ?? '');
    equal(to.origin + to.pathname, 'http://app.example/done');
    equal(to.searchParams.get('bucket'), BUCKET);
    equal(to.searchParams.get('key'), 'uploads/redirected.txt');
    match(to.searchParams.get('etag') ?? '', /^"[0-9a-f]{32}"$/);
  });

  test('4 what the policy does not allow is refused with S3’s error, and nothing is stored', async () => {
    const before = await keys();
    const limited = await presign(s3, {
      Key: 'uploads/small.bin',
      Conditions: [['content-length-range', 10, 100]],
    });
    const big = await post(limited, Buffer.alloc(101, 1));
    equal(big.status, 400);
    match(big.text, /<Code>EntityTooLarge<\/Code>/);
    const small = await post(limited, Buffer.alloc(9, 1));
    equal(small.status, 400);
    match(small.text, /<Code>EntityTooSmall<\/Code>/);

    const prefixed = await presign(s3, {
      Key: 'uploads/a.txt',
      Conditions: [['starts-with', '$key', 'uploads/']],
    });
    const elsewhere = await post(prefixed, Buffer.from('x'), { extra: { key: 'private/a.txt' } });
    equal(elsewhere.status, 403);
    match(
      elsewhere.text,
      /Invalid according to Policy: Policy Condition failed: \[&quot;starts-with&quot;,&quot;\$key&quot;,&quot;uploads\/&quot;\]/,
    );

    const extra = await post(prefixed, Buffer.from('x'), { extra: { 'x-amz-meta-sneaky': '1' } });
    equal(extra.status, 403);
    match(extra.text, /Extra input fields: x-amz-meta-sneaky/);

    const forged = await post(prefixed, Buffer.from('x'), {
      extra: { 'X-Amz-Signature': '0'.repeat(64) },
    });
    equal(forged.status, 403);
    match(forged.text, /<Code>SignatureDoesNotMatch<\/Code>/);

    const expiring = await presign(s3, { Key: 'uploads/late.txt', Expires: 1 });
    await new Promise((r) => setTimeout(r, 1500));
    const late = await post(expiring, Buffer.from('x'));
    equal(late.status, 403);
    match(late.text, /Invalid according to Policy: Policy expired\./);

    const unsigned = await post(prefixed, Buffer.from('x'), { drop: ['Policy', 'X-Amz-Signature'] });
    equal(unsigned.status, 403);
    match(unsigned.text, /<Code>AccessDenied<\/Code>/);

    const noFile = await fetch(prefixed.url, {
      method: 'POST',
      body: (() => {
        const f = new FormData();
        for (const [k, v] of Object.entries(prefixed.fields)) f.append(k, v);
        return f;
      })(),
    });
    equal(noFile.status, 400);
    match(await noFile.text(), /POST requires exactly one file upload per request/);

    // Broken framing: a body that is not the multipart its header says, or cut off in the file.
    for (const body of [
      'not a form at all',
      '--x\r\nContent-Disposition: form-data; name="key"\r\n\r\nk\r\n--x--\r\n',
    ]) {
      const r = await fetch(prefixed.url, {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=x' },
        body,
      });
      equal(r.status, 400);
      match(await r.text(), /<Code>InvalidArgument<\/Code>/);
    }

    // A stranger's valid policy still needs write access to the bucket (mode bits).
    const theirs = await presign(stranger, { Key: 'uploads/theirs.txt' });
    const refused = await post(theirs, Buffer.from('x'));
    equal(refused.status, 403);
    match(refused.text, /<Code>AccessDenied<\/Code>/);

    deepEqual(await keys(), before);
  });

  test(
    '5 headless Chromium submits an HTML form: the file lands and the browser follows the redirect',
    requireTools('chromium'),
    async () => {
      let landed: URL | undefined;
      const app = http.createServer((req, res) => {
        if (req.url?.startsWith('/done')) landed = new URL(req.url, 'http://app');
        res.writeHead(200, { 'content-type': 'text/html' }).end(page);
      });
      await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
      const origin = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
      const p = await presign(s3, {
        // biome-ignore lint/suspicious/noTemplateCurlyInString: S3's key variable, sent literally
        Key: 'uploads/${filename}',
        Conditions: [
          ['starts-with', '$key', 'uploads/'],
          ['starts-with', '$Content-Type', 'image/'],
          ['content-length-range', 1, 1_000_000],
        ],
        Fields: { success_action_redirect: `${origin}/done` },
      });
      const hidden = Object.entries(p.fields)
        .map(([k, v]) => `<input type="hidden" name="${k}" value="${v.replaceAll('"', '&quot;')}">`)
        .join('');
      const page = `<!doctype html><title>upload</title><form action="${p.url}" method="post" enctype="multipart/form-data">${hidden}<input type="hidden" name="Content-Type" value="image/png"><input type="file" name="file"><button>Upload</button></form>`;
      try {
        browser ??= await launchChromium();
        const tab = await browser.newPage();
        await tab.goto(origin);
        const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(2000, 7)]);
        await tab.setInputFiles('input[type=file]', {
          name: 'pixel.png',
          mimeType: 'image/png',
          buffer: png,
        });
        await Promise.all([tab.waitForURL(`${origin}/done**`), tab.click('button')]);
        await tab.close();
        equal(landed?.searchParams.get('key'), 'uploads/pixel.png');
        const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'uploads/pixel.png' }));
        equal(head.ContentLength, png.length);
        equal(head.ContentType, 'image/png');
        equal(head.ETag, `"${createHash('md5').update(png).digest('hex')}"`);
        ok(landed?.searchParams.get('etag') === head.ETag);
      } finally {
        app.close();
      }
    },
  );
});
