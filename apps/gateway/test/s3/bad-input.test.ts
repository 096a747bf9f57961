import { equal, match, ok } from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { REGION, type S3Gateway, sdkClient, startS3Gateway } from './fixture.ts';
import { rawExchange, send, signed, signHead as signHeadFor, xmlCode } from './raw.ts';

describe('S3 bad input: the right S3 error, the server stays up, nothing partial remains', () => {
  let g: S3Gateway;
  let key: { accessKeyId: string; secret: string };
  /** Signed request headers for a raw socket (UNSIGNED-PAYLOAD). */
  let signHead: (method: string, path: string, headers: Record<string, string>) => Promise<string>;
  before(async () => {
    g = await startS3Gateway({ domain: 's3.test' });
    key = await g.user('eve');
    await sdkClient(g, key).send(new CreateBucketCommand({ Bucket: 'inbox' }));
    signHead = (method, path, headers) => signHeadFor(g, key, method, path, headers);
  });
  after(() => g.stop());

  const stillServing = async () => {
    const r = await signed(g, key, { method: 'GET', path: '/inbox', query: { 'list-type': '2' } });
    equal(r.status, 200);
  };
  const noUploadsLeft = async () => equal((await g.gw.ns.meta.detached()).length, 0);

  test('1 malformed XML bodies: MalformedXML', async () => {
    for (const body of [
      '<Delete><Object><Key>a</Key></Object>',
      'not xml',
      '<Delete></Delete>',
      '<!DOCTYPE d [<!ENTITY x "y">]><Delete/>',
    ]) {
      const r = await signed(g, key, { method: 'POST', path: '/inbox', query: { delete: '' }, body });
      equal(r.status, 400, body);
      equal(xmlCode(r.body), 'MalformedXML', body);
    }
    await stillServing();
  });

  test('2 a body shorter than its Content-Length, connection closed: no object, no leftover', async () => {
    const head = await signHead('PUT', '/inbox/short', { 'content-length': '100000' });
    await rawExchange(g.port, `${head}${'x'.repeat(5000)}`, { endAfterWrite: true, timeoutMs: 1500 });
    await new Promise((r) => setTimeout(r, 200));
    equal((await signed(g, key, { method: 'HEAD', path: '/inbox/short' })).status, 404);
    await noUploadsLeft();
    await stillServing();
  });

  test('3 a truncated aws-chunked body: IncompleteBody or closed, nothing stored', async () => {
    const head = await signHead('PUT', '/inbox/chunked', {
      'content-encoding': 'aws-chunked',
      'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      'x-amz-decoded-content-length': '10',
      'x-amz-trailer': 'x-amz-checksum-crc32',
      'content-length': '60',
    });
    const reply = await rawExchange(
      g.port,
      `${head}a\r\n0123456789\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n${' '.repeat(9)}`,
      { timeoutMs: 1500 },
    );
    ok(reply === '' || /^HTTP\/1\.1 400/.test(reply), reply.slice(0, 100));
    equal((await signed(g, key, { method: 'HEAD', path: '/inbox/chunked' })).status, 404);
    await noUploadsLeft();
  });

  test('4 oversized request head: 431 as S3 XML, connection closed', async () => {
    const reply = await rawExchange(
      g.port,
      `GET /inbox HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    match(reply, /^HTTP\/1\.1 431 /);
    match(reply, /<Code>RequestHeaderSectionTooLarge<\/Code>/);
    await stillServing();
  });

  test('5 garbage instead of HTTP: 400 and closed', async () => {
    const reply = await rawExchange(g.port, 'HELLO THERE\r\n\r\n');
    match(reply, /^HTTP\/1\.1 400 /);
    await stillServing();
  });

  test('6 invalid bucket names, over-long keys, unknown parameters and subresources', async () => {
    const cases: Array<[number, string, Record<string, string>, number, string]> = [
      [1, '/Bad_Bucket/k', {}, 400, 'InvalidBucketName'],
      [2, `/inbox/${'k'.repeat(1100)}`, {}, 400, 'KeyTooLongError'],
      [3, '/inbox/k', { bogus: '1' }, 404, 'NoSuchKey'],
      [4, '/inbox/k', { torrent: '' }, 501, 'NotImplemented'],
      [5, '/inbox', { inventory: '' }, 501, 'NotImplemented'],
      [6, '/inbox', { 'list-type': '2', 'max-keys': '-1' }, 400, 'InvalidArgument'],
      [7, '/inbox', { 'list-type': '2', 'continuation-token': 'garbage' }, 400, 'InvalidArgument'],
      [8, '/inbox', { 'list-type': '2', 'encoding-type': 'base64' }, 400, 'InvalidArgument'],
      [9, '/nosuchbucket', { 'list-type': '2' }, 404, 'NoSuchBucket'],
    ];
    for (const [row, path, query, status, code] of cases) {
      const r = await signed(g, key, { method: 'GET', path, query });
      equal(r.status, status, `row ${row}`);
      equal(xmlCode(r.body), code, `row ${row}`);
      ok(r.headers['x-amz-request-id'], `row ${row}`);
      match(r.body, new RegExp(`<RequestId>${r.headers['x-amz-request-id']}</RequestId>`));
    }
    const del = await signed(g, key, { method: 'PATCH', path: '/inbox/k' });
    equal(del.status, 405);
    const put = await signed(g, key, { method: 'PUT', path: '/inbox/a%2F%2Fb', body: 'x' });
    equal(xmlCode(put.body), 'InvalidArgument');
    await stillServing();
  });

  test('7 Expect: 100-continue: 100 only after authentication passed', async () => {
    const good = await signHead('PUT', '/inbox/continued', { 'content-length': '5', expect: '100-continue' });
    const reply = await new Promise<string>((resolve) => {
      const sock = net.connect(g.port, '127.0.0.1');
      let got = '';
      let sentBody = false;
      sock.on('data', (d) => {
        got += d.toString();
        if (got.startsWith('HTTP/1.1 100') && !sentBody) {
          sentBody = true;
          sock.write('hello');
        }
        if (/HTTP\/1\.1 200/.test(got)) {
          sock.destroy();
          resolve(got);
        }
      });
      sock.write(good);
      setTimeout(() => {
        sock.destroy();
        resolve(got);
      }, 3000);
    });
    match(reply, /^HTTP\/1\.1 100 Continue/);
    match(reply, /HTTP\/1\.1 200 OK/);
    const bad = good.replace(/Signature=[0-9a-f]+/, `Signature=${'0'.repeat(64)}`);
    const refused = await rawExchange(g.port, bad, { timeoutMs: 1500 });
    match(refused, /^HTTP\/1\.1 403 /);
    ok(!refused.includes('100 Continue'));
  });

  test('8 virtual-hosted style with s3.domain', async () => {
    await sdkClient(g, key).send(new PutObjectCommand({ Bucket: 'inbox', Key: 'vh.txt', Body: 'virtual' }));
    const head = await signHead('GET', '/vh.txt', { host: `inbox.s3.test:${g.port}` });
    const reply = await rawExchange(g.port, head.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'));
    match(reply, /^HTTP\/1\.1 200 /);
    match(reply, /virtual$/);
  });

  test('9 an unsigned request with a wrong signature is refused; a request without body works after all that', async () => {
    const r = await send(g.port, {
      method: 'GET',
      path: '/inbox?list-type=2',
      headers: {
        authorization: `AWS4-HMAC-SHA256 Credential=${key.accessKeyId}/20200101/${REGION}/s3/aws4_request, SignedHeaders=host, Signature=00`,
      },
    });
    ok(r.status === 403 || r.status === 400);
    await stillServing();
  });

  test('10 a client that pipelines requests and goes away without reading leaves nothing in flight', async () => {
    const server = g.gw.servers.find((x) => x.protocol === 's3') as unknown as { requestsInFlight: number };
    await sdkClient(g, key).send(
      new PutObjectCommand({ Bucket: 'inbox', Key: 'big.bin', Body: Buffer.alloc(16 * 1024 * 1024, 7) }),
    );
    const big = await signHead('GET', '/inbox/big.bin', {});
    const list = await signHead('GET', '/inbox?list-type=2', {});
    const socket = net.connect(g.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.pause();
    // The first reply is larger than the socket buffers take; the second waits behind it (the
    // lean front reads it once the first is answered, node:http queues its answer).
    socket.write(big + list);
    for (let i = 0; i < 250 && server.requestsInFlight < 1; i++) await new Promise((r) => setTimeout(r, 20));
    equal(server.requestsInFlight, 1, 'the first request is being answered');
    socket.destroy();
    for (let i = 0; i < 500 && server.requestsInFlight > 0; i++) await new Promise((r) => setTimeout(r, 20));
    equal(server.requestsInFlight, 0, 'a stop would otherwise wait its whole grace period');
    await stillServing();
  });
});
