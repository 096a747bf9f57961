import { deepEqual, equal, throws } from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  LOOP_WRITE_BACKOFF_MS,
  LOOP_WRITE_MAX,
  LOOP_WRITE_SLOW_MS,
  LoopWrites,
} from '../../src/storage/data/loop-writes.ts';

describe('buffered writes from the event loop', () => {
  test('1 only writes of at most 1 MiB that need no old bytes read: whole pages, or from the page holding the end onwards', () => {
    const w = new LoopWrites(true, () => 0);
    const size = 10 * 4096 + 100;
    equal(w.suits(0, 4096, size), true, 'one whole page');
    equal(w.suits(8192, LOOP_WRITE_MAX, size), true, '1 MiB of whole pages');
    equal(w.suits(0, LOOP_WRITE_MAX + 4096, size), false, 'over 1 MiB');
    equal(w.suits(100, 4096, size), false, 'part of a cached-or-not page in the middle');
    equal(w.suits(10 * 4096, 7, size), true, 'into the page holding the end');
    equal(w.suits(size, 1000, size), true, 'an append');
    equal(w.suits(size + 50_000, 3, size), true, 'past the end, leaving a hole');
    equal(new LoopWrites(false, () => 0).suits(0, 4096, 0), false, 'turned off');
    deepEqual(w.counts, { loop: 0, slow: 0, pool: 2 });
  });

  test('2 a write that took too long on the loop sends every write to the pool for a while', () => {
    let now = 1000;
    const w = new LoopWrites(true, () => now);
    equal(
      w.run(() => {
        now += LOOP_WRITE_SLOW_MS / 2;
        return 'fast';
      }),
      'fast',
    );
    equal(w.suits(0, 4096, 0), true, 'a fast write changes nothing');
    w.run(() => {
      now += LOOP_WRITE_SLOW_MS + 1;
    });
    equal(w.suits(0, 4096, 0), false, 'just after a slow one');
    now += LOOP_WRITE_BACKOFF_MS - 1;
    equal(w.suits(0, 4096, 0), false, 'still within the back-off');
    now += 2;
    equal(w.suits(0, 4096, 0), true, 'after it');
    deepEqual(w.counts, { loop: 2, slow: 1, pool: 2 });
  });

  test('3 a write that fails on the loop throws its error and is still counted', () => {
    const w = new LoopWrites(true, () => 0);
    throws(
      () =>
        w.run(() => {
          throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
        }),
      /no space left/,
    );
    equal(w.counts.loop, 1);
  });
});
