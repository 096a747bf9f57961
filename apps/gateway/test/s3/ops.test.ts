import { deepEqual, equal, match, ok, rejects } from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getMetrics } from '../../src/ops/metrics/index.ts';
import { runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';
import { type S3Gateway, sdkClient, selfSignedCert, startS3Gateway } from './fixture.ts';
import { rawExchange, signHead } from './raw.ts';

/** A fresh TCP connection (resolves once connected, then closes it). */
function connect(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve();
    });
    s.on('error', reject);
  });
}

describe('S3 operations plane: metrics, connections, health, drain, limits', () => {
  let g: S3Gateway;
  let key: { accessKeyId: string; secret: string; uid: number };
  let c: S3Client;
  const seen: Array<[string, string, string | undefined]> = [];
  before(async () => {
    g = await startS3Gateway();
    key = await g.user('ops');
    c = sdkClient(g, key);
    g.gw.connections.observers.push({ request: (protocol, op, _s, code) => seen.push([protocol, op, code]) });
    await c.send(new CreateBucketCommand({ Bucket: 'opsb' }));
  });
  after(() => g.stop());

  test('1 every request is counted under its S3 operation name, with the error code', async () => {
    seen.length = 0;
    await c.send(new PutObjectCommand({ Bucket: 'opsb', Key: 'k', Body: 'v' }));
    await c.send(new GetObjectCommand({ Bucket: 'opsb', Key: 'k' })).then((r) => r.Body!.transformToString());
    await c.send(new GetObjectCommand({ Bucket: 'opsb', Key: 'missing' })).catch(() => {});
    await fetch(`${g.endpoint}/opsb/k?torrent`);
    deepEqual(seen, [
      ['s3', 'PutObject', undefined],
      ['s3', 'GetObject', undefined],
      ['s3', 'GetObject', 'NoSuchKey'],
      ['s3', 'Unknown', 'NotImplemented'],
    ]);
  });

  test('2 connections are registered with the key’s identity and bytes counted; closed ones leave', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const head = await signHead(g, key, 'GET', '/opsb/k', {});
    const headers = Object.fromEntries(
      head
        .split('\r\n')
        .slice(1)
        .filter(Boolean)
        .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]),
    );
    const localPort = await new Promise<number>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: g.port, path: '/opsb/k', headers, agent }, (res) => {
          const port = res.socket.localPort ?? 0;
          res.resume();
          res.on('end', () => resolve(port));
        })
        .on('error', reject);
    });
    const mine = g.gw.connections.list().filter((x) => x.protocol === 's3' && x.remotePort === localPort);
    equal(mine.length, 1);
    equal(mine[0]!.user, 'ops');
    equal(mine[0]!.uid, key.uid);
    equal(mine[0]!.keyId, key.accessKeyId);
    ok(mine[0]!.bytesIn > 100 && mine[0]!.bytesOut > 100);
    agent.destroy();
    await new Promise((r) => setTimeout(r, 100));
    equal(g.gw.connections.list().filter((x) => x.remotePort === localPort).length, 0);
  });

  test('3 health check "s3" probes the listener with a real request', async () => {
    await g.gw.health.probeAll();
    const s3 = g.gw.health.report().checks.find((x) => x.name === 's3');
    equal(s3?.status, 'healthy', s3?.message);
    // The probe is not client traffic: an idle gateway shows no S3 requests or errors for it.
    const listBuckets = async () =>
      /gateway_requests_total\{protocol="s3",op="ListBuckets"\} (\d+)/.exec(
        await getMetrics(g.gw).registry.metrics(),
      )?.[1] ?? '0';
    const before = await listBuckets();
    await g.gw.health.probeAll();
    await g.gw.health.probeAll();
    equal(await listBuckets(), before);
  });

  test('4 drain: the listener stops accepting, open connections keep working; undrain accepts again', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<number>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: g.port, path: '/', agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          })
          .on('error', reject);
      });
    equal(await get(), 403);
    const server = g.gw.servers.find((s) => s.protocol === 's3')!;
    server.setAccepting(false);
    await new Promise((r) => setTimeout(r, 50));
    await rejects(connect(g.port), /ECONNREFUSED/);
    equal(await get(), 403, 'the open keep-alive connection still serves');
    await g.gw.health.probeAll();
    equal(g.gw.health.report().checks.find((x) => x.name === 's3')?.status, 'degraded');
    server.setAccepting(true);
    await new Promise((r) => setTimeout(r, 50));
    await connect(g.port);
    agent.destroy();
  });

  test('5 streaming: a 192 MiB PUT and GET do not buffer whole bodies (RSS growth < 120 MB)', async () => {
    const size = 192 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024, 7);
    global.gc?.();
    const base = process.memoryUsage().rss;
    let peak = base;
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    try {
      const head = await signHead(g, key, 'PUT', '/opsb/stream.bin', { 'content-length': String(size) });
      const headers = Object.fromEntries(
        head
          .split('\r\n')
          .slice(1)
          .filter(Boolean)
          .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]),
      );
      const hash = createHash('md5');
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request(
          { host: '127.0.0.1', port: g.port, method: 'PUT', path: '/opsb/stream.bin', headers, agent: false },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        let sent = 0;
        const pump = () => {
          while (sent < size) {
            sent += chunk.length;
            hash.update(chunk);
            if (!req.write(chunk)) {
              req.once('drain', pump);
              return;
            }
          }
          req.end();
        };
        pump();
      });
      equal(status, 200);
      const got = await c.send(new GetObjectCommand({ Bucket: 'opsb', Key: 'stream.bin' }));
      const h2 = createHash('md5');
      for await (const part of got.Body as AsyncIterable<Buffer>) h2.update(part);
      equal(h2.digest('hex'), hash.digest('hex'));
    } finally {
      clearInterval(timer);
    }
    const growth = (peak - base) / 1e6;
    ok(growth < 120, `RSS grew by ${growth.toFixed(0)} MB`);
  });

  test('6 a request head for the limit: beyond limits.max_connections a connection gets 503 SlowDown', async () => {
    const small = await startS3Gateway({ maxConnections: 2 });
    try {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
      const hold = () =>
        new Promise<void>((resolve) => {
          http.get({ host: '127.0.0.1', port: small.port, path: '/', agent }, (res) => {
            res.resume();
            res.on('end', () => resolve());
          });
        });
      await Promise.all([hold(), hold()]);
      equal(small.gw.connections.count('s3'), 2);
      const reply = await rawExchange(small.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      match(reply, /^HTTP\/1\.1 503 /);
      match(reply, /<Code>SlowDown<\/Code>/);
      agent.destroy();
    } finally {
      await small.stop();
    }
  });

  test(
    '7 HTTPS: a new certificate is served after a reload without restarting the listener',
    requireTools('openssl'),
    async () => {
      const t = await startS3Gateway({ tls: true });
      try {
        const fingerprint = () =>
          new Promise<string>((resolve, reject) => {
            const s = tls.connect({ host: '127.0.0.1', port: t.port, rejectUnauthorized: false }, () => {
              resolve(s.getPeerX509Certificate()?.fingerprint256 ?? '');
              s.destroy();
            });
            s.on('error', reject);
          });
        const first = await fingerprint();
        const fresh = selfSignedCert(makeTempDir('s3-cert'));
        copyFileSync(fresh.cert, t.gw.config.s3.tls!.cert);
        copyFileSync(fresh.key, t.gw.config.s3.tls!.key);
        await t.gw.reload(t.gw.config);
        const second = await fingerprint();
        ok(first !== '' && second !== '' && first !== second, 'the fingerprint changed');
        equal(second, new X509Certificate(readFileSync(fresh.cert)).fingerprint256);
      } finally {
        await t.stop();
      }
    },
  );

  test(
    "7b HTTPS: plain HTTP sent to the HTTPS port is answered 400, as nginx answers it (the runbook's `curl http://…` health check), and TLS still works beside it",
    requireTools('openssl', 'curl'),
    async () => {
      const t = await startS3Gateway({ tls: true });
      try {
        const plain = await runCommand('curl', ['-s', '-i', `http://127.0.0.1:${t.port}/`]);
        equal(plain.code, 0, plain.output);
        match(plain.stdout, /^HTTP\/1\.1 400 Bad Request\r\n/);
        match(
          plain.stdout,
          /<Code>BadRequest<\/Code><Message>The plain HTTP request was sent to HTTPS port: use https:\/\/<\/Message>/,
        );
        const secure = await runCommand('curl', [
          '-s',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          '--cacert',
          t.certFile!,
          `https://127.0.0.1:${t.port}/`,
        ]);
        equal(secure.stdout, '403', `anonymous ListBuckets over TLS: ${secure.output}`);
      } finally {
        await t.stop();
      }
    },
  );
});
