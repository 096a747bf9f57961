/**
 * What SMB clients send inside the protocol, under hostile bytes: DCE/RPC request stubs of the
 * IPC$ pipes (srvsvc NetShareEnum / NetShareGetInfo, lsarpc OpenPolicy, Close, LookupSids 1 and
 * 2, LookupNames 1 to 3), the quota buffers of QUERY_INFO / SET_INFO (SMB2_QUERY_QUOTA_INFO,
 * FILE_QUOTA_INFORMATION lists) and the security descriptors of SET_INFO. Golden requests are
 * mutated byte-wise; every stub gets a response stub or a fault (never a throw), every buffer
 * decodes or is an SmbError with a status, and nothing grows without bound.
 */
import { ok } from 'node:assert/strict';
import { test } from 'node:test';
import type { RpcInterface } from '../../src/protocols/smb/dcerpc/interface.ts';
import { lsarpc } from '../../src/protocols/smb/dcerpc/lsarpc.ts';
import { NdrWriter } from '../../src/protocols/smb/dcerpc/ndr.ts';
import { srvsvc } from '../../src/protocols/smb/dcerpc/srvsvc.ts';
import { SmbError } from '../../src/protocols/smb/errors.ts';
import { decodeQuotaEntries, decodeQuotaQuery } from '../../src/protocols/smb/info/quota-info.ts';
import {
  modeFromDacl,
  parseSecurityDescriptor,
  SECINFO,
  securityDescriptor,
} from '../../src/protocols/smb/info/security.ts';
import { gidSid, sidBytes, uidSid } from '../../src/protocols/smb/sids.ts';
import { fuzzCases, fuzzSeed, mutateBytes, Rng, rss, runFuzz } from '../support/fuzz.ts';

const CASES = fuzzCases(20_000);
const RSS_GROWTH_LIMIT = 256 * 1024 * 1024;
/** No answer to a stub of a few hundred bytes is larger than this. */
const MAX_STUB = 1024 * 1024;

function lookupSidsStub(handle: Buffer, ex: boolean): Buffer {
  const sids = [uidSid(1000), gidSid(1500), { authority: 1, subAuthorities: [0] }];
  const w = new NdrWriter().bytes(handle).u32(sids.length).pointer(true).u32(sids.length);
  for (const _ of sids) w.pointer(true);
  for (const s of sids) w.sid(s);
  w.u32(0).pointer(false).u16(1).u32(0);
  if (ex) w.u32(0).u32(2);
  return w.finish();
}

function lookupNamesStub(handle: Buffer, extra: boolean): Buffer {
  const names = ['alice', 'CLAUDEFS\\staff', 'Unix User\\1000', 'nosuch'];
  const w = new NdrWriter().bytes(handle).u32(names.length).u32(names.length);
  for (const n of names) w.unicodeHeader(n);
  for (const n of names) w.unicodeBody(n);
  w.u32(0).pointer(false).u16(1).u32(0);
  if (extra) w.u32(0).u32(2);
  return w.finish();
}

function shareEnumStub(level: number): Buffer {
  const w = new NdrWriter().pointer(true).string('\\\\127.0.0.1');
  w.u32(level).u32(level).pointer(true).u32(0).pointer(false);
  return w.u32(0xffff_ffff).pointer(true).u32(0).finish();
}

test(`1 ${CASES} mutated srvsvc and lsarpc stubs: a response or a fault, never a throw`, {
  timeout: 600_000,
}, async () => {
  const seed = fuzzSeed('smb-dcerpc');
  const r = new Rng(seed);
  const shares = srvsvc([
    { name: 'export', remark: 'the export', ipc: false, path: '/export' },
    { name: 'IPC$', remark: 'IPC', ipc: true, path: '' },
  ]);
  const lsa = lsarpc({
    domains: ['CLAUDEFS'],
    users: [{ name: 'alice', uid: 1000 }],
    groups: [{ name: 'staff', gid: 1500 }],
  });
  const opened = lsa.call(44, new NdrWriter().pointer(false).u32(24).u32(0).u32(0).finish());
  ok('stub' in opened);
  const handle = opened.stub.subarray(0, 20);
  const golden: Array<{ iface: RpcInterface; opnum: number; stub: Buffer }> = [
    { iface: shares, opnum: 15, stub: shareEnumStub(1) },
    { iface: shares, opnum: 15, stub: shareEnumStub(2) },
    {
      iface: shares,
      opnum: 16,
      stub: new NdrWriter().pointer(true).string('srv').string('export').u32(2).finish(),
    },
    { iface: lsa, opnum: 6, stub: new NdrWriter().pointer(false).u32(24).finish() },
    { iface: lsa, opnum: 15, stub: lookupSidsStub(handle, false) },
    { iface: lsa, opnum: 57, stub: lookupSidsStub(handle, true) },
    { iface: lsa, opnum: 14, stub: lookupNamesStub(handle, false) },
    { iface: lsa, opnum: 58, stub: lookupNamesStub(handle, true) },
    { iface: lsa, opnum: 68, stub: lookupNamesStub(handle, true) },
  ];
  const pool = golden.map((g) => g.stub);
  const before = rss();
  let answered = 0;
  await runFuzz('SMB DCE/RPC stubs', CASES, () => {
    for (let i = 0; i < CASES; i++) {
      const g = r.pick(golden);
      const stub = mutateBytes(r, g.stub, pool);
      // Now and then the wrong operation, or one past the table.
      const opnum = r.chance(20) ? r.below(100) : g.opnum;
      const out = g.iface.call(opnum, stub);
      if ('stub' in out) {
        ok(
          out.stub.length < MAX_STUB,
          `opnum ${opnum}: a ${out.stub.length}-byte answer (seed ${seed}, case ${i})`,
        );
        answered++;
      } else ok(out.fault === 'op_rng_error' || out.fault === 'protocol_error');
    }
  });
  ok(
    answered > CASES / 20,
    `only ${answered} of ${CASES} mutated stubs were answered: the goldens are not valid`,
  );
  ok(rss() - before < RSS_GROWTH_LIMIT, 'bounded memory');
});

test(`2 ${CASES} mutated quota queries and quota lists: decoded or an NTSTATUS, never another error`, {
  timeout: 600_000,
}, async () => {
  const seed = fuzzSeed('smb-quota');
  const r = new Rng(seed);
  const sidEntry = (uid: number, next: number) => {
    const sid = sidBytes(uidSid(uid));
    const e = Buffer.alloc(8 + sid.length);
    e.writeUInt32LE(next, 0);
    e.writeUInt32LE(sid.length, 4);
    sid.copy(e, 8);
    return e;
  };
  const list = Buffer.concat([sidEntry(1000, 24), sidEntry(1001, 0)]);
  const query = Buffer.alloc(16);
  query.writeUInt32LE(list.length, 4);
  const startSid = Buffer.alloc(16);
  startSid.writeUInt32LE(sidBytes(uidSid(1000)).length, 8);
  const quotaEntry = (uid: number, next: number) => {
    const sid = sidBytes(uidSid(uid));
    const e = Buffer.alloc(40 + sid.length);
    e.writeUInt32LE(next, 0);
    e.writeUInt32LE(sid.length, 4);
    e.writeBigUInt64LE(1_000_000n, 24);
    e.writeBigUInt64LE(2_000_000n, 32);
    sid.copy(e, 40);
    return e;
  };
  const queries = [
    Buffer.concat([query, list]),
    Buffer.concat([startSid, sidBytes(uidSid(1000))]),
    Buffer.from([1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
  ];
  const lists = [Buffer.concat([quotaEntry(1000, 56), quotaEntry(1001, 0)])];
  let decoded = 0;
  await runFuzz('SMB quota buffers', CASES, () => {
    for (let i = 0; i < CASES; i++) {
      const asQuery = r.chance(2);
      const input = mutateBytes(r, r.pick(asQuery ? queries : lists), [...queries, ...lists]);
      try {
        if (asQuery) decodeQuotaQuery(input);
        else decodeQuotaEntries(input);
        decoded++;
      } catch (e) {
        ok(e instanceof SmbError, `case ${i} (seed ${seed}): ${(e as Error).stack}`);
      }
    }
  });
  ok(decoded > 0);
});

test(`3 ${CASES} mutated security descriptors: a mode or an NTSTATUS, never another error`, {
  timeout: 600_000,
}, async () => {
  const seed = fuzzSeed('smb-security-descriptor');
  const r = new Rng(seed);
  const all = SECINFO.OWNER | SECINFO.GROUP | SECINFO.DACL;
  const golden = [
    securityDescriptor(
      { uid: 1000, gid: 100, mode: 0o640, type: 'file' } as Parameters<typeof securityDescriptor>[0],
      all,
    ),
    securityDescriptor(
      { uid: 0, gid: 0, mode: 0o1777, type: 'dir' } as Parameters<typeof securityDescriptor>[0],
      all,
    ),
  ];
  let modes = 0;
  await runFuzz('SMB security descriptors', CASES, () => {
    for (let i = 0; i < CASES; i++) {
      const input = mutateBytes(r, r.pick(golden), golden);
      try {
        const sd = parseSecurityDescriptor(input);
        const mode = modeFromDacl(sd.dacl ?? null, 1000, 100, 0o640);
        ok(mode >= 0 && mode <= 0o7777, `case ${i} (seed ${seed}): mode ${mode}`);
        modes++;
      } catch (e) {
        ok(e instanceof SmbError, `case ${i} (seed ${seed}): ${(e as Error).stack}`);
      }
    }
  });
  ok(modes > 0);
});
