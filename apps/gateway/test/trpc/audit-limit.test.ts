import assert from 'node:assert/strict';
import { test } from 'node:test';

test('a running gateway: 40 unauthenticated refusals from one address are 30 audit entries and one summary', async (t) => {
  const { startTrpcGateway, trpc } = await import('./fixture.ts');
  const { auditLimit } = await import('../../src/ops/audit-limit.ts');
  const g = await startTrpcGateway();
  t.after(() => g.stop());
  const replies = await Promise.all([
    ...Array.from({ length: 25 }, (_, i) =>
      trpc(g.base, 'mutation', 'users.add', { name: `intruder${i}`, password: 'Intruder-pw-1' }).then(
        (r) => r.status,
      ),
    ),
    // The admin API's refusals share the limit: a browser's request is never trusted as loopback.
    ...Array.from({ length: 15 }, () =>
      fetch(`${g.base}/admin/drain`, { method: 'POST', headers: { origin: 'http://evil.example' } }).then(
        async (r) => {
          await r.arrayBuffer();
          return r.status;
        },
      ),
    ),
  ]);
  assert.ok(
    replies.every((s) => s === 401),
    replies.join(' '),
  );
  const denied = await g.gw.control.audit.list({ outcome: 'denied', limit: 100 });
  assert.equal(denied.length, 30);
  assert.ok(denied.every((e) => e.actor === 'anonymous'));
  auditLimit(g.gw).closeAll();
  await new Promise((r) => setTimeout(r, 200));
  const [summary] = await g.gw.control.audit.list({ action: 'audit.suppressed' });
  assert.equal(summary?.target, 'address:127.0.0.1');
  const detail = summary?.detail as { suppressed: number; actions: Record<string, number> };
  assert.equal(detail.suppressed, 10);
  assert.equal(
    Object.values(detail.actions).reduce((a, b) => a + b, 0),
    10,
  );
  assert.match(g.logText(), /audit: 10 more unauthenticated requests from 127\.0\.0\.1 in 60 s were refused/);
  const { scrape, sampleValue } = await import('../metrics/fixture.ts');
  assert.equal(sampleValue((await scrape(g.base)).samples, 'gateway_audit_entries_suppressed_total'), 10);
  // Nobody users were made, nothing drained.
  assert.equal(g.gw.draining, false);
  assert.equal(await g.gw.control.users.get('intruder0'), null);
});

test('failed sign-ins have their own audit budget: 40 junk refusals first do not hide the 4 wrong passwords after them; an unreadable body is audited without its bytes', async (t) => {
  const { startTrpcGateway, trpc } = await import('./fixture.ts');
  const g = await startTrpcGateway();
  t.after(() => g.stop());
  await Promise.all(
    Array.from({ length: 40 }, () =>
      fetch(`${g.base}/admin/drain`, { method: 'POST', headers: { origin: 'http://evil.example' } }).then(
        (r) => r.arrayBuffer(),
      ),
    ),
  );
  for (let i = 0; i < 4; i++) {
    const r = await trpc(g.base, 'mutation', 'auth.signIn', { user: 'uadmin', password: `Guess-pw-${i}x` });
    assert.equal(r.status, 401);
  }
  const bad = await trpc(g.base, 'mutation', 'auth.signIn', undefined, {
    rawBody: '{"user":"uadmin","password":GuessedPw777}',
  });
  assert.equal(bad.status, 400);
  const signIns = await g.gw.control.audit.list({ action: 'console.signin', limit: 100 });
  assert.equal(signIns.filter((e) => e.actor === 'console:uadmin' && e.outcome === 'denied').length, 4);
  const unreadable = signIns.find((e) => e.outcome !== 'denied' || e.actor === 'anonymous');
  assert.equal(unreadable?.actor, 'anonymous', JSON.stringify(signIns));
  const all = JSON.stringify(await g.gw.control.audit.list({ limit: 200 }));
  assert.ok(!all.includes('GuessedPw'), 'the unreadable body is quoted in the audit log');
});

test('audit.retention: entries older than it (365d by default) are deleted a batch at a time, the rest kept', async (t) => {
  const { startTrpcGateway } = await import('./fixture.ts');
  const { pruneAudit } = await import('../../src/ops/trpc/feature.ts');
  const g = await startTrpcGateway();
  t.after(() => g.stop());
  assert.equal(g.gw.config.audit.retentionMs, 365 * 86_400_000);
  const old = new Date(Date.now() - 400 * 86_400_000);
  const { audit } = g.gw.control;
  for (let i = 0; i < 2500; i++)
    await audit.record({
      actor: 'loopback',
      action: 'gateway.drain',
      target: `old-${i}`,
      outcome: 'ok',
      at: old,
    });
  await audit.record({ actor: 'loopback', action: 'gateway.drain', target: 'recent', outcome: 'ok' });
  const before = (await audit.list({ since: new Date(Date.now() - 86_400_000), limit: 1000 })).length;
  assert.equal(await pruneAudit(g.gw), 2500);
  const left = await audit.list({ limit: 1000 });
  assert.equal(left.length, before, JSON.stringify(left.map((e) => [e.action, e.target, e.at])));
  assert.ok(left.some((e) => e.target === 'recent'));
  assert.ok(left.every((e) => e.at.getTime() > old.getTime()));
  assert.match(g.logText(), /audit: removed 2500 entries older than audit\.retention/);
  assert.equal(await pruneAudit(g.gw), 0);
});

test('a summary names its 100 largest kinds and counts the rest as (others): a spray of 5,000 user names is 101 entries', async () => {
  const { mostOf } = await import('../../src/ops/audit-limit.ts');
  const few = { 'console:alice': 3, 'console:bob': 1 };
  assert.deepEqual(mostOf(few), few, 'up to 100 kinds, all named');
  const spray: Record<string, number> = { 'console:admin': 40 };
  for (let i = 0; i < 5000; i++) spray[`console:u${i}`] = i < 99 ? 2 : 1;
  const kept = mostOf(spray);
  assert.equal(Object.keys(kept).length, 101);
  assert.equal(kept['console:admin'], 40, 'the largest kept');
  assert.equal(kept['console:u98'], 2);
  assert.equal(kept['(others)'], 5000 - 99);
  const total = (t: Record<string, number>) => Object.values(t).reduce((a, b) => a + b, 0);
  assert.equal(total(kept), total(spray), 'nothing uncounted');
});
