/**
 * The NTLMSSP/SPNEGO acceptor, driven end to end by the test's own NTLMv2 client
 * (ntlm-client.ts, written from MS-NLMP without the server's codecs).
 */
import { deepEqual, equal, match, ok, rejects } from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type AcceptorStep,
  AV,
  decodeAvPairs,
  decodeChallenge,
  fileTime,
  NTLM_MAX_LIFETIME_MS,
  NTLMSSP,
  NtlmAcceptor,
  type NtlmAcceptorOptions,
  type NtlmUserRecord,
  ReplayCache,
} from '../../src/protocols/smb/auth/index.ts';
import { type ClientOptions, der, ntHashOf, OIDS, parseNegTokenResp, TestNtlmClient } from './ntlm-client.ts';

const NOW = new Date('2025-03-14T15:09:26Z');
const USERS: Record<string, NtlmUserRecord & { password: string }> = {
  alice: {
    name: 'alice',
    password: 'Secret1!',
    ntHash: ntHashOf('Secret1!'),
    uid: 1001,
    gid: 1001,
    gids: [1001, 2000],
  },
  bob: {
    name: 'bob',
    password: 'Bob-pass',
    ntHash: ntHashOf('Bob-pass'),
    uid: 1002,
    gid: 1002,
    gids: [],
    disabled: true,
  },
};

function acceptor(over: Partial<NtlmAcceptorOptions> = {}): NtlmAcceptor {
  return new NtlmAcceptor({
    netbiosDomain: 'CLAUDEFS',
    serverName: 'GATEWAY',
    workgroup: 'WORKGRP',
    now: () => NOW,
    replayCache: new ReplayCache(NTLM_MAX_LIFETIME_MS),
    lookup: async (user) => {
      const u = USERS[user.toLowerCase()];
      return u === undefined ? null : { ...u };
    },
    ...over,
  });
}

function client(over: Partial<ClientOptions> = {}): TestNtlmClient {
  return new TestNtlmClient({ user: 'alice', password: 'Secret1!', domain: 'CLAUDEFS', ...over });
}

/** Runs the whole exchange; returns every step's result. */
async function logon(a: NtlmAcceptor, c: TestNtlmClient): Promise<AcceptorStep[]> {
  const steps: AcceptorStep[] = [];
  let r = await a.step(c.negotiate());
  steps.push(r);
  if (r.state !== 'continue') return steps;
  if (c.opts.kerberosFirst) {
    r = await a.step(c.negotiateAgain());
    steps.push(r);
    if (r.state !== 'continue') return steps;
  }
  r = await a.step(c.authenticate(r.token));
  steps.push(r);
  if (r.state === 'continue' && c.opts.mechListMic === 'separately')
    steps.push(await a.step(c.mechListMicToken()));
  return steps;
}

const last = (steps: AcceptorStep[]): AcceptorStep => steps[steps.length - 1]!;

function expectDone(step: AcceptorStep): Extract<AcceptorStep, { state: 'done' }> {
  if (step.state !== 'done') throw new Error(`expected done, got ${JSON.stringify(step)}`);
  return step;
}

function expectFailed(step: AcceptorStep, status: string, reason?: RegExp): void {
  if (step.state !== 'failed') throw new Error(`expected failed ${status}, got ${step.state}`);
  equal(step.status, status);
  if (reason) match(step.reason, reason);
}

describe('NtlmAcceptor: successful logons', () => {
  test('row 1: SPNEGO, Windows flags, MIC and mechListMIC — done, keys agree, server MIC verifies', async () => {
    const a = acceptor();
    const c = client();
    const steps = await logon(a, c);
    equal(steps.length, 2);
    const done = expectDone(last(steps));
    deepEqual(done.user, { name: 'alice', uid: 1001, gid: 1001, gids: [1001, 2000], domain: 'CLAUDEFS' });
    equal(done.guest, false);
    equal(done.sessionKey.length, 16);
    deepEqual(done.sessionKey, c.exportedSessionKey);
    const resp = parseNegTokenResp(done.token);
    equal(resp.negState, 0);
    ok(resp.mechListMIC && c.serverMechListMicValid(resp.mechListMIC), "the server's mechListMIC verifies");
    // The first reply named the mechanism; the CHALLENGE it carried is the server's.
    const first = parseNegTokenResp((steps[0] as { token: Buffer }).token);
    equal(first.negState, 1);
    equal(first.supportedMech, OIDS.ntlmssp);
  });

  test('row 2: raw NTLMSSP (no SPNEGO) — CHALLENGE raw, empty final token', async () => {
    const c = client({ spnego: false });
    const steps = await logon(acceptor(), c);
    equal((steps[0] as { token: Buffer }).token.subarray(0, 8).toString('latin1'), 'NTLMSSP\0');
    const done = expectDone(last(steps));
    equal(done.token.length, 0);
    deepEqual(done.sessionKey, c.exportedSessionKey);
  });

  test('row 3: a client without MIC and mechListMIC — accept-completed without a MIC', async () => {
    const c = client({ mic: false, mechListMic: 'never' });
    const done = expectDone(last(await logon(acceptor(), c)));
    deepEqual(parseNegTokenResp(done.token), { negState: 0 });
  });

  test('row 4: MIC in AUTHENTICATE, mechListMIC deferred — one more round (as Samba does it)', async () => {
    const c = client({ mechListMic: 'separately' });
    const steps = await logon(acceptor(), c);
    equal(steps.length, 3);
    const mid = steps[1];
    if (mid?.state !== 'continue') throw new Error('expected continue');
    const resp = parseNegTokenResp(mid.token);
    equal(resp.negState, 1);
    ok(resp.mechListMIC && c.serverMechListMicValid(resp.mechListMIC));
    expectDone(steps[2]!);
  });

  test('row 5: no key exchange — the session key is the SessionBaseKey', async () => {
    const c = client({ negotiateFlags: 0xa2088297 }); // Windows' flags without NEGOTIATE_KEY_EXCH
    const done = expectDone(last(await logon(acceptor(), c)));
    deepEqual(done.sessionKey, c.exportedSessionKey);
  });

  test('row 6: Kerberos offered first — request-mic, then NEGOTIATE in a NegTokenResp', async () => {
    const c = client({ kerberosFirst: true });
    const steps = await logon(acceptor(), c);
    const first = parseNegTokenResp((steps[0] as { token: Buffer }).token);
    deepEqual(first, { negState: 3, supportedMech: OIDS.ntlmssp });
    equal(parseNegTokenResp((steps[1] as { token: Buffer }).token).supportedMech, undefined);
    expectDone(last(steps));
  });

  test('row 7: the user name in any case; the domain as typed, upper-cased, empty or the workgroup', async () => {
    for (const over of [
      { user: 'ALICE' },
      { domain: 'claudefs' },
      { domain: '' },
      { domain: 'WORKGRP' },
      { domain: 'SOMEWHERE-ELSE' },
    ]) {
      const done = expectDone(last(await logon(acceptor(), client(over))));
      equal(done.user.name, 'alice', JSON.stringify(over));
    }
  });

  test('row 8: an OEM-only client gets an OEM CHALLENGE and logs on', async () => {
    const c = client({ negotiateFlags: 0xe2088296, spnego: false }); // no NEGOTIATE_UNICODE
    const steps = await logon(acceptor(), c);
    const ch = decodeChallenge((steps[0] as { token: Buffer }).token);
    equal(ch.flags & NTLMSSP.NEGOTIATE_UNICODE, 0);
    ok(ch.flags & NTLMSSP.NEGOTIATE_OEM);
    equal(ch.targetName, 'CLAUDEFS');
    expectDone(last(steps));
  });
});

describe('NtlmAcceptor: the CHALLENGE', () => {
  test('TargetName is the NetBIOS domain; AV pairs name domain and server and carry the time', async () => {
    const a = acceptor({ dnsDomain: 'claudefs.example' });
    const r = await a.step(client({ spnego: false }).negotiate());
    if (r.state !== 'continue') throw new Error('expected continue');
    const ch = decodeChallenge(r.token);
    equal(ch.targetName, 'CLAUDEFS');
    const pairs = new Map(decodeAvPairs(ch.targetInfo, 'ti').map((p) => [p.id, p.value]));
    equal(pairs.get(AV.NB_DOMAIN_NAME)?.toString('utf16le'), 'CLAUDEFS');
    equal(pairs.get(AV.NB_COMPUTER_NAME)?.toString('utf16le'), 'GATEWAY');
    equal(pairs.get(AV.DNS_DOMAIN_NAME)?.toString('utf16le'), 'claudefs.example');
    equal(pairs.get(AV.DNS_COMPUTER_NAME)?.toString('utf16le'), 'gateway.claudefs.example');
    equal(pairs.get(AV.TIMESTAMP)?.readBigUInt64LE(0), fileTime(NOW.getTime()));
    // Windows' NEGOTIATE flags E2088297: LM_KEY dropped (extended session security wins).
    const want =
      NTLMSSP.NEGOTIATE_UNICODE |
      NTLMSSP.REQUEST_TARGET |
      NTLMSSP.NEGOTIATE_SIGN |
      NTLMSSP.NEGOTIATE_NTLM |
      NTLMSSP.NEGOTIATE_ALWAYS_SIGN |
      NTLMSSP.TARGET_TYPE_DOMAIN |
      NTLMSSP.NEGOTIATE_EXTENDED_SESSIONSECURITY |
      NTLMSSP.NEGOTIATE_TARGET_INFO |
      NTLMSSP.NEGOTIATE_VERSION |
      NTLMSSP.NEGOTIATE_128 |
      NTLMSSP.NEGOTIATE_KEY_EXCH |
      NTLMSSP.NEGOTIATE_56;
    equal(ch.flags, want >>> 0);
    ok(ch.version);
  });

  test('an empty first token is answered with the NEGOTIATE hint', async () => {
    const r = await acceptor().step(Buffer.alloc(0));
    deepEqual(r, { state: 'continue', token: NtlmAcceptor.negotiateToken() });
  });

  test('two acceptors issue different server challenges', async () => {
    const a = await acceptor().step(client({ spnego: false }).negotiate());
    const b = await acceptor().step(client({ spnego: false }).negotiate());
    if (a.state !== 'continue' || b.state !== 'continue') throw new Error('expected continue');
    ok(!decodeChallenge(a.token).serverChallenge.equals(decodeChallenge(b.token).serverChallenge));
  });
});

describe('NtlmAcceptor: refusals', () => {
  test('row 1: wrong password — STATUS_LOGON_FAILURE; the acceptor stays failed', async () => {
    const a = acceptor();
    const steps = await logon(a, client({ password: 'secret1!' }));
    expectFailed(last(steps), 'STATUS_LOGON_FAILURE', /wrong password/);
    expectFailed(await a.step(Buffer.alloc(0)), 'STATUS_INVALID_PARAMETER', /already failed/);
  });

  test('row 2: unknown user — the same status and wording as a wrong password', async () => {
    const steps = await logon(acceptor(), client({ user: 'mallory' }));
    expectFailed(last(steps), 'STATUS_LOGON_FAILURE', /unknown user or wrong password/);
  });

  test('row 3: disabled account — STATUS_ACCOUNT_DISABLED only with the right password', async () => {
    expectFailed(
      last(await logon(acceptor(), client({ user: 'bob', password: 'Bob-pass' }))),
      'STATUS_ACCOUNT_DISABLED',
    );
    expectFailed(
      last(await logon(acceptor(), client({ user: 'bob', password: 'nope' }))),
      'STATUS_LOGON_FAILURE',
    );
  });

  test('row 4: NTLMv1 / LM responses — STATUS_LOGON_FAILURE (NTLMv2 only)', async () => {
    expectFailed(
      last(await logon(acceptor(), client({ ntlmv1: true }))),
      'STATUS_LOGON_FAILURE',
      /NTLMv2 only/,
    );
  });

  test('row 5: anonymous — refused unless allowGuest; then a guest with no session key', async () => {
    expectFailed(
      last(await logon(acceptor(), client({ anonymous: true }))),
      'STATUS_LOGON_FAILURE',
      /anonymous/,
    );
    const done = expectDone(last(await logon(acceptor({ allowGuest: true }), client({ anonymous: true }))));
    equal(done.guest, true);
    equal(done.anonymous, true);
    deepEqual(done.sessionKey, Buffer.alloc(16));
    deepEqual(done.user, { name: 'nobody', uid: 65534, gid: 65534, gids: [], domain: 'CLAUDEFS' });
  });

  test('row 6: a user name without an account ("guest" or another) — a guest only when allowGuest', async () => {
    expectFailed(
      last(await logon(acceptor(), client({ user: 'Guest', password: '' }))),
      'STATUS_LOGON_FAILURE',
    );
    const g = { name: 'smbguest', uid: 900, gid: 900, gids: [900] };
    const done = expectDone(
      last(
        await logon(
          acceptor({ allowGuest: true, guestIdentity: g }),
          client({ user: 'Guest', password: 'x' }),
        ),
      ),
    );
    deepEqual(
      [done.guest, done.anonymous, done.user.name, done.user.uid],
      [true, undefined, 'smbguest', 900],
    );
    // Any name without an account (Samba's Bad User); a known user's wrong password still fails.
    const other = expectDone(
      last(await logon(acceptor({ allowGuest: true }), client({ user: 'nosuchuser', password: 'x' }))),
    );
    deepEqual([other.guest, other.user.name], [true, 'nobody']);
    expectFailed(
      last(await logon(acceptor({ allowGuest: true }), client({ password: 'not-the-password' }))),
      'STATUS_LOGON_FAILURE',
      /wrong password/,
    );
  });

  test('row 7: a response timestamp outside MaxLifetime — STATUS_LOGON_FAILURE', async () => {
    const old = fileTime(NOW.getTime() - NTLM_MAX_LIFETIME_MS - 60_000);
    expectFailed(last(await logon(acceptor(), client({ time: old }))), 'STATUS_LOGON_FAILURE', /timestamp/);
    expectDone(last(await logon(acceptor(), client({ time: fileTime(NOW.getTime() - 3_600_000) }))));
  });

  test('row 8: a changed MIC — STATUS_LOGON_FAILURE', async () => {
    const a = acceptor();
    const c = client({ spnego: false });
    const ch = await a.step(c.negotiate());
    if (ch.state !== 'continue') throw new Error('expected continue');
    const auth = c.authenticate(ch.token);
    auth[75] = auth[75]! ^ 1;
    expectFailed(await a.step(auth), 'STATUS_LOGON_FAILURE', /MIC mismatch/);
  });

  test('row 9: a changed mechListMIC — STATUS_LOGON_FAILURE', async () => {
    const a = acceptor();
    const c = client();
    const ch = await a.step(c.negotiate());
    if (ch.state !== 'continue') throw new Error('expected continue');
    const token = c.authenticate(ch.token);
    token[token.length - 6] = token[token.length - 6]! ^ 1; // inside the mechListMIC's checksum
    expectFailed(await a.step(token), 'STATUS_LOGON_FAILURE', /mechListMIC mismatch/);
  });

  test('row 10: no NTLMSSP among the offered mechanisms — STATUS_NOT_SUPPORTED', async () => {
    const oid = (h: string): Buffer => der(0x06, Buffer.from(h, 'hex'));
    const krbOnly = der(0x60, oid(OIDS.spnego), der(0xa0, der(0x30, der(0xa0, der(0x30, oid(OIDS.krb5))))));
    expectFailed(await acceptor().step(krbOnly), 'STATUS_NOT_SUPPORTED', /NTLMSSP/);
  });

  test('row 11: messages out of order, or raw NTLMSSP mixed with SPNEGO — STATUS_INVALID_PARAMETER', async () => {
    const c = client();
    const a1 = acceptor();
    const first = await a1.step(c.negotiate());
    if (first.state !== 'continue') throw new Error('expected continue');
    expectFailed(await a1.step(c.negotiate()), 'STATUS_INVALID_PARAMETER', /NegTokenInit after/);
    const a2 = acceptor();
    await a2.step(c.negotiate());
    expectFailed(await a2.step(client({ spnego: false }).negotiate()), 'STATUS_INVALID_PARAMETER', /mixes/);
    const raw = client({ spnego: false });
    const a3 = acceptor();
    await a3.step(raw.negotiate());
    expectFailed(await a3.step(raw.negotiate()), 'STATUS_INVALID_PARAMETER', /AUTHENTICATE/);
  });

  test('row 12: a lookup that throws rejects the step; the acceptor is failed afterwards', async () => {
    const a = acceptor({
      lookup: async () => {
        throw new Error('identity store unavailable');
      },
    });
    const c = client();
    const ch = await a.step(c.negotiate());
    if (ch.state !== 'continue') throw new Error('expected continue');
    await rejects(a.step(c.authenticate(ch.token)), /identity store unavailable/);
    expectFailed(await a.step(Buffer.alloc(1)), 'STATUS_INVALID_PARAMETER', /already failed/);
  });

  test('row 13: a second step while one is in progress is refused', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const a = acceptor({
      lookup: async (user) => {
        await gate;
        return USERS[user] ?? null;
      },
    });
    const c = client();
    const ch = await a.step(c.negotiate());
    if (ch.state !== 'continue') throw new Error('expected continue');
    const pending = a.step(c.authenticate(ch.token));
    expectFailed(await a.step(Buffer.alloc(0)), 'STATUS_INVALID_PARAMETER', /in progress/);
    release();
    expectDone(await pending);
  });
});

describe('NtlmAcceptor: replay', () => {
  test('row 1: the same AUTHENTICATE again on the finished acceptor fails', async () => {
    const a = acceptor();
    const c = client();
    const ch = await a.step(c.negotiate());
    if (ch.state !== 'continue') throw new Error('expected continue');
    const auth = c.authenticate(ch.token);
    expectDone(await a.step(auth));
    expectFailed(await a.step(auth), 'STATUS_INVALID_PARAMETER', /already completed/);
  });

  test('row 2: replayed to another acceptor that issued the same challenge — refused by the replay cache', async () => {
    const cache = new ReplayCache(NTLM_MAX_LIFETIME_MS);
    const pinned = (n: number): Buffer => Buffer.alloc(n, 0x5a);
    const c = client();
    const a1 = acceptor({ replayCache: cache, randomBytes: pinned });
    const ch = await a1.step(c.negotiate());
    if (ch.state !== 'continue') throw new Error('expected continue');
    const auth = c.authenticate(ch.token);
    expectDone(await a1.step(auth));
    const a2 = acceptor({ replayCache: cache, randomBytes: pinned });
    await a2.step(c.negotiate());
    expectFailed(await a2.step(auth), 'STATUS_LOGON_FAILURE', /replayed/);
    equal(cache.size, 1);
  });

  test('row 3: replayed to an acceptor with its own (random) challenge — the proof does not verify', async () => {
    const c = client();
    const a1 = acceptor();
    const ch = await a1.step(c.negotiate());
    if (ch.state !== 'continue') throw new Error('expected continue');
    const auth = c.authenticate(ch.token);
    expectDone(await a1.step(auth));
    const a2 = acceptor();
    await a2.step(c.negotiate());
    expectFailed(await a2.step(auth), 'STATUS_LOGON_FAILURE');
  });

  test('row 4: the cache forgets after the window, and holds at most maxEntries', () => {
    const cache = new ReplayCache(1000, 3);
    equal(cache.checkAndRecord('a', 0), false);
    equal(cache.checkAndRecord('a', 500), true);
    equal(cache.checkAndRecord('a', 1001), false, 'expired, recorded afresh');
    for (const k of ['b', 'c', 'd']) cache.checkAndRecord(k, 1002);
    equal(cache.size, 3);
    equal(cache.checkAndRecord('a', 1003), false, 'the oldest entry was evicted');
  });
});
