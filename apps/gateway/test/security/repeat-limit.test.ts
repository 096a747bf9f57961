import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type HeldBack, RepeatLimit } from '../../src/util/repeat-limit.ts';

test('perWindow events per key go through; the rest make one summary, with a tally by kind, when the window ends', async () => {
  const summaries: HeldBack[] = [];
  const limit = new RepeatLimit((h) => summaries.push(h), { perWindow: 30, windowMs: 100 });
  const admitted = Array.from({ length: 45 }, (_, i) =>
    limit.admit('10.0.0.9', i % 3 === 0 ? 'user.add' : 'gateway.drain'),
  );
  assert.equal(admitted.filter(Boolean).length, 30);
  assert.ok(admitted.slice(0, 30).every(Boolean), 'the first 30 are the ones let through');
  // Another key has a window of its own.
  assert.equal(limit.admit('10.0.0.10', 'user.add'), true);
  assert.deepEqual(summaries, [], 'nothing is said before the window ends');
  await new Promise((r) => setTimeout(r, 150));
  assert.deepEqual(summaries, [
    { key: '10.0.0.9', suppressed: 15, kinds: { 'user.add': 5, 'gateway.drain': 10 }, windowSeconds: 0 },
  ]);
  assert.equal(limit.suppressedTotal, 15);
  // A new window lets events through again.
  assert.equal(limit.admit('10.0.0.9', 'user.add'), true);
  limit.closeAll();
  assert.equal(summaries.length, 1, 'a window with nothing held back says nothing');
});

test('at most maxKeys windows: the oldest is closed early, its summary given', () => {
  const summaries: HeldBack[] = [];
  const limit = new RepeatLimit((h) => summaries.push(h), { perWindow: 1, windowMs: 60_000, maxKeys: 2 });
  for (const k of ['a', 'a', 'b', 'c']) limit.admit(k);
  assert.deepEqual(
    summaries.map((h) => [h.key, h.suppressed]),
    [['a', 1]],
  );
  limit.closeAll();
});

test('refusal lines: 20 per kind and client address, counted by the fixed part, then one summary line', async () => {
  const pino = (await import('pino')).default;
  const { logRefusal, refusalLimit } = await import('../../src/daemon/refusal-log.ts');
  const lines: Array<{ msg: string; remote?: string; suppressed?: number }> = [];
  const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  for (let i = 0; i < 50; i++)
    logRefusal(
      log,
      'info',
      '10.0.0.7',
      'SMB logon failed',
      { remote: '10.0.0.7' },
      `SMB logon failed: no user 'u${i}'`,
    );
  for (let i = 0; i < 3; i++)
    logRefusal(log, 'info', '10.0.0.8', 'SMB logon failed', {}, 'SMB logon failed: another client');
  assert.equal(lines.filter((l) => l.msg.startsWith('SMB logon failed: no user')).length, 20);
  assert.equal(
    lines.filter((l) => l.msg === 'SMB logon failed: another client').length,
    3,
    'not hidden by the first',
  );
  refusalLimit(log).closeAll();
  const summary = lines.at(-1);
  assert.equal(
    summary?.msg,
    'SMB logon failed: 30 more from 10.0.0.7 in the last 10 s, not logged one by one',
  );
  assert.deepEqual([summary?.remote, summary?.suppressed], ['10.0.0.7', 30]);
});
