import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TRPCError } from '@trpc/server';
import { createCaller, SIGN_IN_REFUSED, sizeBytes } from '../src/index.ts';
import { context, fakeControl, fakeTransport } from './fake-control.ts';

function rejectsWith(code: TRPCError['code'], message?: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof TRPCError, String(e));
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return true;
  };
}

describe('input validation: refused as BAD_REQUEST with zod’s message, before the gateway is asked', () => {
  const rows: Array<[name: string, path: 'quotas.set' | 'other', input: unknown, message: RegExp]> = [
    [
      'soft above hard',
      'quotas.set',
      { uid: 1000, soft: '30GB', hard: '20GB' },
      /soft limit 30GB is above hard limit 20GB/,
    ],
    [
      'soft above hard across units',
      'quotas.set',
      { uid: 1000, soft: '1GiB', hard: '1GB' },
      /above hard limit/,
    ],
    [
      'soft inodes above hard inodes',
      'quotas.set',
      { gid: 1500, softInodes: 10, hardInodes: 5 },
      /soft inode limit/,
    ],
    ['a size with no number', 'quotas.set', { uid: 1000, hard: 'lots' }, /'lots' is not a size/],
    ['an unknown unit', 'quotas.set', { uid: 1000, hard: '20GBs' }, /unknown unit 'GBs'/],
    ['a negative size', 'quotas.set', { uid: 1000, hard: '-5GB' }, /not a size/],
    ['a fraction of a byte', 'quotas.set', { uid: 1000, hard: '1.5B' }, /whole number of bytes/],
    ['a size as a number', 'quotas.set', { uid: 1000, hard: 20 }, /expected string/],
    ['a negative uid', 'quotas.set', { uid: -1, hard: '1GB' }, /uid must be 0 or more/],
    ['a fractional uid', 'quotas.set', { uid: 1.5, hard: '1GB' }, /uid must be a whole number/],
    ['a uid past 2^31-2', 'quotas.set', { uid: 2 ** 31, hard: '1GB' }, /uid must be at most 2147483646/],
    ['a uid as text', 'quotas.set', { uid: '1000', hard: '1GB' }, /uid must be a number/],
    ['uid and gid at once', 'quotas.set', { uid: 1000, gid: 1000, hard: '1GB' }, /exactly one of uid or gid/],
    ['nothing to set', 'quotas.set', { uid: 1000 }, /nothing to set/],
    ['a grace without unit', 'quotas.set', { uid: 1000, grace: '7' }, /needs a number and a unit/],
  ];
  let n = 0;
  for (const [name, , input, message] of rows) {
    n++;
    test(`${n} quotas.set: ${name}`, async () => {
      const control = fakeControl();
      const caller = createCaller(context('admin', control));
      await assert.rejects(caller.quotas.set(input as never), rejectsWith('BAD_REQUEST', message));
      assert.equal(control.argsOf('setQuota').length, 0);
      const [entry] = control.audits;
      assert.equal(entry?.outcome, 'error', 'a refused change is audited too');
    });
  }

  test(`${++n} the message is zod's, readable, not a JSON dump`, async () => {
    const caller = createCaller(context('admin', fakeControl()));
    await assert.rejects(caller.quotas.set({ uid: -1, hard: '1GB' }), (e: unknown) => {
      assert.ok(e instanceof TRPCError);
      assert.doesNotMatch(e.message, /^\s*\[/);
      assert.match(e.message, /→ at uid/);
      return true;
    });
  });

  const others: Array<[string, (c: ReturnType<typeof createCaller>) => Promise<unknown>, RegExp]> = [
    ['metrics.history window 5m', (c) => c.metrics.history({ window: '5m' as never }), /window/],
    ['quotas.get with a bad gid', (c) => c.quotas.get({ gid: -3 }), /gid must be 0 or more/],
    ['quotas.explain with neither', (c) => c.quotas.explain({}), /give a uid, a gid or both/],
    [
      'cache.invalidate a relative path',
      (c) => c.cache.invalidate({ scope: 'path', path: 'x/y' }),
      /absolute/,
    ],
    [
      'cache.invalidate a bad uid',
      (c) => c.cache.invalidate({ scope: 'uid', uid: -1 }),
      /uid must be 0 or more/,
    ],
    [
      'connections.releaseLocks without a client',
      (c) => c.connections.releaseLocks({ client: '  ' }),
      /name the NFS client/,
    ],
    [
      'connections.closeSmbFile with a bad FileId',
      (c) => c.connections.closeSmbFile({ session: '0x1', fileId: '5' }),
      /a FileId as 0x/,
    ],
    ['users.add an uppercase name', (c) => c.users.add({ name: 'Alice' }), /user name must be lowercase/],
    ['users.setRole an unknown role', (c) => c.users.setRole({ name: 'bob', role: 'root' as never }), /role/],
    [
      'users.setPassword an empty password',
      (c) => c.users.setPassword({ name: 'bob', password: '' }),
      /at least 8 characters/,
    ],
    [
      'users.add with a 7-character password',
      (c) => c.users.add({ name: 'bob', role: 'viewer', password: 'abc1234' }),
      /password must be at least 8 characters/,
    ],
    ['certs.upload text that is not PEM', (c) => c.certs.upload({ cert: 'hello', key: 'x' }), /PEM/],
    [
      'audit.list since after until',
      (c) => c.audit.list({ since: '2024-02-01T00:00:00Z', until: '2024-01-01T00:00:00Z' }),
      /since/,
    ],
  ];
  for (const [name, call, message] of others) {
    test(`${++n} ${name}`, async () => {
      await assert.rejects(
        call(createCaller(context('admin', fakeControl()))),
        rejectsWith('BAD_REQUEST', message),
      );
    });
  }
});

describe('what the router hands the gateway', () => {
  test('1 quotas.set passes the sizes as typed, only the fields given, null to remove', async () => {
    const control = fakeControl();
    const caller = createCaller(context('admin', control));
    await caller.quotas.set({ uid: 1000, soft: '20GB', hard: '25GB', grace: '7d' });
    await caller.quotas.set({ gid: 1500, hard: null, hardInodes: 10_000 });
    assert.deepEqual(control.argsOf('setQuota'), [
      [{ kind: 'uid', id: 1000, soft: '20GB', hard: '25GB', grace: '7d' }],
      [{ kind: 'gid', id: 1500, hard: null, hardInodes: 10_000 }],
    ]);
    assert.deepEqual(
      control.audits.map((a) => [a.action, a.target, a.detail]),
      [
        ['quota.set', 'uid=1000', { soft: '20GB', hard: '25GB', grace: '7d' }],
        ['quota.set', 'gid=1500', { hard: null, hardInodes: 10_000 }],
      ],
    );
  });

  test('2 quotas.get/remove/explain name their subject; explain takes a uid with or without gid', async () => {
    const control = fakeControl();
    const caller = createCaller(context('admin', control));
    await caller.quotas.get({ gid: 1500 });
    await caller.quotas.remove({ uid: 1000 });
    await caller.quotas.explain({ uid: 1000 });
    await caller.quotas.explain({ uid: 1000, gid: 2000 });
    assert.deepEqual(control.argsOf('getQuota'), [['gid', 1500]]);
    assert.deepEqual(control.argsOf('removeQuota'), [['uid', 1000]]);
    assert.deepEqual(control.argsOf('explainQuota'), [[{ uid: 1000 }], [{ uid: 1000, gid: 2000 }]]);
  });

  test('3 metrics windows are 15 min (default) and 1 h', async () => {
    const control = fakeControl();
    const caller = createCaller(context('viewer', control));
    await caller.metrics.history({});
    await caller.metrics.history({ window: '1h' });
    assert.deepEqual(control.argsOf('metricsHistory'), [[900], [3600]]);
  });

  test('4 cache.invalidate scopes: all, a path, a uid', async () => {
    const control = fakeControl();
    const caller = createCaller(context('operator', control));
    await caller.cache.invalidate({ scope: 'all' });
    await caller.cache.invalidate({ scope: 'path', path: '/export/a' });
    await caller.cache.invalidate({ scope: 'uid', uid: 1000 });
    assert.deepEqual(control.argsOf('invalidateCache'), [
      [{ scope: 'all' }],
      [{ scope: 'path', path: '/export/a' }],
      [{ scope: 'uid', uid: 1000 }],
    ]);
    assert.deepEqual(
      control.audits.map((a) => a.target),
      ['all', 'path:/export/a', 'uid=1000'],
    );
  });

  test('5 keys.create returns the secret once; the audit entry does not hold it', async () => {
    const control = fakeControl();
    const key = await createCaller(context('admin', control)).keys.create({ user: 'alice' });
    assert.equal(key.secret, 'fake-secret-0123456789abcdef');
    assert.doesNotMatch(JSON.stringify(control.audits), /fake-secret/);
  });

  test('6 no password reaches an audit entry (users.add, users.setPassword, auth.signIn)', async () => {
    const control = fakeControl();
    const admin = createCaller(context('admin', control, fakeTransport()));
    await admin.users.add({ name: 'bob', password: 'bob-Secret-1' });
    await admin.users.setPassword({ name: 'bob', password: 'bob-Secret-2' });
    const anon = createCaller(context('anonymous', control, fakeTransport()));
    await assert.rejects(anon.auth.signIn({ user: 'alice', password: 'bob-Secret-3' }));
    await anon.auth.signIn({ user: 'alice', password: 'right-password' });
    assert.equal(control.audits.length, 4);
    const text = JSON.stringify(control.audits);
    assert.doesNotMatch(text, /bob-Secret|right-password|CREDENTIAL-VALUE/);
    assert.deepEqual(control.audits[0]?.detail, { name: 'bob', password: 'set' });
  });

  test('7 a token caller is audited as token:<name>; the gateway’s errors pass through, audited', async () => {
    const control = fakeControl({
      removeUser: () => Promise.reject(new TRPCError({ code: 'NOT_FOUND', message: 'user zed not found' })),
    });
    const caller = createCaller({ control, session: { user: 'ci', role: 'admin', via: 'token' } });
    await assert.rejects(caller.users.remove({ name: 'zed' }), rejectsWith('NOT_FOUND', /zed not found/));
    assert.deepEqual(
      control.audits.map((a) => [a.actor, a.action, a.target, a.outcome]),
      [['token:ci', 'user.remove', 'user:zed', 'error']],
    );
    assert.deepEqual(await caller.auth.session(), {
      user: 'ci',
      role: 'admin',
      via: 'token',
      actor: 'token:ci',
      expiresAt: null,
    });
  });

  test('7b a password change ends the user’s other sessions, keeping the changer’s own; an admin cannot disable, remove or demote themselves', async () => {
    const control = fakeControl();
    const admin = createCaller(context('admin', control, fakeTransport({ credential: 'ADA-COOKIE' })));
    await admin.users.setPassword({ name: 'bob', password: 'bob-Secret-2' });
    await admin.users.setPassword({ name: 'ada', password: 'ada-Secret-2' });
    assert.deepEqual(
      control.argsOf('setUserPassword').map(([name, , keep]) => [name, keep]),
      [
        ['bob', null],
        ['ada', 'ADA-COOKIE'],
      ],
    );
    await assert.rejects(
      admin.users.setDisabled({ name: 'ada', disabled: true }),
      rejectsWith('BAD_REQUEST', /cannot disable the account you are signed in with/),
    );
    await assert.rejects(
      admin.users.remove({ name: 'ada' }),
      rejectsWith('BAD_REQUEST', /cannot remove the account you are signed in with/),
    );
    await assert.rejects(
      admin.users.setRole({ name: 'ada', role: 'viewer' }),
      rejectsWith('BAD_REQUEST', /cannot change the role of the account you are signed in with/),
    );
    assert.equal(
      control.argsOf('removeUser').length + control.argsOf('setUserRole').length,
      0,
      'nothing asked',
    );
    const token = createCaller({
      control: fakeControl(),
      session: { user: 'ada', role: 'admin', via: 'token' },
    });
    await token.users.setRole({ name: 'ada', role: 'viewer' });
    assert.equal((await admin.users.setDisabled({ name: 'bob', disabled: true })).disabled, true);
    await admin.users.setDisabled({ name: 'bob', disabled: false });
    assert.deepEqual(control.argsOf('setUserDisabled'), [
      ['bob', true],
      ['bob', false],
    ]);
    assert.deepEqual(
      control.audits.slice(2).map((a) => [a.action, a.target, a.outcome]),
      [
        ['user.disable', 'user:ada', 'error'],
        ['user.remove', 'user:ada', 'error'],
        ['user.role', 'user:ada', 'error'],
        ['user.disable', 'user:bob', 'ok'],
        ['user.enable', 'user:bob', 'ok'],
      ],
    );
  });

  test("7c a reload is audited with what it changed; a refused one with the file's problems", async () => {
    const control = fakeControl();
    const r = await createCaller(context('operator', control)).config.reload();
    assert.deepEqual(
      r.applied.map((c) => c.setting),
      ['nfs.exports.0.access'],
    );
    const done = control.audits.at(-1)!;
    assert.deepEqual([done.action, done.target, done.outcome], ['gateway.config.reload', 'gateway', 'ok']);
    assert.deepEqual(done.detail, { result: { applied: r.applied, pendingRestart: r.pendingRestart } });

    const problem = '/etc/claudefs/gateway.yaml:2:12 log_level: must be one of debug, info, warn, error';
    const refusing = fakeControl({
      reloadConfig: () =>
        Promise.reject(new TRPCError({ code: 'BAD_REQUEST', message: `reload refused: ${problem}` })),
    });
    await assert.rejects(
      createCaller(context('operator', refusing)).config.reload(),
      rejectsWith('BAD_REQUEST', /gateway\.yaml:2:12 log_level/),
    );
    const refused = refusing.audits.at(-1)!;
    assert.equal(refused.outcome, 'error');
    assert.match(JSON.stringify(refused.detail), /log_level/);
  });

  test('8 an audit store that fails does not turn a done change into an error', async () => {
    const control = fakeControl({ recordAudit: () => Promise.reject(new Error('disk full')) });
    const status = await createCaller(context('operator', control)).drain.drain();
    assert.equal(status.draining, true);
  });
});

describe('CSRF: over HTTP a mutation needs x-cfs-csrf: 1', () => {
  test('1 a mutation without the header is FORBIDDEN, not done, and audited as denied', async () => {
    const control = fakeControl();
    const caller = createCaller(context('admin', control, fakeTransport({ csrf: false })));
    await assert.rejects(caller.drain.drain(), rejectsWith('FORBIDDEN', /x-cfs-csrf: 1/));
    assert.equal(control.argsOf('drain').length, 0);
    assert.deepEqual(
      control.audits.map((a) => [a.actor, a.action, a.outcome]),
      [['console:ada', 'gateway.drain', 'denied']],
    );
  });

  test('2 sign-in is held to the same rule: no cookie without the header', async () => {
    const control = fakeControl();
    const transport = fakeTransport({ csrf: false });
    const caller = createCaller(context('anonymous', control, transport));
    await assert.rejects(
      caller.auth.signIn({ user: 'alice', password: 'right-password' }),
      rejectsWith('FORBIDDEN'),
    );
    assert.equal(control.argsOf('signIn').length, 0);
    assert.equal(transport.issued.length, 0);
  });

  test('3 queries need no header', async () => {
    const caller = createCaller(context('viewer', fakeControl(), fakeTransport({ csrf: false })));
    assert.equal((await caller.drain.status()).state, 'serving');
  });

  test('4 an anonymous mutation is UNAUTHORIZED first, with the transport’s reason', async () => {
    const caller = createCaller(
      context(
        'anonymous',
        fakeControl(),
        fakeTransport({ csrf: false, authProblem: 'your session has expired' }),
      ),
    );
    await assert.rejects(caller.drain.drain(), rejectsWith('UNAUTHORIZED', /session has expired/));
  });
});

describe('sign-in, session, sign-out', () => {
  test('1 a good password issues the credential to the transport only; the body says who', async () => {
    const control = fakeControl();
    const transport = fakeTransport();
    const result = await createCaller(context('anonymous', control, transport)).auth.signIn({
      user: 'alice',
      password: 'right-password',
    });
    assert.deepEqual(result, { user: 'alice', role: 'operator', expiresAt: '2030-01-01T00:00:00.000Z' });
    assert.deepEqual(transport.issued, [
      { credential: 'CREDENTIAL-VALUE', expiresAt: '2030-01-01T00:00:00.000Z' },
    ]);
    assert.deepEqual(
      control.audits.map((a) => [a.actor, a.action, a.target, a.outcome]),
      [['console:alice', 'console.signin', 'user:alice', 'ok']],
    );
  });

  test('2 a wrong password and an unknown user get the same UNAUTHORIZED, audited as denied', async () => {
    const control = fakeControl();
    const transport = fakeTransport();
    const caller = createCaller(context('anonymous', control, transport));
    const messages: string[] = [];
    for (const attempt of [
      { user: 'alice', password: 'wrong' },
      { user: 'nobody', password: 'right-password' },
    ]) {
      await assert.rejects(caller.auth.signIn(attempt), (e: unknown) => {
        assert.ok(e instanceof TRPCError);
        assert.equal(e.code, 'UNAUTHORIZED');
        messages.push(e.message);
        return true;
      });
    }
    assert.deepEqual(messages, [SIGN_IN_REFUSED, SIGN_IN_REFUSED]);
    assert.equal(transport.issued.length, 0);
    assert.deepEqual(
      control.audits.map((a) => a.outcome),
      ['denied', 'denied'],
    );
  });

  test('3 sign-in needs the HTTP transport (the session is a cookie)', async () => {
    await assert.rejects(
      createCaller(context('anonymous', fakeControl())).auth.signIn({
        user: 'alice',
        password: 'right-password',
      }),
      rejectsWith('PRECONDITION_FAILED'),
    );
  });

  test('4 sign-out ends the session the cookie names and clears the cookie', async () => {
    const control = fakeControl();
    const transport = fakeTransport({ credential: 'COOKIE-1' });
    const caller = createCaller(context('operator', control, transport));
    assert.deepEqual(await caller.auth.signOut(), { signedOut: true });
    assert.deepEqual(control.argsOf('signOut'), [['COOKIE-1']]);
    assert.equal(transport.ended, 1);
  });

  test('5 auth.session is null when signed out, the caller when signed in', async () => {
    assert.equal(await createCaller(context('anonymous', fakeControl())).auth.session(), null);
    assert.deepEqual(await createCaller(context('viewer', fakeControl())).auth.session(), {
      user: 'val',
      role: 'viewer',
      via: 'console',
      actor: 'console:val',
      expiresAt: null,
    });
  });
});

describe('sizes as the console types them', () => {
  const rows: Array<[string, bigint | RegExp]> = [
    ['20GB', 20_000_000_000n],
    ['20gb', 20_000_000_000n],
    ['512MiB', 512n * 2n ** 20n],
    ['1.5TB', 1_500_000_000_000n],
    ['4096', 4096n],
    ['10 G', 10_000_000_000n],
    ['1.5B', /whole number/],
    ['9999999PB', /too large/],
    ['GB', /not a size/],
  ];
  let n = 0;
  for (const [text, want] of rows) {
    test(`${++n} ${text}`, () => {
      const got = sizeBytes(text);
      if (typeof want === 'bigint') assert.equal(got, want);
      else assert.match(String(got), want);
    });
  }
});

test('packages/api imports nothing of the gateway, the console or the UI', () => {
  const src = fileURLToPath(new URL('../src', import.meta.url));
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.ts')) files.push(join(dir, e.name));
    }
  };
  walk(src);
  assert.ok(files.length > 10);
  const allowed = /^(\.{1,2}\/(?!\.\.\/)|@trpc\/server$|zod$)/;
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
      const spec = m[1]!;
      assert.match(spec, allowed, `${file} imports ${spec}`);
      if (spec.startsWith('.')) {
        const target = join(file, '..', spec);
        assert.ok(target.startsWith(src), `${file} reaches outside packages/api/src: ${spec}`);
      }
    }
  }
});
