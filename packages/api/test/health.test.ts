import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TRPCError } from '@trpc/server';
import { type Context, createAppRouter, createCaller } from '../src/index.ts';
import { fakeControl, REPORT } from './fake-control.ts';

test('health passes the gateway report through unchanged', async () => {
  const control = fakeControl();
  const ctx: Context = { control, session: null };
  const result = await createCaller(ctx).health();
  assert.deepEqual(result, REPORT);
  assert.equal(control.argsOf('health').length, 1);
});

test('health works for signed-in callers and through createAppRouter()', async () => {
  const control = fakeControl();
  const caller = createAppRouter().createCaller({ control, session: { user: 'ops', role: 'viewer' } });
  assert.deepEqual(await caller.health(), REPORT);
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
