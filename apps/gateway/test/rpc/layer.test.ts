import { deepEqual, equal, ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AcceptStat, AuthStat } from '../../src/protocols/rpc/constants.ts';
import { decodeReply, encodeCall, type RpcReply } from '../../src/protocols/rpc/message.ts';
import { frameRecord } from '../../src/protocols/rpc/record.ts';
import {
  callRecord,
  opaqueArg,
  RawClient,
  SYS_CRED,
  startTestServer,
  TEST_PROG,
  TestProc,
  type TestServer,
  u32,
} from './helpers.ts';

function accepted(r: RpcReply): Extract<RpcReply, { status: 'accepted' }> {
  if (r.status !== 'accepted') throw new Error(`expected an accepted reply, got ${JSON.stringify(r)}`);
  return r;
}

async function one(s: TestServer, record: Buffer): Promise<RpcReply> {
  const c = await RawClient.connect(s.port);
  try {
    c.send(record);
    const [reply] = await c.read(1);
    return decodeReply(reply!);
  } finally {
    c.close();
  }
}

describe('ONC RPC layer: replies to hand-made frames', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  test('1 NULL with AUTH_NONE: accepted SUCCESS, empty results, same xid', async () => {
    const r = accepted(await one(s, callRecord({ xid: 77, prog: TEST_PROG, vers: 1, proc: 0 })));
    equal(r.xid, 77);
    equal(r.stat, AcceptStat.SUCCESS);
    equal(r.results.remaining, 0);
  });

  test('2 rpcvers 3: MSG_DENIED RPC_MISMATCH with low = high = 2', async () => {
    const msg = encodeCall({ xid: 5, prog: TEST_PROG, vers: 1, proc: 0 });
    msg.writeUInt32BE(3, 8);
    deepEqual(await one(s, frameRecord(msg)), { xid: 5, status: 'rpc-mismatch', low: 2, high: 2 });
  });

  test('3 an unknown program: PROG_UNAVAIL', async () => {
    const r = accepted(await one(s, callRecord({ xid: 6, prog: 123456, vers: 1, proc: 0 })));
    equal(r.stat, AcceptStat.PROG_UNAVAIL);
  });

  test('4 an unsupported version: PROG_MISMATCH with the supported range', async () => {
    const r = accepted(await one(s, callRecord({ xid: 7, prog: TEST_PROG, vers: 2, proc: 0 })));
    equal(r.stat, AcceptStat.PROG_MISMATCH);
    deepEqual(r.mismatch, { low: 1, high: 1 });
  });

  test('5 an unknown procedure: PROC_UNAVAIL', async () => {
    const r = accepted(await one(s, callRecord({ xid: 8, prog: TEST_PROG, vers: 1, proc: 99 })));
    equal(r.stat, AcceptStat.PROC_UNAVAIL);
  });

  test('6 truncated arguments and trailing bytes: GARBAGE_ARGS', async () => {
    const spec = { prog: TEST_PROG, vers: 1, proc: TestProc.ECHO, cred: SYS_CRED };
    const cut = opaqueArg(Buffer.from('hello world')).subarray(0, 9);
    equal(accepted(await one(s, callRecord({ ...spec, xid: 9, args: cut }))).stat, AcceptStat.GARBAGE_ARGS);
    const extra = Buffer.concat([opaqueArg(Buffer.from('hi')), u32(0)]);
    equal(
      accepted(await one(s, callRecord({ ...spec, xid: 10, args: extra }))).stat,
      AcceptStat.GARBAGE_ARGS,
    );
    const nullArgs = callRecord({ xid: 11, prog: TEST_PROG, vers: 1, proc: 0, args: u32(1) });
    equal(accepted(await one(s, nullArgs)).stat, AcceptStat.GARBAGE_ARGS);
  });

  test('7 AUTH_SYS with 17 gids, a 256-byte machine name or trailing bytes: AUTH_BADCRED', async () => {
    const bad = [
      { ...SYS_CRED, gids: Array.from({ length: 17 }, (_, i) => i) },
      { ...SYS_CRED, machine: 'm'.repeat(256) },
    ];
    for (const [i, cred] of bad.entries()) {
      const r = await one(s, callRecord({ xid: 20 + i, prog: TEST_PROG, vers: 1, proc: 0, cred }));
      deepEqual(r, { xid: 20 + i, status: 'auth-error', authStat: AuthStat.AUTH_BADCRED });
    }
    const msg = encodeCall({ xid: 30, prog: TEST_PROG, vers: 1, proc: 0, cred: SYS_CRED });
    // Grow the credential body by 4 bytes the AUTH_SYS fields do not use.
    const credLen = msg.readUInt32BE(28);
    const grown = Buffer.concat([msg.subarray(0, 32 + credLen), u32(0), msg.subarray(32 + credLen)]);
    grown.writeUInt32BE(credLen + 4, 28);
    deepEqual(await one(s, frameRecord(grown)), {
      xid: 30,
      status: 'auth-error',
      authStat: AuthStat.AUTH_BADCRED,
    });
    const ok16 = { ...SYS_CRED, gids: Array.from({ length: 16 }, (_, i) => i), machine: 'm'.repeat(255) };
    const r = accepted(await one(s, callRecord({ xid: 31, prog: TEST_PROG, vers: 1, proc: 0, cred: ok16 })));
    equal(r.stat, AcceptStat.SUCCESS);
  });

  test('8 a flavour the procedure does not accept, or one we do not speak: AUTH_TOOWEAK', async () => {
    const none = await one(
      s,
      callRecord({
        xid: 40,
        prog: TEST_PROG,
        vers: 1,
        proc: TestProc.ECHO,
        args: opaqueArg(Buffer.alloc(0)),
      }),
    );
    deepEqual(none, { xid: 40, status: 'auth-error', authStat: AuthStat.AUTH_TOOWEAK });
    const gss = encodeCall({ xid: 41, prog: TEST_PROG, vers: 1, proc: 0 });
    gss.writeUInt32BE(6, 24); // RPCSEC_GSS with an empty body
    deepEqual(await one(s, frameRecord(gss)), {
      xid: 41,
      status: 'auth-error',
      authStat: AuthStat.AUTH_TOOWEAK,
    });
  });

  test('9 a procedure that throws: SYSTEM_ERR, and the connection stays usable', async () => {
    const c = await RawClient.connect(s.port);
    c.send(callRecord({ xid: 50, prog: TEST_PROG, vers: 1, proc: TestProc.BOOM, cred: SYS_CRED }));
    c.send(callRecord({ xid: 51, prog: TEST_PROG, vers: 1, proc: 0 }));
    const replies = (await c.read(2)).map(decodeReply).sort((a, b) => a.xid - b.xid);
    equal(accepted(replies[0]!).stat, AcceptStat.SYSTEM_ERR);
    equal(accepted(replies[1]!).stat, AcceptStat.SUCCESS);
    c.close();
  });

  test('10 a record split in many fragments and across TCP writes is reassembled', async () => {
    const data = Buffer.alloc(100_000, 7);
    const msg = encodeCall({
      xid: 60,
      prog: TEST_PROG,
      vers: 1,
      proc: TestProc.ECHO,
      cred: SYS_CRED,
      args: opaqueArg(data),
    });
    const frags: Buffer[] = [];
    for (let at = 0; at < msg.length; at += 4093) {
      const piece = msg.subarray(at, Math.min(msg.length, at + 4093));
      const last = at + 4093 >= msg.length;
      frags.push(u32((last ? 0x8000_0000 : 0) | piece.length), piece);
    }
    const bytes = Buffer.concat(frags);
    const c = await RawClient.connect(s.port);
    for (let at = 0; at < bytes.length; at += 1000) {
      c.send(bytes.subarray(at, at + 1000));
      if (at % 20_000 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    const r = accepted(decodeReply((await c.read(1))[0]!));
    deepEqual(r.results.opaque(200_000, 'echo'), data);
    c.close();
  });

  test('11 not a CALL, a cut header, a fragment announcing 1 GiB: connection closed, others served', async () => {
    const reply = Buffer.from(encodeCall({ xid: 1, prog: TEST_PROG, vers: 1, proc: 0 }));
    reply.writeUInt32BE(1, 4);
    const cases = [frameRecord(reply), frameRecord(u32(1, 0, 2, TEST_PROG)), u32(0x8000_0000 | (1 << 30))];
    const bystander = await RawClient.connect(s.port);
    for (const bytes of cases) {
      const c = await RawClient.connect(s.port);
      c.send(bytes);
      ok(await c.waitClosed(5000), `closed after ${bytes.subarray(0, 16).toString('hex')}`);
      equal(c.unread, 0);
      bystander.send(callRecord({ xid: 70, prog: TEST_PROG, vers: 1, proc: 0 }));
      equal(accepted(decodeReply((await bystander.read(1))[0]!)).stat, AcceptStat.SUCCESS);
    }
    bystander.close();
  });

  test('12 replies go out as calls finish, matched by xid (a slow call does not hold back a fast one)', async () => {
    const c = await RawClient.connect(s.port);
    const slow = (xid: number, ms: number) =>
      callRecord({
        xid,
        prog: TEST_PROG,
        vers: 1,
        proc: TestProc.SLOW,
        cred: SYS_CRED,
        args: Buffer.concat([u32(ms), opaqueArg(Buffer.from(`x${xid}`))]),
      });
    c.send(Buffer.concat([slow(101, 400), slow(102, 200), slow(103, 0)]));
    const replies = (await c.read(3)).map(decodeReply);
    deepEqual(
      replies.map((r) => r.xid),
      [103, 102, 101],
    );
    for (const r of replies) equal(accepted(r).results.opaque(100, 'echo').toString(), `x${r.xid}`);
    c.close();
  });

  test('13 DRC: a non-idempotent call sent twice runs once and both replies are the same bytes', async () => {
    const before = s.counter();
    const rec = callRecord({
      xid: 200,
      prog: TEST_PROG,
      vers: 1,
      proc: TestProc.COUNT,
      cred: SYS_CRED,
      args: u32(0),
    });
    const c = await RawClient.connect(s.port);
    c.send(rec);
    const [first] = await c.read(1);
    c.send(rec);
    const [second] = await c.read(1);
    deepEqual(second, first);
    equal(s.counter(), before + 1);
    // Other arguments under the same xid are a different call.
    c.send(
      callRecord({ xid: 200, prog: TEST_PROG, vers: 1, proc: TestProc.COUNT, cred: SYS_CRED, args: u32(1) }),
    );
    await c.read(1);
    equal(s.counter(), before + 2);
    c.close();
  });

  test('14 DRC: a retransmission while the original runs is dropped on the same connection', async () => {
    const before = s.counter();
    const rec = callRecord({
      xid: 300,
      prog: TEST_PROG,
      vers: 1,
      proc: TestProc.COUNT,
      cred: SYS_CRED,
      args: u32(300),
    });
    const c = await RawClient.connect(s.port);
    c.send(rec);
    await new Promise((r) => setTimeout(r, 50));
    c.send(rec);
    await c.read(1);
    await new Promise((r) => setTimeout(r, 200));
    equal(c.unread, 0);
    equal(s.counter(), before + 1);
    c.close();
  });

  test('15 the registry sees the connection, its uid/gid and each call', async () => {
    const c = await RawClient.connect(s.port);
    c.send(
      callRecord({ xid: 400, prog: TEST_PROG, vers: 1, proc: 0, cred: { ...SYS_CRED, uid: 4321, gid: 99 } }),
    );
    await c.read(1);
    const mine = s.registry.list().find((i) => i.remotePort === c.socket.localPort);
    ok(mine, 'registered');
    equal(mine.protocol, 'nfs');
    equal(mine.uid, 4321);
    equal(mine.gid, 99);
    equal(mine.requests, 1);
    ok(mine.bytesIn > 0 && mine.bytesOut > 0);
    c.close();
  });

  test('15b one connection, credentials that change from call to call: each call is its own caller', async () => {
    const c = await RawClient.connect(s.port);
    const whoami = async (xid: number, cred: typeof SYS_CRED) => {
      c.send(callRecord({ xid, prog: TEST_PROG, vers: 1, proc: TestProc.WHOAMI, cred }));
      const r = decodeReply((await c.read(1))[0]!);
      if (r.status !== 'accepted') return r;
      const [uid, gid, n] = [r.results.uint32('uid'), r.results.uint32('gid'), r.results.uint32('n')];
      return { uid, gid, gids: Array.from({ length: n }, () => r.results.uint32('g')) };
    };
    const alice = { ...SYS_CRED, uid: 1000, gid: 1000, gids: [1000, 27] };
    deepEqual(await whoami(500, alice), { uid: 1000, gid: 1000, gids: [1000, 27] });
    // Same length, one byte apart (the uid): not the last credential.
    deepEqual(await whoami(501, { ...alice, uid: 0 }), { uid: 0, gid: 1000, gids: [1000, 27] });
    deepEqual(await whoami(502, alice), { uid: 1000, gid: 1000, gids: [1000, 27] });
    deepEqual(await whoami(503, { ...alice, gids: [1000, 28] }), { uid: 1000, gid: 1000, gids: [1000, 28] });
    // A bad credential after a good one is refused, and the good one still works after it.
    deepEqual(await whoami(504, { ...alice, gids: Array.from({ length: 17 }, (_, i) => i) }), {
      xid: 504,
      status: 'auth-error',
      authStat: AuthStat.AUTH_BADCRED,
    });
    deepEqual(await whoami(505, alice), { uid: 1000, gid: 1000, gids: [1000, 27] });
    const mine = s.registry.list().find((i) => i.remotePort === c.socket.localPort);
    equal(mine?.uid, 1000, 'the registry shows the last caller');
    c.close();
  });
});

test('16 close(): stops accepting, lets calls in flight finish within the grace, then closes', async () => {
  const s = await startTestServer();
  const c = await RawClient.connect(s.port);
  const slow = (xid: number, ms: number) =>
    callRecord({
      xid,
      prog: TEST_PROG,
      vers: 1,
      proc: TestProc.SLOW,
      cred: SYS_CRED,
      args: Buffer.concat([u32(ms), opaqueArg(Buffer.from('x'))]),
    });
  c.send(slow(1, 300));
  await new Promise((r) => setTimeout(r, 50));
  const started = performance.now();
  await s.listener.close(5000);
  const waited = performance.now() - started;
  ok(waited >= 200 && waited < 2000, `close waited ${waited} ms`);
  equal(decodeReply((await c.read(1))[0]!).xid, 1);
  ok(await c.waitClosed());

  // A call longer than the grace does not hold close() beyond it.
  const s2 = await startTestServer();
  const c2 = await RawClient.connect(s2.port);
  c2.send(slow(2, 3000));
  await new Promise((r) => setTimeout(r, 50));
  const t2 = performance.now();
  await s2.listener.close(300);
  ok(performance.now() - t2 < 1500, `close took ${performance.now() - t2} ms`);
  ok(await c2.waitClosed());
});
