import { equal } from 'node:assert/strict';
import { test } from 'node:test';
import { HealthMonitor } from '../../src/ops/health.ts';

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
