import { deepEqual, equal, ok } from 'node:assert/strict';
import { test } from 'node:test';
import { HealthMonitor } from '../../src/ops/health.ts';
import { LoopStalls } from '../../src/util/loop-stalls.ts';

/**
 * A probe round already running when something changes (a drain ends, a fault is repaired)
 * describes the world before the change: an answer that says "probed again" must not share it.
 */
test('a fresh probe round waits out the one in flight and probes again; a plain call shares it', async () => {
  let listening = false;
  let release: (() => void) | undefined;
  const monitor = new HealthMonitor(3_600_000);
  monitor.add({
    name: 'nfs',
    async run() {
      const seen = listening;
      // The first round is slow: it is still running when the listener comes back.
      if (!release) await new Promise<void>((r) => (release = r));
      return seen ? undefined : { status: 'degraded', message: 'not accepting connections (drain)' };
    },
  });
  const stale = monitor.probeAll();
  await new Promise((r) => setImmediate(r));
  listening = true;
  const shared = monitor.probeAll();
  const fresh = monitor.probeAll({ fresh: true });
  release!();
  await shared;
  equal(monitor.report().checks[0]?.status, 'degraded', 'a plain call shares the round in flight');
  await fresh;
  equal(monitor.report().checks[0]?.status, 'healthy', 'a fresh round starts after the change');
  await stale;
  monitor.stop();
});

test('a probe in flight while the process stands still is judged by the time the loop ran: not timed out, not slow', async () => {
  // A stall: a gap of 100 ms or more in a 10-ms timer's turns (the gateway's: 1 s and 250 ms).
  const stalls = new LoopStalls(10, 100);
  const monitor = new HealthMonitor(3_600_000, stalls);
  const standStill = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  // The backend answers in 300 ms, later than the probe's timeout of 200 ms (slow after 250):
  // with the loop turning it would time out, but the process stands still 1 s right after the
  // probe starts, so when it moves again both timers are due, the timeout's first.
  monitor.add({
    name: 'transport',
    timeoutMs: 200,
    slowMs: 250,
    run: () => new Promise((r) => setTimeout(() => r(undefined), 300)),
  });
  try {
    const round = monitor.probeAll();
    standStill(1000);
    await round;
    const check = monitor.report().checks[0]!;
    equal(check.status, 'healthy', check.message);
    ok(check.duration_ms >= 1000, 'the duration reported is the wall clock’s');

    // The loop turning, the same probe times out.
    await monitor.probeAll();
    deepEqual(
      monitor.report().checks.map((c) => [c.status, c.message]),
      [['unhealthy', 'probe timed out after 200 ms']],
    );
  } finally {
    monitor.stop();
    stalls.stop();
  }
});
