import { deepEqual, equal, notEqual, ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BufferPool, POOLED_MIN_BYTES } from '../../src/storage/buffer-pool.ts';
import { ALICE, type Fixture, openFixture } from './fixture.ts';

const KiB = 1024;

describe('buffer pool', () => {
  test('1 a given-back buffer is handed out again for the same size class', () => {
    const pool = new BufferPool();
    const a = pool.take(100 * KiB);
    equal(a.length, 128 * KiB);
    pool.give(a);
    equal(pool.take(120 * KiB), a);
    equal(pool.reused, 1);
    notEqual(pool.take(100 * KiB), a);
  });

  test('2 views, odd sizes and buffers past the idle limit are not kept', () => {
    const pool = new BufferPool(256 * KiB);
    const whole = pool.take(128 * KiB);
    pool.give(whole.subarray(0, 64 * KiB));
    pool.give(Buffer.allocUnsafe(100 * KiB));
    equal(pool.idleBytes, 0);
    pool.give(whole);
    pool.give(pool.take(128 * KiB + 1)); // a fresh 256 KiB one: over the limit with `whole` kept
    equal(pool.idleBytes, 128 * KiB);
  });

  test('3 a leased view is exactly the size asked for; released, its memory serves the next lease, once', () => {
    const pool = new BufferPool(1024 * KiB, true);
    const a = pool.lease(100 * KiB + 3);
    equal(a.length, 100 * KiB + 3);
    ok(a.buffer instanceof SharedArrayBuffer, 'shared memory when asked for');
    pool.release(a);
    pool.release(a);
    equal(pool.idleBytes, 128 * KiB, 'released once, however often given back');
    const b = pool.lease(90 * KiB);
    equal(b.buffer, a.buffer);
    pool.release(Buffer.alloc(128 * KiB));
    equal(pool.idleBytes, 0, 'a buffer the pool never leased is not taken in');
  });
});

describe('pooled reads', () => {
  let fx: Fixture;
  let exp: bigint;
  before(async () => {
    fx = await openFixture();
    exp = (await fx.ns.ensureDirectory('/export', 0o1777)).ino;
  });
  after(() => fx.ns.close());

  /** Leaves a buffer of every class up to 1 MiB in the pool, full of 0xff. */
  function dirtyPool(): void {
    for (let size = POOLED_MIN_BYTES; size <= 1024 * KiB; size *= 2) {
      const b = fx.ns.buffers.take(size);
      b.fill(0xff);
      fx.ns.buffers.give(b);
    }
  }

  test('1 a recycled buffer never shows old bytes: holes and the tail past the blob read as zeros', async () => {
    const f = await fx.ns.create(ALICE, exp, 'sparse', 0o644);
    await fx.ns.write(ALICE, f.ino, 300n * 1024n, Buffer.alloc(10 * KiB, 7));
    await fx.ns.setattr(ALICE, f.ino, { size: 600n * 1024n });
    dirtyPool();
    const got = await fx.ns.read(ALICE, f.ino, 0n, 600 * KiB, { pooled: true });
    ok(got.release, 'a large pooled read says how to give its buffer back');
    const want = Buffer.alloc(600 * KiB);
    want.fill(7, 300 * KiB, 310 * KiB);
    deepEqual(got.data, want);
    equal(got.eof, true);
    const idle = fx.ns.buffers.idleBytes;
    got.release();
    got.release(); // twice is harmless: the buffer is kept once
    equal(fx.ns.buffers.idleBytes, idle + 1024 * KiB);
  });

  test('2 a composed file read into a pooled buffer: parts in order, zeros past the last extent', async () => {
    const parts: bigint[] = [];
    for (const fill of [0x61, 0x62]) {
      const p = await fx.ns.createDetached(ALICE, 0o644, 'multipart');
      await fx.ns.write(ALICE, p.ino, 0n, Buffer.alloc(70 * KiB, fill));
      parts.push(p.ino);
    }
    const composed = await fx.ns.compose(ALICE, parts, 'upload');
    await fx.ns.linkDetached(ALICE, composed.ino, exp, 'composed', false);
    await fx.ns.setattr(ALICE, composed.ino, { size: 200n * 1024n });
    dirtyPool();
    const got = await fx.ns.read(ALICE, composed.ino, 10n * 1024n, 190 * KiB, { pooled: true });
    const want = Buffer.concat([
      Buffer.alloc(60 * KiB, 0x61),
      Buffer.alloc(70 * KiB, 0x62),
      Buffer.alloc(60 * KiB),
    ]);
    deepEqual(got.data, want);
    got.release?.();
  });

  test('3 sequential pooled reads reuse one buffer once each is released', async () => {
    const f = await fx.ns.create(ALICE, exp, 'seq', 0o644);
    const chunk = 256 * KiB;
    for (let i = 0; i < 4; i++)
      await fx.ns.write(ALICE, f.ino, BigInt(i * chunk), Buffer.alloc(chunk, i + 1));
    const before = fx.ns.buffers.reused;
    for (let i = 0; i < 4; i++) {
      const got = await fx.ns.read(ALICE, f.ino, BigInt(i * chunk), chunk, { pooled: true });
      deepEqual(got.data, Buffer.alloc(chunk, i + 1));
      got.release?.();
    }
    ok(fx.ns.buffers.reused - before >= 3, 'later reads took the released buffer');
    // Small reads are plain allocations, with nothing to release.
    equal((await fx.ns.read(ALICE, f.ino, 0n, 100, { pooled: true })).release, undefined);
  });
});
