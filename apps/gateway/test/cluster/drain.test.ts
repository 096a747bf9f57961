import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { NodeView } from '@claudefs/api';
import { requirePostgres } from '../support/postgres.ts';
import {
  byName,
  type ClusterNode,
  DEADLINE_MS,
  eventually,
  OPERATOR,
  startCluster,
  type TestCluster,
  tcpConnect,
} from './fixture.ts';

/**
 * Drain any node from the console: three gateways on one PostgreSQL control plane, at the
 * product's default heartbeat (5 s). The request goes through the control plane and the named
 * node drains itself at its next heartbeat, as `./cfs gateway drain` drains it.
 */
const HEARTBEAT_MS = 5000;
/** A beat, plus a loaded machine's slack for the write, the read and the listener closing. */
const WINDOW_MS = HEARTBEAT_MS + 2500;

interface Health {
  status: number;
  draining: boolean;
}

async function health(node: ClusterNode): Promise<Health> {
  const r = await fetch(`${node.base}/health`, { signal: AbortSignal.timeout(5000) });
  const body = (await r.json()) as { checks: Array<{ name: string; message?: string }> };
  return { status: r.status, draining: body.checks.some((c) => c.message === 'draining') };
}

describe('drain any node through the control plane', requirePostgres(), () => {
  let c: TestCluster;
  let a: ClusterNode;
  let b: ClusterNode;
  let cc: ClusterNode;

  before(async () => {
    c = await startCluster(['gw-a', 'gw-b', 'gw-c']);
    [a, b, cc] = c.nodes as [ClusterNode, ClusterNode, ClusterNode];
    await eventually(
      () => c.list(),
      (ns) => ns.length === 3 && ns.every((n) => n.health === 'healthy'),
      'three healthy nodes',
    );
  });
  after(() => c?.stop());

  test('1 each node reports its load and drain state in its heartbeat', async () => {
    const nodes = await c.list();
    assert.deepEqual(
      nodes.map((n) => [
        n.name,
        n.draining,
        n.drainRequest,
        n.heartbeatIntervalMs,
        typeof n.activeConnections,
      ]),
      [
        ['gw-a', false, null, HEARTBEAT_MS, 'number'],
        ['gw-b', false, null, HEARTBEAT_MS, 'number'],
        ['gw-c', false, null, HEARTBEAT_MS, 'number'],
      ],
    );
  });

  test('2 an operator drains gw-b from gw-a: only gw-b drains, within one heartbeat; its /health says draining and it refuses new connections', async (t) => {
    // An idle S3 client connected before the drain: a drain keeps serving it.
    const held = await tcpConnect(b.s3Port);
    assert.equal(held.state, 'open');
    const asked = performance.now();
    const r = await c.mutate<NodeView>(a, 'nodes.drain', { name: 'gw-b' }, 'operator');
    assert.equal(r.status, 200, r.error?.message);
    assert.deepEqual(
      [r.data.name, r.data.drainRequest?.action, r.data.drainRequest?.requestedBy],
      ['gw-b', 'drain', `console:${OPERATOR.user}`],
    );

    await eventually(
      () => health(b),
      (h) => h.draining && h.status === 503,
      'gw-b /health draining',
      WINDOW_MS,
    );
    const tookMs = performance.now() - asked;
    t.diagnostic(`gw-b drained ${tookMs} ms after the request (heartbeat every ${HEARTBEAT_MS} ms)`);
    assert.ok(tookMs <= WINDOW_MS, `took ${tookMs} ms`);

    assert.deepEqual(
      await tcpConnect(b.s3Port).then((s) => s.state),
      'refused',
      'gw-b refuses new S3 connections',
    );
    for (const other of [a, cc]) {
      assert.deepEqual(await health(other), { status: 200, draining: false }, `${other.name} still serves`);
      const s = await tcpConnect(other.s3Port);
      assert.equal(s.state, 'open', `${other.name} accepts`);
      if (s.state === 'open') s.close();
    }

    const seen = await eventually(
      async () => byName(await c.list(cc)),
      (ns) => ns['gw-b']?.draining === true && ns['gw-b'].drainRequest === null,
      'gw-b draining in the registry, request settled',
    );
    assert.ok(seen['gw-b']?.drainingSince, 'it reports when its drain began');
    assert.ok((seen['gw-b']?.activeConnections ?? 0) >= 1, 'the held connection is still open and counted');
    assert.deepEqual([seen['gw-a']?.draining, seen['gw-c']?.draining], [false, false]);
    await b.proc?.waitForLine(/draining as console:olive asked through the control plane \d+ ms ago/, 5000);
    await b.proc?.waitForLine(
      /draining: listeners refuse new connections; open connections are still served/,
      5000,
    );

    if (held.state === 'open') held.close();
    await eventually(
      async () => byName(await c.list()),
      (ns) => ns['gw-b']?.activeConnections === 0,
      'gw-b reports its connection gone',
    );
  });

  test('3 the request and what the node did are both in the audit log, naming the node', async () => {
    const [asked] = await c.audit('nodes.drain');
    assert.deepEqual(
      [asked?.actor, asked?.target, asked?.outcome],
      [`console:${OPERATOR.user}`, 'node:gw-b', 'ok'],
    );
    const [done] = await c.audit('gateway.drain');
    assert.deepEqual(
      [done?.actor, done?.target, done?.outcome],
      [`console:${OPERATOR.user}`, 'node:gw-b', 'ok'],
    );
    assert.equal((done?.detail as { via?: string } | undefined)?.via, 'control plane request');
  });

  test('4 a viewer is refused (403, audited as denied) and nothing is asked of the node', async () => {
    const r = await c.mutate(a, 'nodes.undrain', { name: 'gw-b' }, 'viewer');
    assert.equal(r.status, 403);
    assert.match(r.error?.message ?? '', /needs the operator role \(you have viewer\)/);
    const [denied] = await c.audit('nodes.undrain');
    assert.deepEqual(
      [denied?.actor, denied?.target, denied?.outcome],
      ['console:val', 'node:gw-b', 'denied'],
    );
    const nodes = byName(await c.list());
    assert.deepEqual([nodes['gw-b']?.draining, nodes['gw-b']?.drainRequest], [true, null]);
  });

  test('5 undrain: gw-b accepts connections again at its next heartbeat', async () => {
    const r = await c.mutate(a, 'nodes.undrain', { name: 'gw-b' }, 'operator');
    assert.equal(r.status, 200, r.error?.message);
    await eventually(
      () => health(b),
      (h) => !h.draining && h.status === 200,
      'gw-b serving',
      WINDOW_MS,
    );
    const s = await tcpConnect(b.s3Port);
    assert.equal(s.state, 'open');
    if (s.state === 'open') s.close();
  });

  test('6 a node draining itself: the request is carried out at once, not at the next beat', async () => {
    const asked = performance.now();
    const r = await c.mutate<NodeView>(a, 'nodes.drain', { name: 'gw-a' }, 'operator');
    assert.equal(r.status, 200, r.error?.message);
    assert.deepEqual([r.data.draining, r.data.drainRequest], [true, null]);
    assert.ok(performance.now() - asked < HEARTBEAT_MS, 'answered before a heartbeat would have come');
    assert.equal((await health(a)).draining, true);
    const back = await c.mutate(a, 'nodes.undrain', { name: 'gw-a' }, 'operator');
    assert.equal(back.status, 200, back.error?.message);
    assert.equal((await health(a)).draining, false);
  });

  test('7 an unknown node is NOT_FOUND; a node that is down cannot be asked', async () => {
    const missing = await c.mutate(a, 'nodes.drain', { name: 'gw-z' }, 'operator');
    assert.deepEqual([missing.status, missing.error?.message], [404, 'gateway node gw-z not found']);
    const bad = await c.mutate(a, 'nodes.drain', { name: 'gw b' }, 'operator');
    assert.equal(bad.status, 400);
    await cc.kill();
    await eventually(
      async () => byName(await c.list()),
      (ns) => ns['gw-c']?.health === 'down',
      'gw-c down',
      DEADLINE_MS,
    );
    const down = await c.mutate(a, 'nodes.drain', { name: 'gw-c' }, 'operator');
    assert.equal(down.status, 400);
    assert.match(
      down.error?.message ?? '',
      /^node gw-c is down \(no heartbeat for \d+ s\): it cannot act on a drain request/,
    );
    await cc.start();
    await eventually(
      async () => byName(await c.list()),
      (ns) => ns['gw-c']?.health === 'healthy',
      'gw-c back',
    );
  });

  test('8 ./cfs gateway drain --node gw-c waits until gw-c drains; undrain --node serves again', async (t) => {
    const drain = await c.cfs(a, 'gateway', 'drain', '--node', 'gw-c', '--timeout', '30s');
    assert.equal(drain.code, 0, drain.output);
    const lines = drain.stdout.trimEnd().split('\n');
    assert.match(
      lines[0] ?? '',
      /^asked gw-c to drain through the control plane: it acts at its next heartbeat \(every 5s\); waiting up to 30s$/,
    );
    const acted = /^gw-c is draining \((\d+) ms after the request\)/m.exec(drain.stdout);
    assert.ok(acted, drain.stdout);
    t.diagnostic(`./cfs gateway drain --node: gw-c drained ${acted[1]} ms after the request`);
    assert.match(
      lines.at(-1) ?? '',
      /^drained: no request in flight at gw-c's last heartbeat \(\d+ connections?, 0 in flight\); safe to stop it$/,
    );
    assert.equal((await health(cc)).draining, true);
    const [entry] = await c.audit('nodes.drain');
    assert.deepEqual([entry?.actor.startsWith('cli:'), entry?.target], [true, 'node:gw-c']);

    const undrain = await c.cfs(a, 'gateway', 'undrain', '--node', 'gw-c');
    assert.equal(undrain.code, 0, undrain.output);
    assert.match(undrain.stdout, /^asked gw-c to undrain through the control plane/);
    await eventually(
      () => health(cc),
      (h) => !h.draining,
      'gw-c serving',
      WINDOW_MS,
    );
  });
  test('9 ./cfs gateway reload --node gw-b: gw-b reads its own file at its next heartbeat; the command prints what it applied, or why it refused', async () => {
    const original = readFileSync(b.config, 'utf8');
    try {
      writeFileSync(b.config, `${original}cache: { ttl: 3s }\ndurability: { metadata: async }\n`);
      const r = await c.cfs(a, 'gateway', 'reload', '--node', 'gw-b');
      assert.equal(r.code, 0, r.output);
      assert.match(
        r.stdout,
        /^asked gw-b to reload its configuration through the control plane: it acts at its next heartbeat \(every 5s\)\nconfiguration reloaded from node gw-b's file\napplied now:\n {2}cache\.ttl: .* -> 3s\nwaiting for a restart \(the running values stay until then\):\n {2}durability\.metadata: sync -> async\n$/,
      );
      const [asked] = await c.audit('nodes.reload');
      assert.deepEqual(
        [asked?.actor.startsWith('cli:'), asked?.target, asked?.outcome],
        [true, 'node:gw-b', 'ok'],
      );
      const [done] = await c.audit('gateway.config.reload');
      assert.deepEqual([done?.actor, done?.target, done?.outcome], [asked?.actor, 'node:gw-b', 'ok']);
      const listed = (await c.list()).find((n) => n.name === 'gw-b');
      assert.deepEqual(
        listed?.lastReload?.pendingRestart.map((p) => p.setting),
        ['durability.metadata'],
        "the registry shows what waits for gw-b's restart",
      );
      const table = await c.cfs(a, 'gateway', 'nodes');
      assert.match(
        table.stdout,
        /^gw-b .* reloaded \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \(1 waits for a restart\)$/m,
      );

      writeFileSync(b.config, `${original}cache: { ttl: banana }\n`);
      const bad = await c.cfs(a, 'gateway', 'reload', '--node', 'gw-b');
      assert.equal(bad.code, 2, bad.output);
      assert.match(
        bad.stderr,
        /gw-b refused its configuration file and keeps its running configuration:\n {2}.*cache\.ttl/,
      );
      const unknown = await c.cfs(a, 'gateway', 'reload', '--node', 'gw-x');
      assert.notEqual(unknown.code, 0);
      assert.match(unknown.stderr, /gw-x/);
    } finally {
      writeFileSync(b.config, original);
    }
  });
});
