import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type GatewayNodeRecord, type NodeStatus, viewNode } from '../../src/control/nodes.ts';
import {
  advance,
  cancelEffects,
  newWalk,
  ROLLING_WAIT_LIMIT_MS,
  startBlockers,
  type WalkState,
} from '../../src/ops/nodes/rolling-restart.ts';

/**
 * The rolling-restart walker as a pure function of the node registry: each row changes what
 * the registry says and checks where the walk goes, and which drain requests it asks for.
 */
const T0 = Date.parse('2026-11-28T12:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000);

interface Live {
  status?: NodeStatus;
  /** Seconds after T0 of its start. */
  started?: number;
  draining?: boolean;
  drainingSince?: number;
  connections?: number | null;
  /** Seconds of silence at the time the view is taken. */
  silent?: number;
  request?: 'drain' | 'undrain';
}

function registry(now: number, nodes: Record<string, Live>) {
  return Object.entries(nodes).map(([name, l]) => {
    const record: GatewayNodeRecord = {
      name,
      address: `${name}:8080`,
      version: `v${l.started ?? -100}`,
      startedAt: at(l.started ?? -100),
      lastHeartbeatAt: at(now - (l.silent ?? 0)),
      heartbeatIntervalMs: 1000,
      draining: l.draining ?? false,
      status: l.status ?? 'healthy',
      drainingSince: l.drainingSince === undefined ? null : at(l.drainingSince),
      activeConnections: l.connections === undefined ? 2 : l.connections,
      requestsInFlight: 0,
      drainRequest: l.request
        ? { action: l.request, requestedAt: at(now - 0.5), requestedBy: 'console:alice' }
        : null,
    };
    return viewNode(record, at(now));
  });
}

const phases = (w: WalkState) => w.nodes.map((n) => `${n.name}:${n.phase}`).join(' ');

describe('rolling restart: starting', () => {
  test('1 every running node healthy and serving: no blocker; stopped nodes are skipped; self goes last', () => {
    const nodes = registry(0, { a: {}, b: {}, c: {}, old: { status: 'stopped', silent: 900 } });
    assert.deepEqual(startBlockers(nodes), []);
    const w = newWalk(nodes, 'a');
    assert.equal(phases(w), 'b:pending c:pending old:skipped a:pending');
    assert.equal(w.current, 0);
    assert.equal(w.waitLimitMs, ROLLING_WAIT_LIMIT_MS);
  });

  const BLOCKED: Array<[row: number, nodes: Record<string, Live>, blocker: RegExp]> = [
    [2, { a: {}, b: { silent: 5 } }, /^b is down \(no heartbeat for 5 s\)$/],
    [3, { a: {}, b: { status: 'unhealthy' } }, /^b is unhealthy$/],
    [4, { a: { status: 'degraded' }, b: {} }, /^a is degraded$/],
    [5, { a: {}, b: { status: 'starting' } }, /^b is starting$/],
    [6, { a: {}, b: { draining: true } }, /^b is draining$/],
    [7, { a: {}, b: { request: 'drain' } }, /^b has a drain request pending$/],
    [8, { a: { status: 'stopped' } }, /^no gateway node is running$/],
  ];
  for (const [row, nodes, blocker] of BLOCKED) {
    test(`${row} refused: ${blocker.source}`, () => {
      const found = startBlockers(registry(0, nodes));
      assert.equal(found.length, 1, found.join('; '));
      assert.match(found[0] ?? '', blocker);
    });
  }
});

describe('rolling restart: one node at a time', () => {
  test('9 drain → wait for 0 connections → restart → healthy → next; the second drain waits for the first node', () => {
    let w = newWalk(registry(0, { a: {}, b: {} }), 'zz');
    let r = advance(w, registry(1, { a: {}, b: {} }), at(1));
    assert.deepEqual(r.effects, [{ action: 'drain', node: 'a' }]);
    assert.equal(phases(r.walk), 'a:draining b:pending');
    w = r.walk;

    // The request waits for a's heartbeat: nothing more to ask.
    r = advance(w, registry(2, { a: { request: 'drain' }, b: {} }), at(2));
    assert.deepEqual([r.effects, phases(r.walk)], [[], 'a:draining b:pending']);

    // a drains with 3 connections; then 1; then 0.
    r = advance(w, registry(3, { a: { draining: true, drainingSince: 2.5, connections: 3 }, b: {} }), at(3));
    w = r.walk;
    assert.equal(phases(w), 'a:waiting b:pending');
    assert.deepEqual([w.nodes[0]?.connectionsAtDrain, w.nodes[0]?.drainingAt], [3, at(2.5).toISOString()]);
    r = advance(w, registry(5, { a: { draining: true, drainingSince: 2.5, connections: 1 }, b: {} }), at(5));
    assert.equal(phases(r.walk), 'a:waiting b:pending');
    r = advance(w, registry(6, { a: { draining: true, drainingSince: 2.5, connections: 0 }, b: {} }), at(6));
    w = r.walk;
    assert.equal(phases(w), 'a:restarting b:pending');
    assert.deepEqual([w.nodes[0]?.waitEnd, w.nodes[0]?.connectionsAtRestart], ['idle', 0]);

    // Stopped (seen), then registered again with a new start time, starting.
    r = advance(w, registry(8, { a: { status: 'stopped', draining: true, connections: 0 }, b: {} }), at(8));
    w = r.walk;
    assert.deepEqual([w.nodes[0]?.stopSeen, w.nodes[0]?.stopSeenAt], ['stopped', at(8).toISOString()]);
    r = advance(w, registry(10, { a: { started: 9, status: 'starting' }, b: {} }), at(10));
    w = r.walk;
    assert.equal(phases(w), 'a:returning b:pending');
    assert.deepEqual([w.nodes[0]?.restartedAt, w.nodes[0]?.versionAfter], [at(9).toISOString(), 'v9']);
    assert.deepEqual(r.effects, [], 'b is not drained while a is not back');

    // Healthy again: a is done and b is drained in the same step.
    r = advance(w, registry(11, { a: { started: 9 }, b: {} }), at(11));
    assert.equal(phases(r.walk), 'a:done b:draining');
    assert.deepEqual(r.effects, [{ action: 'drain', node: 'b' }]);
    assert.equal(r.walk.nodes[0]?.healthyAt, at(11).toISOString());
    assert.equal(r.finished, false);
    w = r.walk;

    // b: connections never reach 0, so the 30 s decide; restarted; healthy: finished.
    r = advance(
      w,
      registry(12, { a: { started: 9 }, b: { draining: true, drainingSince: 12, connections: 4 } }),
      at(12),
    );
    w = r.walk;
    r = advance(
      w,
      registry(41, { a: { started: 9 }, b: { draining: true, drainingSince: 12, connections: 4 } }),
      at(41),
    );
    assert.equal(phases(r.walk), 'a:done b:waiting', 'not yet 30 s');
    r = advance(
      w,
      registry(42, { a: { started: 9 }, b: { draining: true, drainingSince: 12, connections: 4 } }),
      at(42),
    );
    w = r.walk;
    assert.deepEqual(
      [phases(w), w.nodes[1]?.waitEnd, w.nodes[1]?.connectionsAtRestart],
      ['a:done b:restarting', 'timeout', 4],
    );
    r = advance(w, registry(50, { a: { started: 9 }, b: { started: 49 } }), at(50));
    assert.deepEqual([phases(r.walk), r.finished, r.walk.current], ['a:done b:done', true, null]);
  });

  test('10 another node down holds the next drain, with the reason; it goes on once that node is back', () => {
    const w0 = newWalk(registry(0, { a: {}, b: {}, c: {} }), 'zz');
    const w1 = advance(w0, registry(0, { a: {}, b: {}, c: {} }), at(0)).walk;
    const restarting = advance(
      w1,
      registry(1, { a: { draining: true, drainingSince: 0.5, connections: 0 }, b: {}, c: {} }),
      at(1),
    ).walk;
    assert.equal(phases(restarting), 'a:restarting b:pending c:pending');
    const back = advance(restarting, registry(20, { a: { started: 15 }, b: {}, c: { silent: 4 } }), at(20));
    assert.equal(phases(back.walk), 'a:done b:pending c:pending');
    assert.deepEqual(back.effects, []);
    assert.match(back.walk.holding ?? '', /^c is down \(no heartbeat for 4 s\): the walk drains b only once/);
    const resumed = advance(back.walk, registry(25, { a: { started: 15 }, b: {}, c: {} }), at(25));
    assert.deepEqual([phases(resumed.walk), resumed.walk.holding], ['a:done b:draining c:pending', null]);
    assert.deepEqual(resumed.effects, [{ action: 'drain', node: 'b' }]);
  });

  test('11 restarted before the walk said so: it goes straight to coming back', () => {
    const w = advance(newWalk(registry(0, { a: {}, b: {} }), 'b'), registry(0, { a: {}, b: {} }), at(0)).walk;
    const r = advance(w, registry(3, { a: { started: 2, status: 'starting' }, b: {} }), at(3));
    assert.equal(phases(r.walk), 'a:returning b:pending');
  });

  test('12 a lost request is asked again; a node undrained behind the walk is drained again', () => {
    const w = advance(newWalk(registry(0, { a: {}, b: {} }), 'b'), registry(0, { a: {}, b: {} }), at(0)).walk;
    assert.deepEqual(advance(w, registry(9, { a: {}, b: {} }), at(9)).effects, [
      { action: 'drain', node: 'a' },
    ]);
    const waiting = advance(w, registry(2, { a: { draining: true, drainingSince: 1 }, b: {} }), at(2)).walk;
    const undone = advance(waiting, registry(3, { a: {}, b: {} }), at(3));
    assert.deepEqual(
      [phases(undone.walk), undone.effects],
      ['a:draining b:pending', [{ action: 'drain', node: 'a' }]],
    );
  });

  test('13 cancel undrains the node being worked on, and nothing once it is back or not yet asked', () => {
    const draining = advance(
      newWalk(registry(0, { a: {}, b: {} }), 'b'),
      registry(0, { a: {}, b: {} }),
      at(0),
    ).walk;
    assert.deepEqual(cancelEffects(draining, registry(1, { a: { request: 'drain' }, b: {} })), [
      { action: 'undrain', node: 'a' },
    ]);
    assert.deepEqual(cancelEffects(draining, registry(1, { a: { draining: true }, b: {} })), [
      { action: 'undrain', node: 'a' },
    ]);
    assert.deepEqual(
      cancelEffects(draining, registry(1, { a: { status: 'stopped', draining: true }, b: {} })),
      [],
    );
    assert.deepEqual(
      cancelEffects(newWalk(registry(0, { a: {}, b: {} }), 'b'), registry(1, { a: {}, b: {} })),
      [],
    );
  });
});
