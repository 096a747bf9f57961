import { deepEqual, equal, ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DrainStatus } from '../../src/ops/drain/controller.ts';
import { drainControllerOf } from '../../src/ops/drain/feature.ts';
import type { HealthReport } from '../../src/ops/health.ts';
import {
  call,
  FakeServer,
  type InProcessGateway,
  sleep,
  startInProcess,
  until,
  writeGatewayConfig,
} from './fixture.ts';

const statusOf = async (h: InProcessGateway) => (await call<DrainStatus>(h.base, 'GET', '/admin/drain')).body;
const healthOf = async (h: InProcessGateway) => call<HealthReport>(h.base, 'GET', '/health');
const checkOf = (r: HealthReport, name: string) => r.checks.find((c) => c.name === name);

describe('drain: listeners stop accepting, open connections finish their work', () => {
  let h: InProcessGateway;
  let nfs: FakeServer;
  let smb: FakeServer;

  before(async () => {
    const cfg = await writeGatewayConfig('drain');
    h = await startInProcess(cfg.file, { protocols: ['nfs', 's3', 'smb'] });
    nfs = new FakeServer('nfs', h.gw);
    smb = new FakeServer('smb', h.gw);
    h.gw.servers.push(nfs, smb);
    h.gw.health.add(nfs.healthCheck());
    h.gw.health.add(smb.healthCheck());
    await h.gw.health.probeAll();
  });
  after(() => h.stop());

  test('1 serving: every protocol listed, nothing draining, health healthy', async () => {
    const s = await statusOf(h);
    equal(s.state, 'serving');
    equal(s.draining, false);
    equal(s.drained, false);
    equal(s.since, null);
    deepEqual(Object.keys(s.protocols).sort(), ['nfs', 's3', 'smb']);
    equal(h.gw.draining, false);
    const health = await healthOf(h);
    equal(health.status, 200);
    equal(health.body.overall, 'healthy');
  });

  test('2 drained only once in flight reaches 0 and 1 s has passed; idle connections stay open', async () => {
    const busy = nfs.connect(40001);
    const idle = smb.connect(40002);
    ok(busy && idle);
    const end = busy.begin('WRITE');

    const drain = await call<DrainStatus>(h.base, 'POST', '/admin/drain');
    equal(drain.status, 200);
    equal(drain.body.state, 'draining');
    ok(drain.body.since);
    // The gateway's own health probes (every 200 ms here) are real NFS, MOUNT and SMB
    // connections too, each open for a few ms: one may be counted beside this test's.
    const { nfs: n, smb: m } = drain.body.protocols;
    ok(n && n.connections >= 1 && n.connections <= 2 && n.inFlight >= 1, JSON.stringify(n));
    ok(m && m.connections >= 1 && m.connections <= 2, JSON.stringify(m));
    equal(h.gw.draining, true);
    deepEqual(nfs.calls, [false]);
    deepEqual(smb.calls, [false]);

    await sleep(1300);
    const stillBusy = await statusOf(h);
    equal(stillBusy.drained, false, 'a request in flight keeps it draining however long it takes');
    equal(stillBusy.inFlight, 1);

    const endedAt = performance.now();
    end();
    const justEnded = await statusOf(h);
    equal(justEnded.inFlight, 0);
    equal(justEnded.drained, false, 'drained needs a full quiet second after the last request');
    await until(async () => (await statusOf(h)).drained, 5000, 'drained');
    const quiet = performance.now() - endedAt;
    // The controller counts whole milliseconds (Date-like stamps): up to 1 ms less than a second.
    ok(quiet >= 999, `drained after ${quiet} ms of quiet`);
    const drained = await statusOf(h);
    equal(drained.state, 'drained');
    ok(drained.connections >= 2, 'idle connections are not waited for: drained means no work');
    busy.close();
    idle.close();
  });

  test('3 while draining, new connections are refused through setAccepting(false)', () => {
    equal(nfs.connect(40003), undefined);
    equal(smb.connect(40004), undefined);
  });

  test('4 while draining, the gateway and protocol checks read unhealthy "draining"; /health is 503', async () => {
    const health = await healthOf(h);
    equal(health.status, 503);
    equal(health.body.overall, 'unhealthy');
    equal(health.body.draining, true, 'the report says the drain is planned');
    for (const name of ['gateway', 'nfs', 'smb']) {
      deepEqual(
        { status: checkOf(health.body, name)?.status, message: checkOf(health.body, name)?.message },
        { status: 'unhealthy', message: 'draining' },
        name,
      );
    }
    equal(checkOf(health.body, 'metadata')?.status, 'healthy', 'backend checks keep telling the truth');
    equal(checkOf(health.body, 'transport')?.status, 'healthy');
  });

  test('5 work on an open connection during a drain restarts the quiet period', async () => {
    const conn = h.gw.connections.accept('nfs', '192.0.2.11', 40005, 2049);
    ok(conn);
    const end = conn.begin('READ');
    equal((await statusOf(h)).drained, false);
    end();
    equal((await statusOf(h)).drained, false);
    await until(async () => (await statusOf(h)).drained, 5000, 'drained again');
    conn.close();
  });

  test('6 a second drain keeps the first start time', async () => {
    const before = await statusOf(h);
    const again = await call<DrainStatus>(h.base, 'POST', '/admin/drain');
    equal(again.body.since, before.since);
  });

  test('7 undrain: listeners accept again, health has recovered by the answer, gw.draining is false', async () => {
    const r = await call<DrainStatus>(h.base, 'POST', '/admin/undrain');
    equal(r.status, 200);
    equal(r.body.state, 'serving');
    equal(h.gw.draining, false);
    equal(nfs.calls.at(-1), true);
    equal(smb.calls.at(-1), true);
    const c = nfs.connect(40006);
    ok(c, 'a new connection is accepted again');
    c.close();
    // Read at once: the answer waits for the listeners and fresh probes, so /health, the
    // registry and the console never show the drain's last probes ("not accepting") as a
    // degraded gateway after it.
    const health = await healthOf(h);
    equal(health.status, 200);
    equal(health.body.draining, false);
    deepEqual(
      health.body.checks.filter((c) => c.status !== 'healthy'),
      [],
      'every check healthy right after the undrain answer',
    );
    equal(checkOf(health.body, 'gateway')?.message, '');
  });

  test('8 every change is audited under its action name; reading the status is not a change', () => {
    const actions = new Set(h.audits.map((a) => a.action));
    for (const a of ['gateway.drain', 'gateway.undrain']) ok(actions.has(a), a);
    ok(!actions.has('gateway.drain.status'), 'a successful read is not audited');
    ok(h.audits.every((a) => a.outcome === 'ok'));
  });
});

describe('drain: roles', () => {
  let h: InProcessGateway;
  before(async () => {
    h = await startInProcess((await writeGatewayConfig('drain-roles')).file);
  });
  after(() => h.stop());

  const rows: [number, 'viewer' | 'operator', string, string, number][] = [
    [1, 'viewer', 'GET', '/admin/drain', 200],
    [2, 'viewer', 'POST', '/admin/drain', 403],
    [3, 'viewer', 'POST', '/admin/undrain', 403],
    [4, 'operator', 'POST', '/admin/drain', 200],
    [5, 'operator', 'POST', '/admin/undrain', 200],
  ];
  for (const [row, role, method, path, status] of rows) {
    test(`${row} ${role} ${method} ${path} → ${status}`, async () => {
      h.role = role;
      equal((await call(h.base, method, path)).status, status);
    });
  }
});

describe('drain: after a drain, stop does not wait for idle connections', () => {
  test('1 gw.stop() returns at once with idle connections open', async () => {
    const h = await startInProcess((await writeGatewayConfig('drain-stop')).file, { protocols: ['nfs'] });
    const nfs = new FakeServer('nfs', h.gw);
    h.gw.servers.push(nfs);
    const idle = [nfs.connect(1), nfs.connect(2), nfs.connect(3)];
    ok(idle.every(Boolean));
    await call(h.base, 'POST', '/admin/drain');
    await until(async () => (await statusOf(h)).drained, 5000, 'drained');
    const started = performance.now();
    await h.stop();
    ok(performance.now() - started < 1000, `stopped in ${performance.now() - started} ms`);
    ok(nfs.stopped);
    equal(drainControllerOf(h.gw), undefined, 'the controller is released at stop');
  });
});
