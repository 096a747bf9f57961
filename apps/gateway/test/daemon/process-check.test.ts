import { equal, match } from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { processCheck } from '../../src/ops/health.ts';

/** Holds the event loop, as a long synchronous task would. */
function holdLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy
  }
}

test('1 the gateway check ignores start-up, reports a loop held over 500 ms as degraded, and recovers', async () => {
  const check = processCheck(() => undefined);
  // Start-up work before the first probe round (opening stores, starting listeners).
  await sleep(50);
  holdLoop(700);
  await sleep(50);
  const first = await check.run();
  equal(first?.status, 'healthy', `start-up lag is not serving lag: ${JSON.stringify(first)}`);

  await sleep(50);
  holdLoop(800);
  await sleep(50);
  const held = await check.run();
  equal(held?.status, 'degraded');
  match(held?.message ?? '', /^event-loop lag p99 \d+ ms$/);

  // The next window starts clean.
  await sleep(200);
  equal((await check.run())?.status, 'healthy');
});

test('2 an unhealthy state reported by the gateway wins over its lag', async () => {
  const check = processCheck(() => ({ status: 'unhealthy', message: 'stores closed' }));
  equal((await check.run())?.status, 'unhealthy');
});
