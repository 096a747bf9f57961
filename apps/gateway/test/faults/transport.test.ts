/**
 * The data store ("A4 transport") made to fail under a gateway serving NFS, S3 and SMB: for
 * real where this machine allows it (the data folder removed, mounted read-only, its file
 * system full) and through the test-only fault wrapper otherwise (EIO, slow I/O). For each,
 * scenario.ts runs the round: fast protocol errors, the circuit opened by the probes alone,
 * /health naming the backend and the cause, recovery by itself, nothing acknowledged lost.
 */

import { deepEqual, equal, ok } from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { until } from '../diagnostics/fixture.ts';
import { sampleValue, scrape } from '../metrics/fixture.ts';
import {
  BUCKET,
  describeFullRound,
  describeRound,
  faultGateway,
  faultRound,
  fillFileSystem,
  fullRound,
  ON_EIO,
  ON_ENOSPC,
  ON_EROFS,
  SLOW_BUT_DONE,
  WAIT_MS,
} from './scenario.ts';

const ROOT_ONLY = 'needs root to mount a tmpfs and a read-only bind mount';

describe('transport faults, as NFS, S3 and SMB clients see them', () => {
  const g = faultGateway('transport', '24m');
  const data = () => join(g.home, 'data');

  test('1 the data folder disappears (renamed away), then comes back', async (t) => {
    const figures = await faultRound(g.rig, g.clients, {
      backend: 'transport',
      label: 'transport: data folder removed',
      apply: () => renameSync(data(), `${data()}.away`),
      remove: () => renameSync(`${data()}.away`, data()),
      direct: ON_EIO,
      cause: /ENOENT: no such file or directory/,
    });
    t.diagnostic(describeRound(figures));
  });

  test('2 the data folder is mounted read-only (a read-only bind mount over it), then writable again', async (t) => {
    if (!g.mounted) return t.skip(ROOT_ONLY);
    const figures = await faultRound(g.rig, g.clients, {
      backend: 'transport',
      label: 'transport: data folder read-only',
      apply: () => {
        execFileSync('mount', ['--bind', data(), data()]);
        execFileSync('mount', ['-o', 'remount,bind,ro', data()]);
      },
      remove: () => {
        execFileSync('umount', [data()]);
      },
      direct: ON_EROFS,
      cause: /EROFS: read-only file system/,
    });
    t.diagnostic(describeRound(figures));
  });

  test('3 the data file system fills up (a real 24 MiB tmpfs): writes are refused as disk full, reads go on, a delete gives its room back at once, no circuit opens; space freed, all goes on', async (t) => {
    if (!g.mounted) return t.skip(ROOT_ONLY);
    let filler: { free(): void } | undefined;
    const big = 'big-before-full';
    const figures = await fullRound(g.rig, g.clients, {
      backend: 'transport',
      label: 'transport: data file system full',
      apply: async () => {
        await g.clients.s3.send(
          new PutObjectCommand({ Bucket: BUCKET, Key: big, Body: Buffer.alloc(1 << 20, 'b') }),
        );
        filler = fillFileSystem(g.home);
      },
      whileFull: async () => {
        await g.clients.s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: big }));
        // Its blob is deleted now, not queued until the next start (a full disk's first fix).
        await until(
          "the deleted object's blob to be gone",
          async () => (await g.rig.gw.ns.meta.pendingGc()).length === 0,
          WAIT_MS,
        );
      },
      remove: () => filler?.free(),
      direct: ON_ENOSPC,
      cause: /ENOSPC: no space left on device/,
    });
    t.diagnostic(describeFullRound(figures));
  });

  test('4 every data-store call fails with EIO (injected), then the fault clears', async (t) => {
    const figures = await faultRound(g.rig, g.clients, {
      backend: 'transport',
      label: 'transport: EIO on every call (injected)',
      apply: () => g.faults.arm('transport', { errno: 'EIO' }),
      remove: () => g.faults.clear('transport'),
      direct: ON_EIO,
      cause: /EIO: injected fault/,
    });
    t.diagnostic(describeRound(figures));
  });

  test('5 slow I/O (injected, 1.5 s a call): slow calls open the circuit, then every protocol is refused at once', async (t) => {
    const figures = await faultRound(g.rig, g.clients, {
      backend: 'transport',
      label: 'transport: 1.5 s a call (injected), slow_call 1 s',
      apply: () => g.faults.arm('transport', { delayMs: 1500 }),
      remove: () => g.faults.clear('transport'),
      direct: SLOW_BUT_DONE,
      // Answered late, or counted by the watchdog while it waited.
      cause: /(slow call: \d+ ms|not answered after \d+ ms) \(slow_call 1000 ms\)/,
    });
    t.diagnostic(describeRound(figures));
  });

  test('6 the whole process stands still 2.5 s while writes wait on the data store: all answered, no circuit opened', async () => {
    // A VM pause or a heap snapshot: every call in flight answers seconds late, through no
    // fault of the data store, and slow_call is 1 s here.
    const breaker = g.rig.gw.ns.breakers.transport;
    const failures = breaker.snapshot().totalFailures;
    const metric = async (name: string, labels = {}) =>
      sampleValue((await scrape(g.rig.opsUrl)).samples, name, labels) ?? Number.NaN;
    const stalls = await metric('gateway_event_loop_stalls_total');
    const clientCalls = () =>
      [...g.faults.injectedBy].reduce(
        (n, [k, v]) => (k.startsWith('transport ') && k !== 'transport probe' ? n + v : n),
        0,
      );
    const before = clientCalls();
    g.faults.arm('transport', { delayMs: 300 });
    try {
      const answers = g.clients.attempt('transport');
      // Each of the three writes waits 300 ms in the data store; then the process stands still.
      await until(
        'an NFS, an S3 and an SMB write in the data store',
        () => clientCalls() >= before + 3,
        10_000,
      );
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2500);
      const got = await answers;
      deepEqual(Object.fromEntries(got.map((a) => [a.protocol, a.answer])), SLOW_BUT_DONE);
    } finally {
      g.faults.clear('transport');
    }
    equal(breaker.state, 'closed', 'the transport circuit stayed closed');
    equal(breaker.snapshot().totalFailures, failures, 'no backend failure counted');
    equal(await metric('gateway_circuit_breaker_state', { backend: 'transport' }), 0);
    ok((await metric('gateway_event_loop_stalls_total')) > stalls, 'the stall is counted');
    ok(g.logged('event loop stood still for'), 'and logged');
    // The next writes go through at once.
    deepEqual(
      Object.fromEntries((await g.clients.attempt('transport')).map((a) => [a.protocol, a.answer])),
      SLOW_BUT_DONE,
    );
  });
});
