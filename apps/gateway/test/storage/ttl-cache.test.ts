import { deepEqual, equal } from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TtlCache } from '../../src/storage/ttl-cache.ts';
import { inoKey } from '../../src/util/ino-key.ts';

const EXACT = BigInt(Number.MAX_SAFE_INTEGER);

describe('TtlCache keyed by inode number (inoKey)', () => {
  test('1 inode numbers past 2^53 stay apart: neighbours a number cannot tell apart are two entries', () => {
    const c = new TtlCache<bigint, string>('t', 60_000, 100, inoKey);
    const a = EXACT + 2n; // 2^53 + 1: Number() of it and of 2^53 are the same number
    const b = EXACT + 1n; // 2^53
    c.set(a, 'a');
    c.set(b, 'b');
    c.set(EXACT, 'max');
    equal(c.size, 3);
    equal(c.get(a), 'a');
    equal(c.get(b), 'b');
    equal(c.get(EXACT), 'max');
    equal(c.delete(a), true);
    equal(c.get(a), undefined);
    equal(c.get(b), 'b');
  });

  test('2 a key is found, replaced and deleted by the same bigint, and expires', () => {
    const c = new TtlCache<bigint, string>('t', 1000, 100, inoKey);
    c.set(1_000_003n, 'one', 0);
    equal(c.get(1_000_003n, 999), 'one');
    c.set(1_000_003n, 'two', 0);
    equal(c.size, 1);
    equal(c.get(1_000_003n, 999), 'two');
    equal(c.get(1_000_003n, 1000), undefined, 'expired at its ttl');
    equal(c.size, 0, 'an expired entry found is dropped');
    c.set(7n, 'x');
    equal(c.delete(7n), true);
    equal(c.delete(7n), false);
  });

  test('3 invalidate hands the predicate the keys as given (bigints), and drops what it matches', () => {
    const c = new TtlCache<bigint, string>('t', 60_000, 100, inoKey);
    for (const k of [1n, 2n, 3n, EXACT + 4n]) c.set(k, `v${k}`);
    const seen: bigint[] = [];
    const dropped = c.invalidate((k) => {
      seen.push(k);
      return k % 2n === 1n;
    });
    deepEqual(seen, [1n, 2n, 3n, EXACT + 4n]);
    equal(dropped, 3);
    equal(c.get(2n), 'v2');
    equal(c.size, 1);
  });

  test('4 the oldest entry goes first past maxEntries; without keyOf keys are used as they are', () => {
    const c = new TtlCache<string, number>('t', 60_000, 2);
    c.set('a', 1);
    c.set('b', 2);
    c.set('c', 3);
    deepEqual(
      ['a', 'b', 'c'].map((k) => c.get(k, undefined, false)),
      [undefined, 2, 3],
    );
    equal(c.misses, 0, 'a quick look does not count a miss');
    equal(c.get('a'), undefined);
    equal(c.misses, 1);
    equal(c.hits, 2);
  });
});

describe('inoKey', () => {
  test('5 a number up to 2^53 − 1 (either sign), the bigint itself beyond', () => {
    equal(inoKey(1n), 1);
    equal(inoKey(EXACT), Number.MAX_SAFE_INTEGER);
    equal(inoKey(-EXACT), -Number.MAX_SAFE_INTEGER);
    equal(inoKey(EXACT + 1n), EXACT + 1n);
    equal(inoKey(-EXACT - 1n), -EXACT - 1n);
  });
});
