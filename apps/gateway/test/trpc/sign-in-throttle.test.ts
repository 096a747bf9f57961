import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SignInThrottle } from '../../src/ops/trpc/sign-in-throttle.ts';

const wrong = () => Promise.resolve(false);
const right = () => Promise.resolve(true);

test('a user’s wrong passwords from one address: 5 free, then 1 s, 2 s, 4 s … up to 30 s after the last; a success clears them', async () => {
  let now = 1_000_000;
  const t = new SignInThrottle({ now: () => now, spacingMs: 0 });
  for (let i = 0; i < 5; i++) assert.equal(await t.verify('10.0.0.7', 'admin', wrong), false);
  // The sixth is refused unchecked, a right password included.
  let checked = false;
  const spy = () => {
    checked = true;
    return Promise.resolve(true);
  };
  assert.deepEqual(await t.verify('10.0.0.7', 'admin', spy), { reason: 'failures', retryAfterMs: 1000 });
  assert.equal(checked, false);
  // Others are not slowed down: the same user from elsewhere, another user from there.
  assert.equal(await t.verify('10.0.0.8', 'admin', right), true);
  assert.equal(await t.verify('10.0.0.7', 'bob', right), true);

  const delays: number[] = [];
  for (let i = 0; i < 8; i++) {
    const refused = await t.verify('10.0.0.7', 'admin', wrong);
    assert.equal(typeof refused, 'object');
    const wait = (refused as { retryAfterMs: number }).retryAfterMs;
    delays.push(wait);
    now += wait;
    assert.equal(await t.verify('10.0.0.7', 'admin', wrong), false);
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  assert.equal(t.failuresOf('10.0.0.7', 'admin'), 13);
  now += 30_000;
  assert.equal(await t.verify('10.0.0.7', 'admin', right), true);
  assert.equal(t.failuresOf('10.0.0.7', 'admin'), 0);
  assert.equal(t.refused.failures, 9);
});

test('failures are forgotten after 15 min without one, and at most maxPairs pairs are kept', async () => {
  let now = 0;
  const t = new SignInThrottle({ now: () => now, maxPairs: 3, spacingMs: 0 });
  for (let i = 0; i < 5; i++) await t.verify('a', 'u', wrong);
  now += 15 * 60_000;
  assert.equal(await t.verify('a', 'u', right), true, 'a stale streak no longer refuses');
  for (const addr of ['w', 'x', 'y', 'z']) await t.verify(addr, 'u', wrong);
  assert.deepEqual(
    ['w', 'x', 'y', 'z'].map((a) => t.failuresOf(a, 'u')),
    [0, 1, 1, 1],
    'the oldest pair went first',
  );
});

test('one password check at a time, 8 waiting; more are refused at once, unchecked', async () => {
  const t = new SignInThrottle({ spacingMs: 0 });
  let running = 0;
  let checks = 0;
  const releases: Array<() => void> = [];
  const slow = () => {
    running++;
    checks++;
    assert.equal(running, 1, 'never two checks at once');
    return new Promise<boolean>((resolve) =>
      releases.push(() => {
        running--;
        resolve(false);
      }),
    );
  };
  const attempts = Array.from({ length: 12 }, (_, i) => t.verify(`10.0.1.${i}`, 'admin', slow));
  await new Promise((r) => setImmediate(r));
  assert.equal(checks, 1);
  assert.equal(t.refused.busy, 3);
  while (checks < 9 || releases.length > 0) {
    releases.shift()?.();
    await new Promise((r) => setImmediate(r));
  }
  const results = await Promise.all(attempts);
  assert.equal(results.filter((r) => r === false).length, 9);
  assert.deepEqual(
    results.filter((r) => typeof r === 'object'),
    Array(3).fill({ reason: 'busy', retryAfterMs: 1000 }),
  );
  assert.equal(t.peakConcurrent, 1);
  // A failing check frees its slot too.
  const boom = () => Promise.reject(new Error('control plane down'));
  await assert.rejects(t.verify('10.0.2.1', 'admin', boom), /control plane down/);
  assert.equal(await t.verify('10.0.2.2', 'admin', right), true);
});

test('checks start at least 200 ms apart', async () => {
  const t = new SignInThrottle();
  const starts: number[] = [];
  const check = () => {
    starts.push(performance.now());
    return Promise.resolve(false);
  };
  await Promise.all([0, 1, 2].map((i) => t.verify(`10.0.3.${i}`, 'u', check)));
  assert.equal(starts.length, 3);
  for (let i = 1; i < starts.length; i++) assert.ok(starts[i]! - starts[i - 1]! >= 195, starts.join(' '));
});

test('attempts of one pair sent together count one by one: the sixth of nine is refused unchecked', async () => {
  const t = new SignInThrottle({ spacingMs: 0 });
  let checks = 0;
  const slowWrong = async () => {
    checks++;
    await new Promise((r) => setTimeout(r, 5));
    return false;
  };
  const results = await Promise.all(
    Array.from({ length: 9 }, () => t.verify('10.0.4.1', 'admin', slowWrong)),
  );
  assert.equal(checks, 5);
  assert.deepEqual(results.slice(0, 5), Array(5).fill(false));
  for (const r of results.slice(5)) assert.equal((r as { reason: string }).reason, 'failures');
  assert.equal(t.failuresOf('10.0.4.1', 'admin'), 5);
});
