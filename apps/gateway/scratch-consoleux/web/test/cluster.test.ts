import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RollingRestartNode, RollingRestartView } from '@claudefs/api';
import { count, span, stepVerdict, walkMeasured } from '../lib/cluster.ts';

const SPANS: Array<[ms: number | null, text: string]> = [
  [null, '—'],
  [-5, '0 s'],
  [250, '0.3 s'],
  [9_949, '9.9 s'],
  [30_000, '30 s'],
  [185_000, '3 min 05 s'],
  [7_500_000, '2 h 05 min'],
  [200_000_000, '2 d 7 h'],
];
for (const [i, [ms, text]] of SPANS.entries()) {
  test(`span row ${i + 1}: ${ms} ms → ${text}`, () => assert.equal(span(ms), text));
}

test('count agrees in number', () => {
  assert.deepEqual(
    [count(1, 'connection'), count(0, 'connection'), count(null, 'connection')],
    ['1 connection', '0 connections', '? connections'],
  );
});

const step = (over: Partial<RollingRestartNode>): RollingRestartNode => ({
  name: 'gw-b',
  address: 'gw-b:8080',
  phase: 'pending',
  startedAtBefore: '2026-11-28T10:00:00.000Z',
  versionBefore: '1.0.0',
  drainRequestedAt: null,
  drainingAt: null,
  connectionsAtDrain: null,
  waitEndedAt: null,
  waitEnd: null,
  connectionsAtRestart: null,
  stopSeenAt: null,
  stopSeen: null,
  restartedAt: null,
  versionAfter: null,
  healthyAt: null,
  ...over,
});

test('a node waiting its turn has measured nothing; a finished one shows every measurement in order', () => {
  assert.deepEqual(walkMeasured(step({}), 30_000), {});
  const done = walkMeasured(
    step({
      phase: 'done',
      drainRequestedAt: '2026-11-28T10:01:00.000Z',
      drainingAt: '2026-11-28T10:01:00.800Z',
      connectionsAtDrain: 3,
      waitEndedAt: '2026-11-28T10:01:30.800Z',
      waitEnd: 'timeout',
      connectionsAtRestart: 1,
      stopSeen: 'stopped',
      stopSeenAt: '2026-11-28T10:01:40.000Z',
      restartedAt: '2026-11-28T10:01:42.000Z',
      versionAfter: '1.1.0',
      healthyAt: '2026-11-28T10:01:44.500Z',
    }),
    30_000,
  );
  assert.deepEqual(Object.keys(done), [
    'drain requested at',
    'draining from',
    'drain took effect after',
    'connections when it began draining',
    'waited for connections',
    'wait ended because',
    'seen stopped at',
    'start time before',
    'start time after (registered again)',
    'version',
    'healthy, not draining at',
    'back in service after the restart',
    'out of service in all',
  ]);
  assert.deepEqual(
    [
      done['drain took effect after'],
      done['wait ended because'],
      done.version,
      done['back in service after the restart'],
    ],
    ['0.8 s', '30 s passed with 1 connection open', '1.0.0 → 1.1.0', '2.5 s'],
  );
});

test('rails: done passes, the current node is under way (held: warn), the rest not reached', () => {
  const walk: RollingRestartView = {
    id: 1,
    outcome: 'running',
    startedBy: 'console:alice',
    startedAt: '2026-11-28T10:00:00.000Z',
    endedBy: null,
    endedAt: null,
    waitLimitMs: 30_000,
    current: 1,
    holding: null,
    nodes: [step({ name: 'a', phase: 'done' }), step({ name: 'b', phase: 'waiting' }), step({ name: 'c' })],
  };
  assert.deepEqual(
    [0, 1, 2].map((i) => stepVerdict(walk, i)),
    ['pass', 'info', 'skipped'],
  );
  assert.equal(stepVerdict({ ...walk, holding: 'c is down' }, 1), 'warn');
  assert.equal(stepVerdict({ ...walk, outcome: 'cancelled' }, 1), 'warn');
});
