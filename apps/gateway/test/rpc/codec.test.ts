import { deepEqual, equal, ok, throws } from 'node:assert/strict';
import { test } from 'node:test';
import { checkCredential, decodeAuthSys } from '../../src/protocols/rpc/auth.ts';
import { AuthStat } from '../../src/protocols/rpc/constants.ts';
import { DuplicateRequestCache } from '../../src/protocols/rpc/drc.ts';
import {
  acceptedErrorReply,
  authErrorReply,
  decodeCallHeader,
  encodeCall,
  progMismatchReply,
  RpcFramingError,
  rpcMismatchReply,
} from '../../src/protocols/rpc/message.ts';
import { RecordDecoder, RecordTooLargeError } from '../../src/protocols/rpc/record.ts';
import { XdrError } from '../../src/protocols/xdr/errors.ts';
import { XdrWriter } from '../../src/protocols/xdr/writer.ts';
import { SYS_CRED, u32 } from './helpers.ts';

test('1 reply headers byte for byte (RFC 5531 §9)', () => {
  deepEqual(rpcMismatchReply(0x11223344), u32(0x11223344, 1, 1, 0, 2, 2));
  deepEqual(authErrorReply(7, AuthStat.AUTH_TOOWEAK), u32(7, 1, 1, 1, 5));
  deepEqual(acceptedErrorReply(8, 4), u32(8, 1, 0, 0, 0, 4));
  deepEqual(progMismatchReply(9, 3, 3), u32(9, 1, 0, 0, 0, 2, 3, 3));
});

test('2 call headers: fields and argument offset; a reply, a cut header or an over-long credential are framing errors', () => {
  const call = encodeCall({ xid: 1, prog: 100003, vers: 3, proc: 1, cred: SYS_CRED, args: u32(42) });
  const h = decodeCallHeader(call);
  equal(h.kind, 'call');
  if (h.kind !== 'call') return;
  deepEqual([h.xid, h.prog, h.vers, h.proc, h.cred.flavor, h.verf.flavor], [1, 100003, 3, 1, 1, 0]);
  equal(call.readUInt32BE(h.argsOffset), 42);
  deepEqual(decodeCallHeader(u32(5, 0, 3)), { kind: 'rpc-mismatch', xid: 5, rpcvers: 3 });
  throws(() => decodeCallHeader(u32(5, 1, 2)), RpcFramingError);
  throws(() => decodeCallHeader(call.subarray(0, 30)), RpcFramingError);
  throws(() => decodeCallHeader(u32(5, 0, 2, 1, 1, 0, 1, 1000)), RpcFramingError);
});

test('3 AUTH_SYS: 16 gids and a 255-byte name are fine, 17 gids, 256 bytes or trailing bytes are AUTH_BADCRED', () => {
  const body = (machine: string, gids: number[], extra: Buffer = Buffer.alloc(0)): Buffer => {
    const w = new XdrWriter().uint32(9).string(machine).uint32(1).uint32(2).uint32(gids.length);
    for (const g of gids) w.uint32(g);
    return Buffer.concat([w.toBuffer(), extra]);
  };
  const none = { flavor: 0, body: Buffer.alloc(0) };
  const ok = checkCredential({ flavor: 1, body: body('m'.repeat(255), [...Array(16).keys()]) }, none);
  equal(ok.ok, true);
  for (const bad of [body('m', [...Array(17).keys()]), body('m'.repeat(256), []), body('m', [], u32(0))]) {
    deepEqual(checkCredential({ flavor: 1, body: bad }, none), {
      ok: false,
      authStat: AuthStat.AUTH_BADCRED,
    });
  }
  deepEqual(checkCredential({ flavor: 0, body: u32(1) }, none), {
    ok: false,
    authStat: AuthStat.AUTH_BADCRED,
  });
  deepEqual(checkCredential({ flavor: 1, body: Buffer.alloc(404) }, none), {
    ok: false,
    authStat: AuthStat.AUTH_BADCRED,
  });
  deepEqual(checkCredential({ flavor: 0, body: Buffer.alloc(0) }, { flavor: 1, body: Buffer.alloc(0) }), {
    ok: false,
    authStat: AuthStat.AUTH_BADVERF,
  });
  deepEqual(checkCredential({ flavor: 6, body: Buffer.alloc(8) }, none), { ok: false, unsupported: true });
  throws(() => decodeAuthSys(Buffer.alloc(3)), XdrError);
});

test('4 record marking: fragments reassembled across chunks; the limit is checked from the header alone', () => {
  const d = new RecordDecoder(100);
  const stream = Buffer.concat([
    u32(3),
    Buffer.from('abc'),
    u32(0),
    u32(0x8000_0002),
    Buffer.from('de'),
    u32(0x8000_0001),
    Buffer.from('f'),
  ]);
  for (const b of stream) d.push(Buffer.from([b]));
  deepEqual(d.next(), Buffer.from('abcde'));
  deepEqual(d.next(), Buffer.from('f'));
  equal(d.next(), undefined);
  equal(d.midRecord, false);
  const big = new RecordDecoder(100);
  big.push(u32(60, 0));
  big.push(Buffer.alloc(60));
  big.push(u32(0x8000_0000 | 41));
  throws(() => big.next(), RecordTooLargeError);
  const huge = new RecordDecoder(100);
  huge.push(u32(0x8000_0000 | (1 << 30)));
  throws(() => huge.next(), RecordTooLargeError);
});

test('4b records read through one reused buffer: every record and every byte kept is a copy, large fragments fill as they come', () => {
  // Records of every size (one 300 KiB, past the fill-as-arriving size), some in fragments.
  let seed = 7;
  const byte = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed & 0xff;
  };
  const records = [40, 300 * 1024, 0, 5000, 70 * 1024, 12].map((n) =>
    Buffer.from(Array.from({ length: n }, byte)),
  );
  const wire: Buffer[] = [];
  for (const [i, r] of records.entries()) {
    const cut = i % 2 === 0 ? Math.floor(r.length / 3) : 0;
    if (cut > 0) wire.push(u32(cut), r.subarray(0, cut));
    wire.push(u32(0x8000_0000 | (r.length - cut)), r.subarray(cut));
  }
  const stream = Buffer.concat(wire);
  const d = new RecordDecoder(1 << 20);
  const lent = Buffer.alloc(256 * 1024);
  const got: Buffer[] = [];
  for (let at = 0, step = 0; at < stream.length; step++) {
    const n = Math.min(stream.length - at, [100, 256 * 1024, 7, 60_000][step % 4]!);
    stream.copy(lent, 0, at, at + n);
    d.push(lent.subarray(0, n));
    for (let r = d.next(); r; r = d.next()) got.push(r);
    d.settle();
    lent.fill(0xee);
    at += n;
  }
  equal(got.length, records.length);
  for (const [i, r] of records.entries()) ok(got[i]!.equals(r), `record ${i} intact`);
  equal(d.midRecord, false);
});

test('5 DRC: replay, same-connection drop, wait across connections, TTL and size bounds', async () => {
  let now = 0;
  const drc = new DuplicateRequestCache({ maxEntries: 2, maxBytes: 100, ttlMs: 1000 }, () => now);
  const a = {};
  const b = {};
  const key = DuplicateRequestCache.key('10.0.0.1', 700, 1, 100003, 3, 12, u32(1));
  equal(key === DuplicateRequestCache.key('10.0.0.1', 700, 1, 100003, 3, 12, u32(2)), false);
  deepEqual(drc.lookup(key, a), { state: 'new' });
  deepEqual(drc.lookup(key, a), { state: 'drop' });
  const waiting = drc.lookup(key, b);
  equal(waiting.state, 'wait');
  drc.finish(key, Buffer.from('reply'));
  if (waiting.state === 'wait') deepEqual(await waiting.reply, Buffer.from('reply'));
  deepEqual(drc.lookup(key, b), { state: 'replay', reply: Buffer.from('reply') });
  now = 1001;
  deepEqual(drc.lookup(key, b), { state: 'new' });
  drc.finish(key, Buffer.from('x'), false);
  deepEqual(drc.lookup(key, b), { state: 'new' }, 'a reply not kept (server fault) is not replayed');
  drc.finish(key, Buffer.from('x'));
  for (const k of ['k1', 'k2', 'k3']) {
    drc.lookup(k, a);
    drc.finish(k, Buffer.alloc(10));
  }
  equal(drc.size, 2);
  deepEqual(drc.lookup(key, a), { state: 'new' }, 'the oldest went first');
  drc.lookup('large', a);
  drc.finish('large', Buffer.alloc(101));
  deepEqual(drc.lookup('large', a), { state: 'new' }, 'a reply over the byte bound is not kept');
});

test('5b DRC: a step of the wall clock does not expire the replies kept', (t) => {
  let wall = Date.now();
  t.mock.method(Date, 'now', () => wall);
  const drc = new DuplicateRequestCache();
  const key = DuplicateRequestCache.key('10.0.0.1', 700, 9, 100003, 3, 12, u32(1));
  deepEqual(drc.lookup(key, {}), { state: 'new' });
  drc.finish(key, Buffer.from('removed'));
  wall += 3_600_000;
  deepEqual(
    drc.lookup(key, {}),
    { state: 'replay', reply: Buffer.from('removed') },
    'an hour later by the wall clock',
  );
});
