import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getMetrics } from '../../src/ops/metrics/index.ts';
import { runCommand } from '../support/proc.ts';
import { type S3Gateway, sdkClient, startS3Gateway } from './fixture.ts';
import { rawExchange, signed, xmlCode } from './raw.ts';

// The S3 listener's own HTTP/1.1 front for GET and HEAD (src/protocols/s3/lean-http.ts), and
// its hand-over to node:http for everything else, on the wire.

interface Answer {
  status: number;
  headers: Map<string, string[]>;
  body: Buffer;
}

/** The answers in `bytes`, in order; `heads` says which of them answer a HEAD (no body). */
function answers(bytes: Buffer, heads: boolean[] = []): Answer[] {
  const out: Answer[] = [];
  let at = 0;
  while (at < bytes.length) {
    const end = bytes.indexOf('\r\n\r\n', at);
    ok(end > 0, `an answer's head ends (${bytes.subarray(at).toString('latin1').slice(0, 200)})`);
    const [statusLine, ...lines] = bytes.subarray(at, end).toString('latin1').split('\r\n');
    const headers = new Map<string, string[]>();
    for (const line of lines) {
      const c = line.indexOf(':');
      const name = line.slice(0, c).toLowerCase();
      headers.set(name, [...(headers.get(name) ?? []), line.slice(c + 1).trim()]);
    }
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine!)?.[1]);
    const length = heads[out.length] || status === 304 ? 0 : Number(headers.get('content-length')?.[0] ?? 0);
    out.push({ status, headers, body: bytes.subarray(end + 4, end + 4 + length) });
    at = end + 4 + length;
  }
  return out;
}

/** Writes `parts` (each after a pause) and collects what comes back until the server closes. */
function exchange(
  port: number,
  parts: string[],
  timeoutMs = 3000,
): Promise<{ bytes: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closed = false;
    const timer = setTimeout(() => s.destroy(), timeoutMs);
    s.on('data', (c) => chunks.push(c));
    s.on('error', () => {});
    s.on('end', () => {
      closed = true;
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ bytes: Buffer.concat(chunks), closed });
    });
    void (async () => {
      for (const p of parts) {
        s.write(p);
        await new Promise((r) => setTimeout(r, 30));
      }
    })();
  });
}

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`;
const head = (path: string) => `HEAD ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;

describe('S3 GET and HEAD through the lean HTTP front, everything else through node:http', () => {
  let g: S3Gateway;
  let key: { accessKeyId: string; secret: string };
  const small = Buffer.from('hello, lean front\n');
  const big = Buffer.alloc(8 * 1024 * 1024);
  const mid = Buffer.alloc(1024 * 1024, 'm');
  for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i, i);
  before(async () => {
    g = await startS3Gateway({ publicRead: ['pub'] });
    key = await g.user('lena');
    const s3 = sdkClient(g, key);
    await s3.send(new CreateBucketCommand({ Bucket: 'pub' }));
    await s3.send(
      new PutObjectCommand({ Bucket: 'pub', Key: 'a.txt', Body: small, ContentType: 'text/plain' }),
    );
    await s3.send(new PutObjectCommand({ Bucket: 'pub', Key: 'big.bin', Body: big }));
    await s3.send(new PutObjectCommand({ Bucket: 'pub', Key: 'mid.bin', Body: mid }));
  });
  after(() => g.stop());

  test('1 pipelined GET, HEAD and GET in one write: three answers in order, the HEAD without a body', async () => {
    const { bytes } = await exchange(g.port, [
      get('/pub/a.txt') + head('/pub/a.txt') + get('/pub/missing', 'Connection: close\r\n'),
    ]);
    const [a, h, missing] = answers(bytes, [false, true, false]);
    equal(a?.status, 200);
    deepEqual(a?.body, small);
    equal(a?.headers.get('content-type')?.[0], 'text/plain');
    equal(a?.headers.get('connection')?.[0], 'keep-alive');
    ok(a?.headers.get('date'), 'a Date header');
    ok(a?.headers.get('x-amz-request-id'), 'a request id');
    equal(h?.status, 200);
    equal(h?.headers.get('content-length')?.[0], String(small.length));
    equal(h?.headers.get('etag')?.[0], a?.headers.get('etag')?.[0]);
    equal(missing?.status, 404);
    equal(xmlCode(missing!.body.toString()), 'NoSuchKey');
    equal(missing?.headers.get('connection')?.[0], 'close', 'Connection: close is honoured');
  });

  test('2 a DELETE after a GET on one connection goes to node:http, and so does every request after it', async () => {
    const del = 'DELETE /pub/a.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    const { bytes, closed } = await exchange(g.port, [
      get('/pub/a.txt'),
      del,
      get('/pub/a.txt', 'Connection: close\r\n'),
    ]);
    const [first, refused, last] = answers(bytes);
    equal(first?.status, 200);
    // Anonymous: the bucket is public for reading only (node:http's answer, on the same connection).
    equal(refused?.status, 403);
    equal(xmlCode(refused!.body.toString()), 'AccessDenied');
    equal(last?.status, 200);
    deepEqual(last?.body, small);
    ok(closed, 'closed after the Connection: close answer');
  });

  test('3 a head arriving a few bytes at a time is answered once whole', async () => {
    const whole = get('/pub/a.txt', 'Connection: close\r\n');
    const parts = whole.match(/.{1,7}/gs) ?? [];
    const { bytes } = await exchange(g.port, parts);
    const [a] = answers(bytes);
    equal(a?.status, 200);
    deepEqual(a?.body, small);
  });

  test('4 malformed and oversized heads get node:http’s S3 XML errors and a closed connection', async () => {
    const bad = await rawExchange(g.port, 'GET /pub/a.txt HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n');
    match(bad, /^HTTP\/1\.1 400 /);
    match(bad, /<Code>InvalidRequest<\/Code>/);
    const huge = await rawExchange(
      g.port,
      `GET /pub/a.txt HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(20_000)}\r\n\r\n`,
    );
    match(huge, /^HTTP\/1\.1 431 /);
    match(huge, /<Code>RequestHeaderSectionTooLarge<\/Code>/);
    // Lines ended by a bare LF: node:http's to judge (it refuses them), at once, not waited on.
    const lf = await rawExchange(g.port, 'GET /pub/a.txt HTTP/1.1\nHost: x\nConnection: close\n\n', {
      timeoutMs: 10_000,
    });
    match(lf, /^HTTP\/1\.1 400 /);
    // A GET that says it has a body is node:http's too, and answered.
    const withBody = await rawExchange(
      g.port,
      'GET /pub/a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc',
    );
    match(withBody, /^HTTP\/1\.1 200 /);
    ok(withBody.endsWith(small.toString()));
  });

  test('5 a large object read slowly arrives whole (the socket’s backpressure holds the stream)', async () => {
    const bytes = await new Promise<Buffer>((resolve) => {
      const s = net.connect(g.port, '127.0.0.1');
      const chunks: Buffer[] = [];
      s.pause();
      s.write(get('/pub/big.bin', 'Connection: close\r\n'));
      // Read nothing for a while: the gateway must wait, not buffer or drop.
      setTimeout(() => s.resume(), 500);
      s.on('data', (c) => chunks.push(c));
      s.on('close', () => resolve(Buffer.concat(chunks)));
    });
    const [a] = answers(bytes);
    equal(a?.status, 200);
    equal(a?.body.length, big.length);
    ok(a?.body.equals(big), 'the bytes are the object’s');
  });

  test('5b 40 pipelined GETs of 1 MiB from a client that does not read: answered one at a time as it reads', async () => {
    const gets = async () =>
      Number(
        /gateway_requests_total\{protocol="s3",op="GetObject"\} (\d+)/.exec(
          await getMetrics(g.gw).registry.metrics(),
        )?.[1] ?? 0,
      );
    const before = await gets();
    const s = net.connect(g.port, '127.0.0.1');
    s.pause();
    const requests = Array.from({ length: 40 }, (_, i) =>
      get('/pub/mid.bin', i === 39 ? 'Connection: close\r\n' : ''),
    );
    s.write(requests.join(''));
    await new Promise((r) => setTimeout(r, 500));
    // The socket buffers hold a few answers; the rest are not read, not answered, not held in memory.
    ok((await gets()) - before < 20, `${(await gets()) - before} answered before the client read any`);
    const chunks: Buffer[] = [];
    s.on('data', (c) => chunks.push(c));
    s.resume();
    await new Promise((r) => s.on('close', r));
    const all = answers(Buffer.concat(chunks));
    equal(all.length, 40);
    ok(
      all.every((a) => a.status === 200 && a.body.equals(mid)),
      'every answer whole and in order',
    );
  });

  test('6 a response-* override that would break a header is refused, and injects nothing', async () => {
    const r = await signed(g, key, {
      method: 'GET',
      path: '/pub/a.txt',
      query: { 'response-content-disposition': 'attachment\r\nX-Injected: 1' },
    });
    equal(r.status, 400);
    equal(xmlCode(r.body), 'InvalidArgument');
    equal(r.headers['x-injected'], undefined);
    const fine = await signed(g, key, {
      method: 'GET',
      path: '/pub/a.txt',
      query: { 'response-content-disposition': 'attachment; filename="a.txt"' },
    });
    equal(fine.status, 200);
    equal(fine.headers['content-disposition'], 'attachment; filename="a.txt"');
  });

  test('7 curl: one connection for a GET, a HEAD and a range', async () => {
    const url = `${g.endpoint}/pub/a.txt`;
    // Not spawnSync: the gateway answers on this process's event loop.
    const r = await runCommand(
      'curl',
      [
        '-sv',
        '-o',
        '/dev/null',
        url,
        '--next',
        '-sv',
        '-I',
        '-o',
        '/dev/null',
        url,
        '--next',
        '-sv',
        '-r',
        '0-4',
        url,
      ],
      { timeoutMs: 20_000 },
    );
    equal(r.code, 0, r.stderr);
    equal(r.stdout, 'hello');
    equal(r.stderr.match(/Re-using existing connection/g)?.length, 2, r.stderr);
    match(r.stderr, /< HTTP\/1\.1 206 Partial Content/);
  });

  test("8 the runbook's S3 health check, `curl -s http://localhost:9000/ | head -5`, shows an S3 answer", async () => {
    const r = await runCommand('bash', ['-c', `curl -s http://localhost:${g.port}/ | head -5`], {
      timeoutMs: 20_000,
    });
    equal(r.code, 0, r.stderr);
    match(r.stdout, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<Error><Code>AccessDenied<\/Code>/);
    match(r.stdout, /<RequestId>[0-9A-F]{16}<\/RequestId>/);
  });

  test('9 an idle keep-alive connection is closed after 5 s, as node:http closes it', async () => {
    const started = performance.now();
    const { bytes, closed } = await exchange(g.port, [get('/pub/a.txt')], 10_000);
    ok(closed, 'the server closed it');
    equal(answers(bytes)[0]?.status, 200);
    ok(performance.now() - started >= 4500, 'not before the keep-alive time');
  });

  test('10 a request sent while the gateway stood still past the keep-alive time is answered, not reset', async () => {
    // A client in another process keeps three connections: one on the lean front, one handed
    // to node:http (a DELETE went first), one to the ops listener. Each is answered once; then
    // this process (the gateway's) stands still for longer than the keep-alive time, as a VM
    // stall or a long collection makes it, and the client asks again on each meanwhile. When
    // the gateway moves again its idle timers come due before it reads those requests.
    const client = fileURLToPath(new URL('../support/ask-twice.mjs', import.meta.url));
    const child = spawn(
      process.execPath,
      [client, `${g.port}:GET:/pub/a.txt`, `${g.port}:DELETE:/pub/a.txt`, `${g.opsPort}:GET:/health`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.setEncoding('utf8');
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (c: string) => {
        out += c;
        if (out.includes('\n')) resolve();
      }),
    );
    // Standing still: nothing in this process runs for 6.5 s (the keep-alive time is 5 s).
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 6500);
    const [code] = await once(child, 'exit');
    equal(code, 0);
    const [first, second] = out.split('\n');
    // The DELETE was refused (anonymous), by node:http, which keeps the connection from then on.
    equal(first, 'answered ["HTTP 200","HTTP 403","HTTP 200"]');
    // Answered again on each: the lean front, node:http and the ops listener.
    deepEqual(JSON.parse(second!), ['HTTP 200', 'HTTP 200', 'HTTP 200']);
  });
});
