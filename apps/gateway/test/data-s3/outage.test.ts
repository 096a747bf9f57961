import { deepEqual, equal, ok, rejects } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backendFailure, CircuitBreaker } from '../../src/storage/circuit-breaker.ts';
import type { S3DataStore } from '../../src/storage/data/s3-blobs.ts';
import { isFsError } from '../../src/storage/errors.ts';
import { guardAsync } from '../../src/storage/guarded.ts';
import { type StoreServer, startStoreServer } from './store-server.ts';

const CS = 64 * 1024;
const TIMEOUT_MS = 1500;

/** Rejects within `withinMs` with an error the transport breaker counts (an EIO FsError). */
async function failsWithin(p: Promise<unknown>, withinMs: number, code: RegExp): Promise<void> {
  const started = performance.now();
  await rejects(p, (e: Error & { code?: string }) => {
    const took = performance.now() - started;
    ok(took < withinMs, `failed after ${took} ms, more than ${withinMs}`);
    ok(code.test(String(e.code)), `code ${String(e.code)}: ${e.message}`);
    const counted = backendFailure(e, 'transport');
    ok(counted && isFsError(counted, 'EIO'), 'the breaker counts it as a transport failure');
    return true;
  });
}

describe('S3DataStore when its object store stops answering or dies', () => {
  let server: StoreServer;
  const open: S3DataStore[] = [];
  const store = async (chunkSize = CS) => {
    const s = await server.open('outage', { chunkSize, requestTimeoutMs: TIMEOUT_MS });
    open.push(s);
    return s;
  };
  const data = Buffer.alloc(2 * CS, 0x5a);

  before(async () => {
    server = await startStoreServer();
    const w = await store();
    await w.prepareWrite(1n, 0);
    await w.write(1n, 0, data);
    await w.sync(1n);
  });
  after(async () => {
    server.resume();
    await Promise.all(open.map((s) => s.close().catch(() => {})));
    await server.stop();
  });

  test('1 a hung store (SIGSTOP): reads, syncs and probes fail after the request timeout; the breaker opens; all works again on SIGCONT', async () => {
    const reader = await store();
    const writer = await store(4 * CS);
    await writer.prepareWrite(2n, 0);
    await writer.write(2n, 10, Buffer.from('buffered'));
    server.pause();
    try {
      await failsWithin(reader.read(1n, 0, CS), TIMEOUT_MS + 2500, /^ETIMEDOUT$/);
      const failing = writer.sync(2n);
      // Written while the upload of the same chunk hangs: laid over it when it fails.
      await writer.write(2n, 2 * CS, Buffer.alloc(40 * 1024, 0x71));
      await failsWithin(failing, TIMEOUT_MS + 2500, /^ETIMEDOUT$/);
      await failsWithin(writer.probe(), TIMEOUT_MS + 2500, /^ETIMEDOUT$/);
      // The failed sync kept the bytes: this node still reads them, and a later sync retries.
      equal((await writer.read(2n, 10, 8)).toString(), 'buffered');

      const breaker = new CircuitBreaker('transport', { failureThreshold: 2, resetTimeoutMs: 60_000 });
      const guarded = guardAsync(reader, breaker);
      await rejects(guarded.read(1n, CS, 10));
      await rejects(guarded.read(1n, CS, 10));
      equal(breaker.state, 'open');
      const started = performance.now();
      await rejects(guarded.read(1n, CS, 10), (e: unknown) => isFsError(e, 'EAGAIN'));
      ok(performance.now() - started < 100, 'an open circuit refuses at once');
    } finally {
      server.resume();
    }
    deepEqual(await reader.read(1n, 0, 2 * CS), data);
    await writer.sync(2n);
    equal(writer.bufferedBytes, 0);
    await writer.probe();
    const fresh = await store(4 * CS);
    equal((await fresh.read(2n, 10, 8)).toString(), 'buffered');
    deepEqual(await fresh.read(2n, 2 * CS, 40 * 1024), Buffer.alloc(40 * 1024, 0x71));
  });

  test('2 a killed store: calls fail fast, not after a hang; restarted on the same port, the same store instance works again', async () => {
    const s = await store();
    await s.prepareWrite(3n, 0);
    await s.write(3n, 0, Buffer.from('before the crash'));
    await s.sync(3n);
    await s.write(3n, 100, Buffer.from('while it was down'));
    await server.kill();
    await failsWithin(s.sync(3n), TIMEOUT_MS + 2500, /^E[A-Z]+$/);
    await failsWithin(s.probe(), TIMEOUT_MS + 2500, /^E[A-Z]+$/);
    s.invalidate(3n);
    await failsWithin(s.read(3n, 0, 10), TIMEOUT_MS + 2500, /^E[A-Z]+$/);
    await server.restart();
    await s.probe();
    await s.sync(3n);
    s.invalidate(3n);
    equal((await s.read(3n, 0, 16)).toString(), 'before the crash');
    const fresh = await store();
    equal((await fresh.read(3n, 100, 100)).toString(), 'while it was down');
  });
});
