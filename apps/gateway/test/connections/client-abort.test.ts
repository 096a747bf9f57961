/**
 * A client that hangs up in the middle of a request: its connection closes before the
 * request's handler has ended it. The in-flight count must come back to exactly 0 — it used to
 * be subtracted at both events and stay at -1 for good, so `./cfs gateway drain` never finished
 * ("requests ended too recently") and the node's heartbeat was refused.
 */
import { equal, match, notEqual, ok } from 'node:assert/strict';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Protocol } from '../../src/config/types.ts';
import { ConnectionRegistry } from '../../src/ops/connections.ts';
import { until } from '../ops-drain/fixture.ts';
import { type S3Gateway, sdkClient, startS3Gateway } from '../s3/fixture.ts';
import { getJson } from '../support/http.ts';
import { runCommand, spawnProcess } from '../support/proc.ts';
import { mustToolPath, requireTools } from '../support/tools.ts';

const CFS = new URL('../../../../cfs', import.meta.url).pathname;

describe('a client hanging up mid-request leaves nothing in flight', () => {
  let g: S3Gateway;
  const finished: Array<{ protocol: Protocol; op: string; errorCode: string | undefined }> = [];

  before(async () => {
    g = await startS3Gateway();
    // The admin API trusts the test caller (as the drain CLI tests do): no operator account here.
    g.gw.admin.authenticate = async () => ({ actor: 'test', role: 'admin', remoteAddress: '127.0.0.1' });
    g.gw.connections.observers.push({
      request: (protocol, op, _seconds, errorCode) => finished.push({ protocol, op, errorCode }),
    });
  });
  after(() => g?.stop());

  test(
    '1 curl killed in the middle of a PUT body: in flight back to 0, and a drain completes',
    requireTools('curl'),
    async () => {
      const key = await g.user('aborter');
      const s3 = sdkClient(g, key);
      await s3.send(new CreateBucketCommand({ Bucket: 'slow' }));
      const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'slow', Key: 'big.bin' }), {
        expiresIn: 600,
      });
      // 64 MiB sent at 256 KiB/s: the body is still arriving when curl is killed.
      const file = join(g.dir, 'big.bin');
      writeFileSync(file, '');
      truncateSync(file, 64 * 1024 * 1024);
      const curl = spawnProcess(
        mustToolPath('curl'),
        ['-s', '-o', '/dev/null', '-T', file, '--limit-rate', '256k', url],
        {
          name: 'curl',
        },
      );
      try {
        await until(
          () => g.gw.connections.inFlight('s3') === 1 && (g.gw.connections.list()[0]?.bytesIn ?? 0) > 0,
          30_000,
          'the PUT in flight with part of its body read',
        );
      } finally {
        await curl.stop();
      }

      // Both events have happened: the connection closed and the request's handler ended it.
      await until(
        () => g.gw.connections.count('s3') === 0 && finished.some((f) => f.op === 'PutObject'),
        30_000,
        'the aborted PUT ended and its connection closed',
      );
      equal(g.gw.connections.inFlight('s3'), 0);
      equal(g.gw.connections.inFlight(), 0);
      const listed = await getJson<{ inFlight: number }>(`http://127.0.0.1:${g.opsPort}/admin/connections`);
      equal(listed.inFlight, 0);

      const drain = await runCommand(
        CFS,
        ['gateway', 'drain', '--timeout', '20s', '--config', join(g.dir, 'gateway.yaml')],
        { timeoutMs: 60_000 },
      );
      equal(drain.code, 0, drain.output);
      match(drain.stdout, /s3: 0 connections, 0 in flight/);
      match(drain.stdout, /^drained: no request in flight/m);
    },
  );

  test(
    '1b a GET still sending its body to a slow client is in flight, its bytes out growing, until its last byte is handed to the socket: a drain waits for it',
    requireTools('curl'),
    async () => {
      const undrain = () =>
        runCommand(CFS, ['gateway', 'undrain', '--config', join(g.dir, 'gateway.yaml')], {
          timeoutMs: 60_000,
        });
      await undrain(); // test 1 ended drained
      const key = await g.user('slow-reader');
      const s3 = sdkClient(g, key);
      await s3.send(new CreateBucketCommand({ Bucket: 'slow-read' }));
      const body = Buffer.alloc(24 * 1024 * 1024, 7);
      await s3.send(new PutObjectCommand({ Bucket: 'slow-read', Key: 'big.bin', Body: body }));
      const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'slow-read', Key: 'big.bin' }), {
        expiresIn: 600,
      });
      const out = join(g.dir, 'read-back.bin');
      // 24 MiB at 2 MiB/s: about 12 seconds of body, more than the kernel's socket buffers
      // on loopback hold (a few MiB, which the gateway hands over at once).
      const curl = spawnProcess(mustToolPath('curl'), ['-s', '-o', out, '--limit-rate', '2M', url], {
        name: 'curl',
        keepAlive: true,
      });
      const reading = () =>
        g.gw.connections.list().find((c) => c.protocol === 's3' && c.currentOp === 'GetObject');
      await until(() => (reading()?.bytesOut ?? 0) > 1024 * 1024, 30_000, 'the GET part sent');
      const first = reading()!;
      equal(first.inFlight, 1, 'in flight while its body is being sent');
      equal(g.gw.connections.inFlight('s3'), 1);
      const drain = await runCommand(
        CFS,
        ['gateway', 'drain', '--timeout', '1s', '--config', join(g.dir, 'gateway.yaml')],
        { timeoutMs: 60_000 },
      );
      notEqual(drain.code, 0, `a drain does not call the gateway idle mid-download: ${drain.output}`);
      match(drain.stdout, /s3: \d+ connections?, 1 in flight/);
      await until(() => (reading()?.bytesOut ?? 0) > first.bytesOut, 30_000, 'more of the body sent');
      equal((await curl.exited).code, 0, curl.output());
      ok(readFileSync(out).equals(body), 'the whole object arrived');
      await until(() => g.gw.connections.inFlight('s3') === 0, 30_000, 'the GET over once its body is sent');
      await undrain();
    },
  );
});

/** The same accounting, event by event, in every order a protocol can produce. */
describe('the in-flight count whatever the order of a request end and its connection close', () => {
  const fresh = () => {
    const registry = new ConnectionRegistry(10);
    const conn = registry.accept('nfs', '192.0.2.10', 40000, 2049);
    ok(conn);
    return { registry, conn };
  };

  test('2 end, then close', () => {
    const { registry, conn } = fresh();
    const end = conn.begin('WRITE');
    equal(registry.inFlight('nfs'), 1);
    end();
    conn.close();
    equal(registry.inFlight('nfs'), 0);
  });

  test('3 close, then end (the client hung up); a second end and a second close change nothing', () => {
    const { registry, conn } = fresh();
    const end = conn.begin('WRITE');
    conn.close();
    equal(registry.inFlight('nfs'), 0, 'a closed connection holds no drain up');
    end('NFS3ERR_IO');
    end();
    conn.close();
    equal(registry.inFlight('nfs'), 0);
  });

  test('4 two requests, one ended before the close and one after; idle is announced once the count is 0', () => {
    const { registry, conn } = fresh();
    let idle = 0;
    registry.idleListeners.add(() => idle++);
    const first = conn.begin('READ');
    const second = conn.begin('WRITE');
    first();
    equal(registry.inFlight('nfs'), 1);
    equal(idle, 0);
    conn.close();
    equal(registry.inFlight('nfs'), 0);
    equal(idle, 1);
    second();
    equal(registry.inFlight(), 0);
  });

  test('5 a request begun after the close counts until it ends', () => {
    const { registry, conn } = fresh();
    conn.close();
    const late = conn.begin('COMMIT');
    equal(registry.inFlight('nfs'), 1);
    late();
    equal(registry.inFlight('nfs'), 0);
  });
});
