/**
 * Golden NFS session: the calls real libnfs clients made (fixtures/libnfs-session.json,
 * captured by capture.ts — its header says how to re-capture) are sent again, byte for byte,
 * to a fresh gateway built the same deterministic way (session.ts), and every reply must equal
 * the captured one except for the fields GOLDEN_MASKS (replies.ts) names:
 *
 *   - nfstime3 seconds and nanoseconds in fattr3 and wcc_attr: the server clock at call time;
 *   - writeverf3 of WRITE and COMMIT: random per server instance (RFC 1813 §3.3.7); instead
 *     the replay checks it is one value across the session, as it was when captured.
 *
 * Handles, fileids, fsids, cookies and the cookie verifier are not masked: session.ts makes
 * them reproducible. The replay needs no libnfs: it runs wherever the gateway does.
 */
import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { describe, test } from 'node:test';
import { frameRecord } from '../../src/protocols/rpc/record.ts';
import type { ClientGateway } from '../nfs-v3/gateway.ts';
import { RawClient } from '../rpc/helpers.ts';
import { decodeCall } from './calls.ts';
import { procedure } from './procedures.ts';
import { compareReply, maskedFields, readReply } from './replies.ts';
import {
  type GoldenExchange,
  type GoldenSession,
  readSession,
  type Service,
  startGoldenGateway,
} from './session.ts';

const REPLY_DEADLINE_MS = 60_000;
const session = readSession();
const serviceOf = new Map(session.connections.map((c) => [c.id, c.service]));
const bytes = (b64: string) => Buffer.from(b64, 'base64');

function service(e: GoldenExchange): Service {
  const s = serviceOf.get(e.conn);
  if (!s) throw new Error(`exchange xid ${e.xid} names unknown connection ${e.conn}`);
  return s;
}

/**
 * Sends the captured calls in captured order, each on the replay connection standing for its
 * captured one, waiting for each reply before the next call (the order the capture proxy
 * imposed); compares every reply. Stops at the first `limit` mismatches.
 */
async function replay(
  g: ClientGateway,
  s: GoldenSession,
  limit = 10,
): Promise<{ mismatches: string[]; writeVerifiers: Set<string>; replayed: number }> {
  const ports: Record<Service, number> = { NFS: g.nfsPort, MOUNT: g.mountPort };
  const lastUse = new Map(s.exchanges.map((e, i) => [e.conn, i]));
  const open = new Map<number, RawClient>();
  const mismatches: string[] = [];
  const writeVerifiers = new Set<string>();
  let replayed = 0;
  try {
    for (const [i, e] of s.exchanges.entries()) {
      const svc = service(e);
      let c = open.get(e.conn);
      if (!c) {
        c = await RawClient.connect(ports[svc]);
        open.set(e.conn, c);
      }
      c.send(frameRecord(bytes(e.request)));
      const [reply] = await c.read(1, REPLY_DEADLINE_MS);
      replayed++;
      const where = `#${i} conn ${e.conn} xid ${e.xid} ${e.call}`;
      const result = compareReply(svc, e.proc, bytes(e.reply), reply!);
      if (result.mismatch) {
        mismatches.push(`${where}: ${result.mismatch}`);
        if (mismatches.length >= limit) break;
      }
      for (const m of result.masked) if (m.field === 'verf') writeVerifiers.add(m.value.toString('hex'));
      if (lastUse.get(e.conn) === i) {
        c.close();
        open.delete(e.conn);
      }
    }
  } finally {
    for (const c of open.values()) c.close();
  }
  return { mismatches, writeVerifiers, replayed };
}

describe('golden libnfs session replayed byte-exact', () => {
  test('1 every captured request still decodes as its recorded call: xid, program, version, procedure, arguments', () => {
    ok(session.exchanges.length > 0, 'the fixture holds exchanges');
    const perConn = new Map<number, number>();
    for (const [i, e] of session.exchanges.entries()) {
      const svc = service(e);
      const got = decodeCall(svc, bytes(e.request));
      deepEqual(
        { xid: got.xid, prog: got.prog, vers: got.vers, proc: got.proc, call: got.text },
        { xid: e.xid, prog: e.prog, vers: e.vers, proc: e.proc, call: e.call },
        `exchange #${i}`,
      );
      equal(bytes(e.reply).readUInt32BE(0), e.xid, `exchange #${i}: the reply answers the call's xid`);
      readReply(svc, e.proc, bytes(e.reply));
      // libnfs numbers a connection's calls consecutively.
      const prev = perConn.get(e.conn);
      if (prev !== undefined) equal(e.xid, (prev + 1) >>> 0, `exchange #${i}: xid follows ${prev}`);
      perConn.set(e.conn, e.xid);
    }
    // What the libnfs clients of capture.ts reach; a re-capture that loses one fails here.
    const expected: Record<Service, number[]> = {
      MOUNT: [0, 1, 5],
      NFS: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 17, 19, 21],
    };
    const covered = new Set(session.exchanges.map((e) => `${service(e)} ${e.proc}`));
    const lost = (['MOUNT', 'NFS'] as const).flatMap((svc) =>
      expected[svc].filter((p) => !covered.has(`${svc} ${p}`)).map((p) => `${svc} ${procedure(svc, p).name}`),
    );
    deepEqual(lost, [], 'procedures the session no longer covers');
  });

  test('2 a fresh gateway answers every captured call with the captured reply, outside the masked fields', async () => {
    const g = await startGoldenGateway();
    try {
      const { mismatches, writeVerifiers, replayed } = await replay(g, session);
      deepEqual(mismatches, [], 'replies differ from the golden session');
      equal(replayed, session.exchanges.length);
      equal(writeVerifiers.size, 1, 'WRITE and COMMIT carry one write verifier across the session');
    } finally {
      await g.stop();
    }
    const captured = new Set<string>();
    for (const e of session.exchanges) {
      for (const m of compareReply(service(e), e.proc, bytes(e.reply), bytes(e.reply)).masked) {
        if (m.field === 'verf') captured.add(m.value.toString('hex'));
      }
    }
    equal(captured.size, 1, 'the captured session had one write verifier too');
  });

  test('3 a change to any single reply byte outside the masked fields is detected, and inside them is not', () => {
    // The smallest reply of each procedure in the session.
    const byProc = new Map<string, GoldenExchange>();
    for (const e of session.exchanges) {
      const k = `${service(e)} ${e.proc}`;
      const prev = byProc.get(k);
      if (!prev || bytes(e.reply).length < bytes(prev.reply).length) byProc.set(k, e);
    }
    for (const e of byProc.values()) {
      const svc = service(e);
      const masks = maskedFields(svc, e.proc);
      const reply = bytes(e.reply);
      const fields = readReply(svc, e.proc, reply);
      const missed: number[] = [];
      for (let at = 0; at < reply.length; at++) {
        const changed = Buffer.from(reply);
        changed[at] = changed[at]! ^ 0x01;
        if (!compareReply(svc, e.proc, reply, changed).mismatch) missed.push(at);
      }
      const maskedAt = (at: number) => fields.some((f) => f.start <= at && at < f.end && masks.has(f.field));
      const unmaskedMissed = missed.filter((at) => !maskedAt(at));
      deepEqual(unmaskedMissed, [], `${e.call}: changes at these offsets went unnoticed`);
      for (let at = 0; at < reply.length; at++) {
        if (maskedAt(at))
          ok(missed.includes(at), `${e.call}: byte ${at} is masked yet a change there was flagged`);
      }
    }
    // Counted by hand from RFC 1813: a GETATTR reply is a 24-byte RPC header, nfsstat3, then
    // fattr3 whose last 24 bytes are atime, mtime, ctime — the only bytes a replay may change.
    const getattr = session.exchanges.find((e) => service(e) === 'NFS' && e.proc === 1)!;
    const reply = bytes(getattr.reply);
    equal(reply.length, 112);
    const undetected = [];
    for (let at = 0; at < reply.length; at++) {
      const changed = Buffer.from(reply);
      changed[at] = changed[at]! ^ 0x80;
      const r = compareReply('NFS', 1, reply, changed);
      if (!r.mismatch) undetected.push(at);
      if (at === 24 + 4 + 52) match(r.mismatch ?? '', /field fileid\b/, 'a fileid byte change is named');
    }
    deepEqual(
      undetected,
      Array.from({ length: 24 }, (_, i) => 88 + i),
    );
  });

  test('4 negative control: against a gateway with its own random handle key, the first handle differs', async () => {
    const g = await startGoldenGateway({ pinHandleKey: false });
    try {
      const { mismatches } = await replay(g, session, 1);
      equal(mismatches.length, 1);
      match(mismatches[0]!, /MNT .*\(field fhandle\)/);
    } finally {
      await g.stop();
    }
  });
});
