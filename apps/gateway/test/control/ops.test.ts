import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AuditOutcome } from '../../src/control/index.ts';
import { CONTROL_STORES, useFreshControlPlane } from './helpers.ts';

for (const store of CONTROL_STORES) {
  describe(`control plane on ${store.name}`, store.options, () => {
    const cp = useFreshControlPlane(store);

    test('audit log: who, what, when and outcome; newest first; filters; secrets in detail redacted', async () => {
      await cp.audit.record({ actor: 'loopback', action: 'user.add', target: 'alice', outcome: 'ok' });
      await cp.audit.record({
        actor: 'ci',
        action: 'user.password',
        target: 'alice',
        outcome: 'denied',
        detail: { password: 'hunter2', reason: 'role viewer', nested: { secretKey: 'x', size: 10n } },
        remoteAddr: '192.0.2.7',
      });
      await cp.audit.record({ actor: 'ci', action: 's3key.create', target: 'alice', outcome: 'error' });

      const all = await cp.audit.list();
      assert.deepEqual(
        all.map((e) => e.action),
        ['s3key.create', 'user.password', 'user.add'],
      );
      const denied = await cp.audit.list({ outcome: 'denied' });
      assert.equal(denied.length, 1);
      assert.deepEqual(denied[0]?.detail, {
        password: '[redacted]',
        reason: 'role viewer',
        nested: { secretKey: '[redacted]', size: '10' },
      });
      assert.equal(denied[0]?.remoteAddr, '192.0.2.7');
      assert.ok(denied[0]?.at instanceof Date);
      const raw = await cp.prisma.auditLog.findMany();
      assert.ok(raw.every((r) => !r.detail?.includes('hunter2')));

      assert.equal((await cp.audit.list({ actor: 'ci' })).length, 2);
      assert.equal((await cp.audit.list({ limit: 1 })).length, 1);
      const page2 = await cp.audit.list({ beforeId: all[0]!.id, limit: 10 });
      assert.deepEqual(
        page2.map((e) => e.action),
        ['user.password', 'user.add'],
      );
      assert.equal((await cp.audit.list({ since: new Date(Date.now() + 60_000) })).length, 0);
      assert.equal(await cp.audit.prune(new Date(Date.now() + 60_000)), 3);
      const outcome = 'maybe' as AuditOutcome;
      await assert.rejects(cp.audit.record({ actor: 'a', action: 'b', target: 'c', outcome }));
    });

    test('console sessions: cookie shown once, resolves to the user and role, expire and revoke', async () => {
      await cp.users.add({ name: 'ops', role: 'operator' });
      const s = await cp.sessions.create('ops', 60_000);
      assert.deepEqual(await cp.sessions.resolve(s.cookie), { name: 'ops', uid: 1000, role: 'operator' });
      const rows = await cp.prisma.consoleSession.findMany();
      assert.ok(rows.every((r) => r.id !== s.cookie && r.id.length === 64));

      await cp.users.setRole('ops', null);
      assert.equal(await cp.sessions.resolve(s.cookie), null, 'losing the role ends console access');
      await cp.users.setRole('ops', 'viewer');
      assert.equal((await cp.sessions.resolve(s.cookie))?.role, 'viewer');

      await cp.sessions.revoke(s.cookie);
      assert.equal(await cp.sessions.resolve(s.cookie), null);
      const short = await cp.sessions.create('ops', -1);
      assert.equal(await cp.sessions.resolve(short.cookie), null, 'expired');
      assert.equal(await cp.sessions.purgeExpired(), 1);

      // A password change ends the user's other sessions; the changer's own can be kept.
      const [a, b, c] = [
        await cp.sessions.create('ops', 60_000),
        await cp.sessions.create('ops', 60_000),
        await cp.sessions.create('ops', 60_000),
      ];
      await cp.users.add({ name: 'other', role: 'viewer' });
      const theirs = await cp.sessions.create('other', 60_000);
      assert.equal(await cp.sessions.revokeUser('ops', b.cookie), 2);
      assert.equal(await cp.sessions.resolve(a.cookie), null);
      assert.equal((await cp.sessions.resolve(b.cookie))?.name, 'ops', 'the kept one');
      assert.equal(await cp.sessions.resolve(c.cookie), null);
      assert.equal((await cp.sessions.resolve(theirs.cookie))?.name, 'other', 'another user’s is untouched');
      assert.equal(await cp.sessions.revokeUser('ops'), 1);
      assert.equal(await cp.sessions.resolve(b.cookie), null);
    });
  });
}
