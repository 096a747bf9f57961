import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type {
  AuditPage,
  DrainStatus,
  MetricsHistory,
  QuotaExplanation,
  QuotaView,
  SignedIn,
  UsageView,
} from '@claudefs/api';
import { getMetrics } from '../../src/ops/metrics/index.ts';
import { signInThrottle } from '../../src/ops/trpc/session.ts';
import { isFsError } from '../../src/storage/errors.ts';
import type { Credential } from '../../src/storage/types.ts';
import { sampleValue, scrape } from '../metrics/fixture.ts';
import { cookieOf, signIn, startTrpcGateway, type TrpcGateway, trpc } from './fixture.ts';

const PASSWORDS = {
  olivia: 'olivia-Operator-pw-7',
  vera: 'vera-Viewer-pw-3',
  ada: 'ada-Admin-pw-9',
  nora: 'nora-NoRole-pw-5',
};

describe('the console API on /trpc of a running gateway', () => {
  let g: TrpcGateway;
  let q: (path: string, input?: unknown, cookie?: string) => ReturnType<typeof trpc>;
  let m: (path: string, input?: unknown, cookie?: string, csrf?: boolean) => ReturnType<typeof trpc>;
  /** Every secret this test handles; none may reach the log. */
  const secrets: string[] = Object.values(PASSWORDS);
  let operator: string;

  const audits = async (action: string) =>
    (await g.gw.control.audit.list({ action })).map((e) => [e.actor, e.outcome]);

  before(async () => {
    g = await startTrpcGateway();
    q = (path, input, cookie) => trpc(g.base, 'query', path, input, cookie ? { cookie } : {});
    m = (path, input, cookie, csrf = true) =>
      trpc(g.base, 'mutation', path, input, { csrf, ...(cookie ? { cookie } : {}) });
    const { users } = g.gw.control;
    await users.add({ name: 'olivia', role: 'operator', password: PASSWORDS.olivia });
    await users.add({ name: 'vera', role: 'viewer', password: PASSWORDS.vera });
    await users.add({ name: 'ada', role: 'admin', password: PASSWORDS.ada });
    await users.add({ name: 'nora', password: PASSWORDS.nora });
    secrets.push(process.env.CFS_ADMIN_PASSWORD ?? '');
  });
  after(() => g.stop());

  test('1 sign-in sets cfs_session: HttpOnly, SameSite=Strict, Path=/, Max-Age; the body holds no credential', async () => {
    const r = await m('auth.signIn', { user: 'olivia', password: PASSWORDS.olivia });
    assert.equal(r.status, 200, r.error?.message);
    assert.equal(r.setCookies.length, 1);
    const cookie = r.setCookies[0]!;
    assert.match(cookie, /^cfs_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=1800$/);
    operator = cookieOf(cookie);
    secrets.push(operator.slice('cfs_session='.length));
    const body = r.data as SignedIn;
    assert.deepEqual([body.user, body.role], ['olivia', 'operator']);
    assert.ok(Math.abs(Date.parse(body.expiresAt) - Date.now() - 1_800_000) < 60_000);
    assert.doesNotMatch(JSON.stringify(body), new RegExp(operator.slice(12)));
    assert.deepEqual(await audits('console.signin'), [['console:olivia', 'ok']]);
  });

  test('2 a query works with the cookie and pushes the idle expiry back; without one it is UNAUTHORIZED', async () => {
    const row = async () =>
      (await g.gw.control.prisma.consoleSession.findMany({ where: { user: { name: 'olivia' } } }))[0];
    const before = (await row())!.expiresAt.getTime();
    await new Promise((r) => setTimeout(r, 20));
    const r = await q('drain.status', undefined, operator);
    assert.equal(r.status, 200, r.error?.message);
    assert.equal((r.data as DrainStatus).state, 'serving');
    assert.match(r.setCookies[0] ?? '', /Max-Age=1800/);
    assert.ok((await row())!.expiresAt.getTime() > before, 'sliding idle expiry');

    const anonymous = await q('drain.status');
    assert.equal(anonymous.status, 401, 'loopback is not trusted: the console proxy calls from loopback');
    assert.equal(anonymous.error?.data.code, 'UNAUTHORIZED');
    assert.equal((await q('auth.session', undefined, operator)).data && true, true);
  });

  test('3 batched calls, as the console’s httpBatchLink sends them, work', async () => {
    const input = encodeURIComponent(JSON.stringify({ 0: {}, 1: { window: '15m' } }));
    const res = await fetch(`${g.base}/trpc/auth.session,metrics.history?batch=1&input=${input}`, {
      headers: { cookie: operator },
    });
    assert.equal(res.status, 200);
    const [session, history] = (await res.json()) as Array<{ result: { data: Record<string, unknown> } }>;
    assert.equal(session?.result.data.user, 'olivia');
    assert.equal(typeof history?.result.data.intervalSeconds, 'number');
  });

  test('4 a mutation without x-cfs-csrf is refused (FORBIDDEN), not done, and audited as denied', async () => {
    const r = await m('drain.drain', undefined, operator, false);
    assert.equal(r.status, 403);
    assert.match(r.error?.message ?? '', /x-cfs-csrf: 1/);
    assert.equal(g.gw.draining, false);
    assert.deepEqual(await audits('gateway.drain'), [['console:olivia', 'denied']]);
    const signInNoHeader = await m(
      'auth.signIn',
      { user: 'olivia', password: PASSWORDS.olivia },
      undefined,
      false,
    );
    assert.equal(signInNoHeader.status, 403);
    assert.deepEqual(signInNoHeader.setCookies, [], 'no cookie is set without the header');
  });

  test('5 drain and undrain through tRPC change gw.draining; audited as console:olivia', async () => {
    const drained = await m('drain.drain', undefined, operator);
    assert.equal(drained.status, 200, drained.error?.message);
    assert.equal((drained.data as DrainStatus).draining, true);
    assert.equal(g.gw.draining, true);
    const undrained = await m('drain.undrain', undefined, operator);
    assert.equal((undrained.data as DrainStatus).state, 'serving');
    assert.equal(g.gw.draining, false);
    assert.deepEqual((await audits('gateway.drain'))[0], ['console:olivia', 'ok']);
    assert.deepEqual(await audits('gateway.undrain'), [['console:olivia', 'ok']]);
  });

  test('6 a viewer’s drain is FORBIDDEN and audited as denied', async () => {
    const viewer = await signIn(g.base, 'vera', PASSWORDS.vera);
    secrets.push(viewer.slice(12));
    assert.equal((await q('metrics.snapshot', undefined, viewer)).status, 200, 'a viewer reads');
    const r = await m('drain.drain', undefined, viewer);
    assert.equal(r.status, 403);
    assert.equal(r.error?.data.code, 'FORBIDDEN');
    assert.equal(g.gw.draining, false);
    assert.deepEqual((await audits('gateway.drain'))[0], ['console:vera', 'denied']);
  });

  test('7 a quota set through tRPC is in the control plane and enforced: EDQUOT within 1 s', async () => {
    const admin = await signIn(g.base, 'ada', PASSWORDS.ada);
    secrets.push(admin.slice(12));
    const dir = await g.gw.ns.ensureDirectory('/quota-test', 0o777);
    const user: Credential = { uid: 2001, gid: 2001, gids: [] };
    const file = await g.gw.ns.create(user, dir.ino, 'f', 0o644);

    const set = await m('quotas.set', { uid: 2001, soft: '500B', hard: '1KB' }, admin);
    const setAt = performance.now();
    assert.equal(set.status, 200, set.error?.message);
    const view = set.data as QuotaView;
    assert.deepEqual([view.bytes.softText, view.bytes.hardText, view.state], ['500B', '1KB', 'ok']);
    const stored = (await g.gw.control.quotas.list()).find((x) => x.kind === 'uid' && x.subjectId === 2001);
    assert.deepEqual([stored?.hardBytes, stored?.hardUnit, stored?.softBytes], [1000n, 'KB', 500n]);

    await g.gw.ns.write(user, file.ino, 0n, Buffer.alloc(1000, 1)); // up to the hard limit is allowed
    let refused = false;
    while (!refused && performance.now() - setAt < 1000) {
      try {
        await g.gw.ns.write(user, file.ino, 1000n, Buffer.from('x'));
      } catch (e) {
        assert.ok(isFsError(e, 'EDQUOT'), String(e));
        refused = true;
      }
    }
    assert.ok(refused, 'a write past the hard limit is refused within 1 s of quotas.set');

    const why = await q('quotas.explain', { uid: 2001 }, admin);
    const explanation = why.data as QuotaExplanation;
    assert.equal(explanation.blocked, true);
    assert.equal(explanation.subjects[0]?.bytes.limitKind, 'hard');
    assert.match(explanation.subjects[0]?.bytes.arithmetic ?? '', /usage 1KB \+ 1 byte > hard 1KB/);
    assert.match(explanation.summary, /Writes are refused/);
    assert.deepEqual(await audits('quota.set'), [['console:ada', 'ok']]);

    const list = await q('quotas.list', undefined, operator);
    assert.equal((list.data as QuotaView[]).find((x) => x.id === 2001)?.state, 'over hard');

    // Who uses the space: uid 2001 with its 1000 bytes and its quota; root owning the folder.
    const usage = await q('quotas.usage', { kind: 'uid' }, operator);
    assert.equal(usage.status, 200, usage.error?.message);
    const rows = usage.data as UsageView[];
    const u2001 = rows.find((x) => x.id === 2001);
    assert.deepEqual(
      [u2001?.used.bytes, u2001?.used.inodes, u2001?.quota?.state],
      ['1000', '1', 'over hard'],
    );
    assert.ok(
      rows.some((x) => x.id === 0 && x.quota === null),
      'an owner without a quota is listed',
    );
    const bad = await q('quotas.usage', { kind: 'project' }, operator);
    assert.equal(bad.status, 400);
  });

  test('8 bad input is BAD_REQUEST with zod’s message; an oversized body is 413', async () => {
    const admin = await signIn(g.base, 'ada', PASSWORDS.ada);
    const r = await m('quotas.set', { uid: 2002, soft: '30GB', hard: '20GB' }, admin);
    assert.equal(r.status, 400);
    assert.equal(r.error?.data.code, 'BAD_REQUEST');
    assert.match(r.error?.message ?? '', /soft limit 30GB is above hard limit 20GB/);
    assert.equal(await g.gw.control.quotas.get('uid', 2002), null);
    const stored = await m('quotas.set', { uid: 2001, soft: '2KB' }, admin);
    assert.equal(stored.status, 400, 'soft above the stored hard limit is refused by the gateway');
    // 0 is no limit, as ./cfs quota and setquota read it: not a limit nothing fits under.
    const zero = await m('quotas.set', { uid: 2003, hard: '1GB', hardInodes: 0, softInodes: 0 }, admin);
    assert.equal(zero.status, 200, zero.error?.message);
    const q0 = await g.gw.control.quotas.get('uid', 2003);
    assert.deepEqual([q0?.hardBytes, q0?.hardInodes, q0?.softInodes], [10n ** 9n, null, null]);
    const cleared = await m('quotas.set', { uid: 2003, hard: '0' }, admin);
    assert.equal(cleared.status, 200, cleared.error?.message);
    assert.equal((await g.gw.control.quotas.get('uid', 2003))?.hardBytes ?? null, null);
    const big = await trpc(g.base, 'mutation', 'cache.invalidate', undefined, {
      cookie: operator,
      rawBody: JSON.stringify({ scope: 'path', path: `/${'x'.repeat(100_000)}` }),
    });
    assert.equal(big.status, 413);
  });

  test('9 metrics history returns the sampled points, for 15 min and 1 h', async () => {
    const metrics = getMetrics(g.gw);
    metrics.sample(Date.now());
    metrics.sample(Date.now() + 1);
    for (const window of ['15m', '1h']) {
      const r = await q('metrics.history', { window }, operator);
      assert.equal(r.status, 200, r.error?.message);
      const h = r.data as MetricsHistory;
      assert.ok(h.points.length >= 2, `${window}: ${h.points.length} points`);
      assert.equal(typeof h.points.at(-1)?.protocols.s3.requestsPerSec, 'number');
    }
  });

  test('10 cache invalidation reports counts and hit ratios; circuits reset; connections list', async () => {
    const r = await m('cache.invalidate', { scope: 'all' }, operator);
    assert.equal(r.status, 200, r.error?.message);
    const body = r.data as { scope: string; dropped: { total: number } };
    assert.equal(body.scope, 'all');
    assert.equal(typeof body.dropped.total, 'number');
    const missing = await m('cache.invalidate', { scope: 'path', path: '/no/such/dir' }, operator);
    assert.equal(missing.error?.data.code, 'NOT_FOUND');
    const reset = await m('circuits.reset', { backend: 'metadata' }, operator);
    assert.equal((reset.data as { state: string }).state, 'closed');
    assert.equal((await q('connections.list', undefined, operator)).status, 200);
  });

  test('11 an admin token authenticates as token:<name>; a bad one is UNAUTHORIZED', async () => {
    const { token } = await g.gw.control.adminTokens.create('ci', 'operator');
    secrets.push(token);
    const ok = await trpc(g.base, 'mutation', 'circuits.reset', { backend: 'transport' }, { token });
    assert.equal(ok.status, 200, ok.error?.message);
    assert.deepEqual(await audits('circuits.reset'), [
      ['token:ci', 'ok'],
      ['console:olivia', 'ok'],
    ]);
    const bad = await trpc(g.base, 'query', 'drain.status', undefined, { token: 'cfs_nope' });
    assert.equal(bad.status, 401);
    assert.match(bad.error?.message ?? '', /invalid or revoked admin token/);
  });

  test('12 keys: the secret is shown once, at creation', async () => {
    const admin = await signIn(g.base, 'ada', PASSWORDS.ada);
    const created = await m('keys.create', { user: 'olivia' }, admin);
    assert.equal(created.status, 200, created.error?.message);
    const key = created.data as { accessKeyId: string; secret: string };
    secrets.push(key.secret);
    const listed = await q('keys.list', { user: 'olivia' }, admin);
    assert.doesNotMatch(JSON.stringify(listed.data), new RegExp(key.secret.replace(/[+/=]/g, '.')));
    const revoked = await m('keys.revoke', { accessKeyId: key.accessKeyId }, admin);
    assert.equal((revoked.data as { status: string }).status, 'inactive');
    assert.equal(await g.gw.control.s3Keys.lookup(key.accessKeyId), null);
  });

  test('13 wrong password, unknown user, user without a role: the same UNAUTHORIZED, no cookie', async () => {
    const attempts = [
      { user: 'olivia', password: 'not-her-password' },
      { user: 'nobody', password: PASSWORDS.olivia },
      { user: 'nora', password: PASSWORDS.nora },
    ];
    const replies = [];
    for (const a of attempts) replies.push(await m('auth.signIn', a));
    for (const r of replies) {
      assert.equal(r.status, 401);
      assert.equal(r.error?.message, 'wrong user name or password');
      assert.deepEqual(r.setCookies, []);
    }
    assert.deepEqual(
      (await g.gw.control.audit.list({ action: 'console.signin', outcome: 'denied', limit: 3 })).map(
        (e) => e.target,
      ),
      ['user:nora', 'user:nobody', 'user:olivia'],
    );
  });

  test('13b five wrong passwords in a row: the sixth sign-in, even a right one, is 429 unchecked and unaudited; it works again after 1 s', async () => {
    const veraEntries = async () =>
      (await g.gw.control.audit.list({ action: 'console.signin', limit: 500 })).filter(
        (e) => e.target === 'user:vera',
      ).length;
    const before = await veraEntries();
    for (let i = 0; i < 5; i++) {
      const r = await m('auth.signIn', { user: 'vera', password: `guess-${i}-not-it` });
      assert.equal(r.status, 401);
    }
    const refused = await m('auth.signIn', { user: 'vera', password: PASSWORDS.vera });
    assert.equal(refused.status, 429);
    assert.match(refused.error?.message ?? '', /^too many wrong passwords; try again in 1 s$/);
    assert.deepEqual(refused.setCookies, []);
    assert.equal((await veraEntries()) - before, 5, 'the 429 is not audited');
    const warned = g.logText().match(/console sign-in: 5 wrong passwords in a row from [^;]*127\.0\.0\.1;/g);
    assert.equal(warned?.length, 1, g.logText().slice(-2000));
    // Other users from this address are not slowed down.
    assert.equal((await m('auth.signIn', { user: 'olivia', password: PASSWORDS.olivia })).status, 200);
    await new Promise((r) => setTimeout(r, 1100));
    const again = await m('auth.signIn', { user: 'vera', password: PASSWORDS.vera });
    assert.equal(again.status, 200, again.error?.message);
    assert.equal(signInThrottle(g.gw).failuresOf('127.0.0.1', 'vera'), 0);
  });

  test('13c a flood of sign-ins checks one password at a time; those past the queue are 429 at once, not audited', async () => {
    const throttle = signInThrottle(g.gw);
    const before = (await g.gw.control.audit.list({ action: 'console.signin', limit: 500 })).length;
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        m('auth.signIn', { user: `flood-${i}`, password: 'not-a-password' }),
      ),
    );
    const statuses = replies.map((r) => r.status);
    assert.ok(
      statuses.every((s) => s === 401 || s === 429),
      statuses.join(' '),
    );
    const busy = replies.filter((r) => r.status === 429);
    assert.ok(busy.length > 0, statuses.join(' '));
    for (const r of busy) assert.equal(r.error?.message, 'too many sign-ins at once; try again in a second');
    assert.equal(throttle.peakConcurrent, 1);
    const after = (await g.gw.control.audit.list({ action: 'console.signin', limit: 500 })).length;
    assert.equal(after - before, statuses.filter((s) => s === 401).length);
    // Counted where an operator's alert can see them (13b's refusal is the one for failures).
    const { samples } = await scrape(g.base);
    assert.equal(
      sampleValue(samples, 'gateway_console_signins_refused_total', { reason: 'busy' }),
      busy.length,
    );
    assert.equal(sampleValue(samples, 'gateway_console_signins_refused_total', { reason: 'failures' }), 1);
  });

  test('14 the audit log is readable through tRPC, filtered and paged', async () => {
    const first = await q('audit.list', { actor: 'console:olivia', limit: 2 }, operator);
    const page = first.data as AuditPage;
    assert.equal(page.entries.length, 2);
    assert.ok(page.entries.every((e) => e.actor === 'console:olivia'));
    assert.notEqual(page.nextBeforeId, null);
    const next = await q(
      'audit.list',
      { actor: 'console:olivia', limit: 2, beforeId: page.nextBeforeId },
      operator,
    );
    assert.ok((next.data as AuditPage).entries.every((e) => e.id < page.nextBeforeId!));
    const denied = await q('audit.list', { outcome: 'denied', action: 'gateway.drain' }, operator);
    assert.deepEqual(
      (denied.data as AuditPage).entries.map((e) => e.actor),
      ['console:vera', 'console:olivia'],
    );
  });

  test('15 sign-out ends the session: the cookie is cleared and no longer works', async () => {
    const r = await m('auth.signOut', undefined, operator);
    assert.equal(r.status, 200, r.error?.message);
    assert.match(r.setCookies[0] ?? '', /^cfs_session=; HttpOnly; SameSite=Strict; Path=\/; Max-Age=0$/);
    const after = await q('drain.status', undefined, operator);
    assert.equal(after.status, 401);
    assert.match(after.error?.message ?? '', /expired or was ended/);
    assert.match(after.setCookies[0] ?? '', /Max-Age=0/);
  });

  test('16 behind HTTPS (the console proxy’s x-forwarded-proto) the cookie is also Secure', async () => {
    const res = await fetch(`${g.base}/trpc/auth.signIn`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-cfs-csrf': '1', 'x-forwarded-proto': 'https' },
      body: JSON.stringify({ user: 'vera', password: PASSWORDS.vera }),
    });
    assert.equal(res.status, 200);
    const cookie = res.headers.getSetCookie()[0] ?? '';
    assert.match(cookie, /; HttpOnly; SameSite=Strict; Path=\/; Max-Age=1800; Secure$/);
    secrets.push(cookieOf(cookie).slice(12));
  });

  test('17 no password, secret, token or cookie value appears in the gateway log', () => {
    const text = g.logText();
    assert.match(text, /console sign-in: olivia/, 'the log was captured');
    for (const s of secrets) {
      assert.ok(s.length >= 8);
      assert.equal(text.includes(s), false, `log contains a secret (${s.slice(0, 3)}…)`);
    }
  });
});
