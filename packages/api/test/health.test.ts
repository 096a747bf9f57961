import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TRPCError } from '@trpc/server';
import {
  type Context,
  createAppRouter,
  createCaller,
  type GatewayControl,
  type HealthReport,
} from '../src/index.ts';

const report: HealthReport = {
  overall: 'degraded',
  checks: [
    { name: 'metadata', status: 'healthy', message: 'sqlite ok', duration_ms: 1.5 },
    { name: 'transport', status: 'degraded', message: 'circuit half-open', duration_ms: 12 },
  ],
  timestamp: 1_700_000_000_000,
};

function fakeControl(overrides: Partial<GatewayControl> = {}): GatewayControl & { calls: number } {
  const control = {
    calls: 0,
    async health() {
      control.calls++;
      return structuredClone(report);
    },
    ...overrides,
  };
  return control;
}

test('health passes the gateway report through unchanged', async () => {
  const control = fakeControl();
  const ctx: Context = { control, session: null };
  const result = await createCaller(ctx).health();
  assert.deepEqual(result, report);
  assert.equal(control.calls, 1);
});

test('health works for signed-in callers and through createAppRouter()', async () => {
  const control = fakeControl();
  const caller = createAppRouter().createCaller({ control, session: { user: 'ops', role: 'viewer' } });
  assert.deepEqual(await caller.health(), report);
});

test('health surfaces a failing gateway as a tRPC error', async () => {
  const control = fakeControl({
    health: () => Promise.reject(new Error('metadata store unreachable')),
  });
  await assert.rejects(createCaller({ control, session: null }).health(), (error: unknown) => {
    assert.ok(error instanceof TRPCError);
    assert.equal(error.code, 'INTERNAL_SERVER_ERROR');
    assert.match(error.message, /metadata store unreachable/);
    return true;
  });
});
