import { deepEqual, equal, ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GatewayMetrics } from '../../src/ops/metrics/index.ts';
import { LatencyWindow } from '../../src/ops/metrics/latency-window.ts';
import { ROOT } from '../../src/storage/types.ts';
import { type InProcessGateway, startInProcess } from './fixture.ts';

const T0 = Date.UTC(2025, 0, 1);
const close = (a: number | null | undefined, b: number, rel = 0.03) =>
  ok(a !== null && a !== undefined && Math.abs(a - b) <= b * rel, `${a} is not within ${rel * 100}% of ${b}`);

describe('metrics history, driven with a fake clock', () => {
  let g: InProcessGateway;
  before(async () => {
    g = await startInProcess('limits: { max_connections: 50 }');
  });
  after(() => g.gw.stop());

  test('1 N samples give N points with the rates of each interval', async () => {
    const m = new GatewayMetrics(g.gw, { startMs: T0 });
    m.attach();
    try {
      const nfs = g.gw.connections.accept('nfs', '127.0.0.1', 1000, 2049)!;
      const s3 = g.gw.connections.accept('s3', '127.0.0.1', 1001, 9000)!;
      const exp = await g.gw.ns.resolvePath(ROOT, '/export');
      // Interval k (5 s each): 10·k nfs requests of which k fail; k s3 requests.
      const N = 6;
      for (let k = 1; k <= N; k++) {
        for (let i = 0; i < 10 * k; i++) nfs.begin('GETATTR')(i < k ? 'NFS3ERR_IO' : undefined);
        for (let i = 0; i < k; i++) s3.begin('PutObject')();
        for (let i = 0; i < 4; i++) await g.gw.ns.getattr(exp.ino);
        m.sample(T0 + k * 5000);
      }
      const h = m.history(N * 5);
      equal(h.intervalSeconds, 5);
      equal(h.points.length, N);
      h.points.forEach((p, i) => {
        const k = i + 1;
        equal(p.t, T0 + k * 5000);
        equal(p.seconds, 5);
        close(p.protocols.nfs.requestsPerSec, (10 * k) / 5);
        close(p.protocols.nfs.errorsPerSec, k / 5);
        close(p.protocols.nfs.errorRatio, 0.1);
        close(p.protocols.s3.requestsPerSec, k / 5);
        equal(p.protocols.s3.errorsPerSec, 0);
        equal(p.protocols.s3.errorRatio, 0);
        equal(p.protocols.smb.requestsPerSec, 0);
        equal(p.protocols.smb.errorRatio, null);
        equal(p.protocols.smb.p99Ms, null);
        ok(p.protocols.nfs.p99Ms !== null && p.protocols.nfs.p99Ms < 1000);
        equal(p.protocols.nfs.activeConnections, 1);
        deepEqual(p.connections, { active: 2, max: 50 });
        // Four cached getattrs per interval: all hits (the first one may miss).
        ok(p.cacheHitRatio.attributes !== null && p.cacheHitRatio.attributes >= 0.75);
        deepEqual(p.backendErrors, { metadata: 0, transport: 0 });
        deepEqual(p.circuits, { metadata: 'closed', transport: 'closed' });
        equal(p.draining, false);
      });
      equal(m.history(10).points.length, 2);
      equal(m.history(3600).points.length, N);
      deepEqual(
        m.history(15).points.map((p) => p.t),
        [T0 + 20_000, T0 + 25_000, T0 + 30_000],
      );
      // An idle interval: zero rates, no p99, no cache ratio.
      const idle = m.sample(T0 + (N + 1) * 5000);
      equal(idle.protocols.nfs.requestsPerSec, 0);
      equal(idle.protocols.nfs.p99Ms, null);
      equal(idle.cacheHitRatio.attributes, null);
      // Rates use the real length of an interval (a late timer tick).
      for (let i = 0; i < 30; i++) nfs.begin('GETATTR')();
      close(m.sample(T0 + (N + 1) * 5000 + 7500).protocols.nfs.requestsPerSec, 4);
      nfs.close();
      s3.close();
    } finally {
      m.stop();
    }
    ok(!g.gw.connections.observers.includes(m.stats), 'stop() detaches the observer');
  });

  test('2 the ring holds an hour at 5 s resolution and drops the oldest first', () => {
    const m = new GatewayMetrics(g.gw, { startMs: T0 });
    for (let k = 1; k <= 725; k++) m.sample(T0 + k * 5000);
    const all = m.history(24 * 3600).points;
    equal(all.length, 720);
    equal(all[0]!.t, T0 + 6 * 5000);
    equal(all.at(-1)!.t, T0 + 725 * 5000);
    equal(m.history(3600).points.length, 720);
    const small = new GatewayMetrics(g.gw, { startMs: T0, historySeconds: 20 });
    for (let k = 1; k <= 6; k++) small.sample(T0 + k * 5000);
    deepEqual(
      small.history(3600).points.map((p) => (p.t - T0) / 5000),
      [3, 4, 5, 6],
    );
  });

  test('3 the p99 window slides: a slow request leaves it after 60 s of samples', async () => {
    const m = new GatewayMetrics(g.gw, { startMs: T0 });
    m.attach();
    try {
      const c = g.gw.connections.accept('smb', '127.0.0.1', 1002, 445)!;
      const end = c.begin('READ');
      await new Promise((r) => setTimeout(r, 30));
      end();
      c.close();
      const p99 = () => m.snapshot().protocols.smb.p99Ms;
      ok((p99() ?? 0) >= 25, `p99 ${p99()}`);
      for (let k = 1; k <= 11; k++) {
        m.sample(T0 + k * 5000);
        ok((p99() ?? 0) >= 25, `still in the window after ${k} samples`);
      }
      m.sample(T0 + 12 * 5000);
      equal(p99(), null);
      equal(m.snapshot().protocols.smb.requestsTotal, 1);
    } finally {
      m.stop();
    }
  });
});

describe('latency window quantiles', () => {
  test('1 p99 of 1..1000 ms is 990 ms within the bucket precision (±3.2 %)', () => {
    const w = new LatencyWindow(12);
    for (let ms = 1000; ms >= 1; ms--) w.record(ms / 1000);
    close(w.quantileUs(0.99), 990_000, 0.032);
    close(w.quantileUs(0.5), 500_000, 0.032);
    equal(w.count(), 1000);
  });

  test('2 a window forgets a slot per rotation; an empty one has no quantile', () => {
    const w = new LatencyWindow(2);
    equal(w.quantileUs(0.99), undefined);
    for (let i = 0; i < 50; i++) w.record(0.25);
    close(w.quantileUs(0.99), 250_000);
    w.rotate();
    equal(w.currentQuantileUs(0.99), undefined);
    close(w.quantileUs(0.99), 250_000);
    w.rotate();
    equal(w.quantileUs(0.99), undefined);
  });

  test('3 one slow request in a hundred is above p99, two are at it', () => {
    const w = new LatencyWindow(12);
    for (let i = 0; i < 99; i++) w.record(0.001);
    w.record(0.5);
    close(w.quantileUs(0.99), 1000);
    w.record(0.5);
    close(w.quantileUs(0.99), 500_000);
  });
});
