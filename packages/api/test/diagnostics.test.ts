import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TRPCError } from '@trpc/server';
import { createCaller, type GatewayControl } from '../src/index.ts';
import {
  DIAGNOSTIC_TREE_IDS,
  type DiagnosticRun,
  type DiagnosticTreeDef,
  REMEDIATION_ACTIONS,
  REMEDIATION_ROLES,
  type SupportBundle,
} from '../src/types/diagnostics.ts';
import { context, fakeControl, fakeTransport, type Who } from './fake-control.ts';

const TREE: DiagnosticTreeDef = {
  id: 'backend',
  title: 'Backend (A2/A4) failures',
  runbook: { section: 'Emergency Procedures › Backend (A2/A4) Failures' },
  summary: '',
  inputs: [],
  start: 'circuits',
  steps: [
    {
      id: 'circuits',
      title: 'Circuit breakers',
      kind: 'check',
      runbook: { section: 'Emergency Procedures › Backend (A2/A4) Failures' },
      description: '',
      branches: { open: null, closed: null },
    },
  ],
};

const RUN: DiagnosticRun = {
  id: 'r1',
  tree: 'backend',
  title: TREE.title,
  request: { tree: 'backend' },
  ranBy: null,
  startedAt: '2024-01-01T00:00:00.000Z',
  durationMs: 3,
  steps: [],
  conclusion: { verdict: 'pass', summary: 'ok', findings: [], stepId: null },
  actions: [],
};

/** The four diagnostics capabilities, answering fixed values (the rest of the fake as usual). */
function control() {
  const overrides: Partial<GatewayControl> = {
    diagnosticTrees: async () => [TREE],
    runDiagnostic: async (request, ranBy) => ({ ...RUN, request, ranBy }),
    diagnosticBundle: async () =>
      ({ format: 'claudefs-support-bundle/1', runs: [RUN] }) as unknown as SupportBundle,
    remediate: async (r) => ({ action: r.action, summary: `did ${r.action}`, result: null }),
  };
  return fakeControl(overrides);
}

const isCode = (code: string) => (e: unknown) => e instanceof TRPCError && e.code === code;

describe('diagnostics router', () => {
  test('1 list and bundle are viewer queries, not audited; anonymous is UNAUTHORIZED', async () => {
    const c = control();
    const viewer = createCaller(context('viewer', c));
    assert.deepEqual(await viewer.diagnostics.list(), [TREE]);
    assert.equal((await viewer.diagnostics.bundle({ runId: 'r1' })).runs[0]?.id, 'r1');
    assert.deepEqual(c.argsOf('diagnosticBundle'), [[{ runId: 'r1' }]]);
    assert.equal(c.audits.length, 0);
    await assert.rejects(createCaller(context('anonymous', c)).diagnostics.list(), isCode('UNAUTHORIZED'));
  });

  test('2 run: a viewer may; the caller is named in the transcript and the audit log', async () => {
    const c = control();
    const run = await createCaller(context('viewer', c, fakeTransport())).diagnostics.run({
      tree: 'access',
      path: '/export/a/f',
      uid: 1001,
      gid: 1001,
    });
    assert.equal(run.ranBy, 'console:val');
    assert.deepEqual(c.argsOf('runDiagnostic'), [
      [{ tree: 'access', path: '/export/a/f', uid: 1001, gid: 1001 }, 'console:val'],
    ]);
    assert.deepEqual(
      c.audits.map((a) => [a.action, a.target, a.outcome]),
      [['diagnostics.run', 'tree:access', 'ok']],
    );
  });

  test('3 run: an unknown tree or a bad uid is BAD_REQUEST before the gateway is asked', async () => {
    const c = control();
    const viewer = createCaller(context('viewer', c));
    await assert.rejects(viewer.diagnostics.run({ tree: 'nope' as 'access' }), isCode('BAD_REQUEST'));
    await assert.rejects(viewer.diagnostics.run({ tree: 'quota', uid: -1 }), isCode('BAD_REQUEST'));
    assert.deepEqual(c.argsOf('runDiagnostic'), []);
  });

  /** [row, who, action input, expected] — each remediation at the edge of its role. */
  const ROWS: Array<[number, Who, Record<string, unknown>, 'allowed' | 'FORBIDDEN' | 'UNAUTHORIZED']> = [
    [1, 'viewer', { action: 'cache.invalidate', scope: 'all' }, 'FORBIDDEN'],
    [2, 'operator', { action: 'cache.invalidate', scope: 'path', path: '/export/g' }, 'allowed'],
    [3, 'operator', { action: 'circuit.reset', backend: 'transport' }, 'allowed'],
    [4, 'operator', { action: 'drain' }, 'allowed'],
    [5, 'operator', { action: 'log-level.set', level: 'debug' }, 'allowed'],
    [6, 'operator', { action: 'quota.set', kind: 'uid', id: 1000, soft: '20GB', hard: '25GB' }, 'FORBIDDEN'],
    [7, 'admin', { action: 'quota.set', kind: 'uid', id: 1000, soft: '20GB', hard: '25GB' }, 'allowed'],
    [8, 'operator', { action: 'group.add-member', user: 'bob', group: 'claudefs-users' }, 'FORBIDDEN'],
    [9, 'admin', { action: 'group.add-member', user: 'bob', group: 'claudefs-users' }, 'allowed'],
    [10, 'anonymous', { action: 'undrain' }, 'UNAUTHORIZED'],
  ];
  for (const [n, who, input, want] of ROWS) {
    test(`4.${n} remediate ${String(input.action)} as ${who} → ${want}, audited`, async () => {
      const c = control();
      const call = createCaller(context(who, c, fakeTransport())).diagnostics.remediate({
        ...input,
        tree: 'backend',
      } as never);
      if (want === 'allowed') {
        assert.equal((await call).summary, `did ${String(input.action)}`);
        assert.deepEqual(c.argsOf('remediate'), [[input]], 'the wizard context stays out of the request');
      } else {
        await assert.rejects(call, isCode(want));
        assert.deepEqual(c.argsOf('remediate'), []);
      }
      assert.equal(c.audits.length, 1);
      const a = c.audits[0]!;
      assert.equal(a.action, 'diagnostics.remediate');
      assert.equal(a.outcome, want === 'allowed' ? 'ok' : 'denied');
      assert.ok(a.target.startsWith(String(input.action)), a.target);
    });
  }

  test('5 a remediation without the CSRF header is refused over HTTP', async () => {
    const c = control();
    await assert.rejects(
      createCaller(context('admin', c, fakeTransport({ csrf: false }))).diagnostics.remediate({
        action: 'drain',
      }),
      isCode('FORBIDDEN'),
    );
    assert.deepEqual(c.argsOf('remediate'), []);
  });

  test('6 the tables the console builds on: nine trees, every action with a role', () => {
    assert.equal(DIAGNOSTIC_TREE_IDS.length, 9);
    for (const a of REMEDIATION_ACTIONS) assert.ok(REMEDIATION_ROLES[a], a);
  });
});
