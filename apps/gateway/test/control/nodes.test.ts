import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ControlError,
  type GatewayNodeRecord,
  type NodeHealth,
  NodeHeartbeat,
  type NodeReload,
  type NodeStatus,
  openControlPlane,
  viewNode,
} from '../../src/control/index.ts';
import { requirePostgres, startPostgres } from '../support/postgres.ts';
import { CONTROL_STORES, tempDir, useFreshControlPlane } from './helpers.ts';

const NOW = new Date('2026-11-28T12:00:00.000Z');
const node = (status: NodeStatus, silentMs: number, draining = false): GatewayNodeRecord => ({
  name: 'gw-1',
  address: 'gw-1:8080',
  version: '0.0.0',
  startedAt: new Date(NOW.getTime() - 3_600_000),
  lastHeartbeatAt: new Date(NOW.getTime() - silentMs),
  heartbeatIntervalMs: 5000,
  draining,
  status,
});

/** Numbered rows: what the node reported, how long it has been silent, how everyone sees it. */
const VIEWS: Array<[row: number, record: GatewayNodeRecord, health: NodeHealth, up: boolean]> = [
  [1, node('healthy', 4_000), 'healthy', true],
  [2, node('degraded', 15_000, true), 'degraded', true],
  [3, node('healthy', 15_001), 'down', false],
  [4, node('unhealthy', 60_000), 'down', false],
  [5, node('stopped', 1_000), 'stopped', false],
  [6, node('starting', -2_000), 'starting', true],
];

describe('a node as the cluster sees it: down after 3 of its intervals without a heartbeat', () => {
  for (const [row, record, health, up] of VIEWS) {
    test(`row ${row}: ${record.status}, silent ${NOW.getTime() - record.lastHeartbeatAt.getTime()} ms → ${health}`, () => {
      const v = viewNode(record, NOW);
      assert.deepEqual([v.health, v.up, v.draining], [health, up, record.draining]);
      assert.ok(v.silentMs >= 0, 'a heartbeat from a clock ahead of ours is not negative silence');
    });
  }
});

/** A heartbeat with a long interval (beats happen when the test calls beatOnce) and captured log lines. */
function heartbeatFor(nodes: ConstructorParameters<typeof NodeHeartbeat>[0]['nodes'], name = 'gw-hb') {
  const state = { status: 'healthy' as Exclude<NodeStatus, 'stopped'>, draining: false };
  const lines: string[] = [];
  const heartbeat = new NodeHeartbeat({
    nodes,
    identity: { name, address: '127.0.0.1:8080', version: '1.2.3', heartbeatIntervalMs: 3_600_000 },
    state: () => state,
    log: { info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`) },
  });
  return { heartbeat, state, lines };
}

for (const store of CONTROL_STORES) {
  describe(`node registry on ${store.name}`, store.options, () => {
    const cp = useFreshControlPlane(store);

    test('register, heartbeat, drain, list; a restart registers again', async () => {
      const n = await cp.nodes.register({
        name: 'gw-1',
        address: '10.0.0.1:8080',
        version: '0.1.0',
        heartbeatIntervalMs: 2000,
      });
      assert.deepEqual([n.status, n.draining, n.heartbeatIntervalMs], ['starting', false, 2000]);
      await sleep(5);
      await cp.nodes.heartbeat('gw-1', { draining: true, status: 'degraded' });
      const [listed] = await cp.nodes.list();
      assert.ok(listed && listed.lastHeartbeatAt > n.lastHeartbeatAt);
      assert.deepEqual([listed?.draining, listed?.status], [true, 'degraded']);
      const again = await cp.nodes.register({
        name: 'gw-1',
        address: '10.0.0.1:8080',
        version: '0.2.0',
        heartbeatIntervalMs: 2000,
      });
      assert.deepEqual([again.version, again.draining], ['0.2.0', false]);
      assert.equal((await cp.nodes.list()).length, 1);
      const [view] = await cp.nodes.view(new Date(again.lastHeartbeatAt.getTime() + 6001));
      assert.equal(view?.health, 'down');
      await assert.rejects(
        cp.nodes.heartbeat('gw-9'),
        (e) => e instanceof ControlError && e.code === 'NOT_FOUND',
      );
      await assert.rejects(
        // biome-ignore lint/suspicious/noExplicitAny: an invalid status from untyped input
        cp.nodes.heartbeat('gw-1', { status: 'sleepy' as any }),
        (e) => e instanceof ControlError && e.code === 'INVALID',
      );
      await cp.nodes.remove('gw-1');
      assert.deepEqual(await cp.nodes.list(), []);
    });

    test('a heartbeat registers at start, reports state, says stopped at stop, and re-registers after removal', async () => {
      const { heartbeat, state, lines } = heartbeatFor(cp.nodes);
      await heartbeat.start();
      assert.deepEqual(
        (await cp.nodes.view()).map((n) => [n.name, n.health, n.draining, n.version]),
        [['gw-hb', 'healthy', false, '1.2.3']],
      );
      state.draining = true;
      state.status = 'degraded';
      await heartbeat.beatOnce();
      assert.deepEqual(
        (await cp.nodes.view()).map((n) => [n.health, n.draining]),
        [['degraded', true]],
      );
      await cp.nodes.remove('gw-hb');
      await heartbeat.beatOnce();
      await heartbeat.beatOnce();
      assert.deepEqual(
        (await cp.nodes.view()).map((n) => [n.name, n.health, n.draining]),
        [['gw-hb', 'degraded', true]],
        'registered again, drain state kept',
      );
      await heartbeat.stop();
      const [stopped] = await cp.nodes.view();
      assert.deepEqual([stopped?.health, stopped?.up], ['stopped', false]);
      assert.deepEqual(lines, []);
      await cp.nodes.remove('gw-hb');
    });

    test('a reload asked through the registry is carried out at the next beat, its report kept until a restart', async () => {
      const reloads: string[] = [];
      const beat = {
        status: 'healthy' as Exclude<NodeStatus, 'stopped'>,
        draining: false,
        lastReload: null as NodeReload | null,
      };
      const heartbeat = new NodeHeartbeat({
        nodes: cp.nodes,
        identity: {
          name: 'gw-rl',
          address: '127.0.0.1:8080',
          version: '1.2.3',
          heartbeatIntervalMs: 3_600_000,
        },
        state: () => beat,
        reload: async (r) => {
          reloads.push(r.requestedBy);
          beat.lastReload = {
            at: new Date().toISOString(),
            applied: [{ setting: 'log_level', from: 'info', to: 'debug' }],
            pendingRestart: [{ setting: 'nfs.bind', from: '0.0.0.0:2049', to: '0.0.0.0:2050' }],
          };
        },
        log: { info: () => {}, warn: (m) => reloads.push(`warn ${m}`) },
      });
      await heartbeat.start();
      const asked = await cp.nodes.requestReload('gw-rl', 'console:alice');
      assert.equal(asked.reloadRequest?.requestedBy, 'console:alice');
      await heartbeat.beatOnce();
      assert.deepEqual(reloads, ['console:alice'], 'carried out once');
      const [after] = await cp.nodes.view();
      assert.equal(after?.reloadRequest, null, 'settled');
      assert.deepEqual(
        [
          after?.lastReload?.applied.map((c) => c.setting),
          after?.lastReload?.pendingRestart.map((c) => c.setting),
        ],
        [['log_level'], ['nfs.bind']],
      );
      await heartbeat.beatOnce();
      assert.deepEqual(reloads, ['console:alice'], 'not again at the next beat');
      // A stopped node cannot act on one; a restart reads the file, so the report is over.
      await heartbeat.stop();
      await assert.rejects(
        cp.nodes.requestReload('gw-rl', 'console:alice'),
        (e) =>
          e instanceof ControlError &&
          e.code === 'INVALID' &&
          /reads its configuration file when it starts/.test(e.message),
      );
      await assert.rejects(
        cp.nodes.requestReload('gw-nope', 'console:alice'),
        (e) => e instanceof ControlError && e.code === 'NOT_FOUND',
      );
      await cp.nodes.register({
        name: 'gw-rl',
        address: '127.0.0.1:8080',
        version: '1.2.3',
        heartbeatIntervalMs: 1000,
      });
      assert.equal((await cp.nodes.view())[0]?.lastReload, null);
      await cp.nodes.remove('gw-rl');
    });

    test('a second live node with the same name is warned about; a new interval is recorded on reload', async () => {
      await cp.nodes.register({
        name: 'gw-twin',
        address: '10.0.0.9:8080',
        version: '1.0.0',
        heartbeatIntervalMs: 60_000,
      });
      const { heartbeat, lines } = heartbeatFor(cp.nodes, 'gw-twin');
      await heartbeat.start();
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(
        lines[0] ?? '',
        /^warn node registry: node name gw-twin is in use by a live node at 10\.0\.0\.9:8080 .*give each node its own node\.name$/,
      );
      heartbeat.reconfigure(1500);
      await heartbeat.beatOnce();
      assert.equal((await cp.nodes.list()).find((n) => n.name === 'gw-twin')?.heartbeatIntervalMs, 1500);
      await heartbeat.stop();
      await cp.nodes.remove('gw-twin');
    });
  });
}

test(
  'a heartbeat survives a PostgreSQL outage: one warning, then it recovers by itself',
  requirePostgres(),
  async () => {
    using tmp = tempDir();
    const server = await startPostgres();
    try {
      const cp = await openControlPlane({ stateDir: tmp.dir, url: await server.createDatabase() });
      const { heartbeat, lines } = heartbeatFor(cp.nodes, 'gw-outage');
      await heartbeat.start();
      await server.stop();
      await heartbeat.beatOnce();
      await heartbeat.beatOnce();
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(
        lines[0] ?? '',
        /^warn node registry: heartbeat failed: control plane database .* is unavailable/,
      );
      assert.match(lines[0] ?? '', /show gw-outage as down after 10800000 ms/);
      await server.start();
      await heartbeat.beatOnce();
      assert.match(lines[1] ?? '', /^info node registry: heartbeats reach the control plane again/);
      assert.equal((await cp.nodes.view())[0]?.health, 'healthy');
      await heartbeat.stop();
      await cp.close();
    } finally {
      await server.destroy();
    }
  },
);
