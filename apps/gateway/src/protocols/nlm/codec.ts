import type { XdrReader } from '../xdr/reader.ts';
import { XdrWriter } from '../xdr/writer.ts';

/**
 * Network Lock Manager version 4 (X/Open XNFS; the XDR as printed in RFC 1813 appendix II):
 * program 100021, the synchronous procedures NULL, TEST, LOCK, CANCEL, UNLOCK, GRANTED,
 * NM_LOCK and FREE_ALL.
 */
export const NLM_PROG = 100021;
export const NLM_VERS = 4;
export const LM_MAXSTRLEN = 1024;
export const MAXNETOBJ_SZ = 1024;

export const NlmProc = {
  NULL: 0,
  TEST: 1,
  LOCK: 2,
  CANCEL: 3,
  UNLOCK: 4,
  GRANTED: 5,
  NM_LOCK: 22,
  FREE_ALL: 23,
} as const;

/** nlm4_stats. */
export const Nlm4Stat = {
  GRANTED: 0,
  DENIED: 1,
  DENIED_NOLOCKS: 2,
  BLOCKED: 3,
  DENIED_GRACE_PERIOD: 4,
  DEADLCK: 5,
  ROFS: 6,
  STALE_FH: 7,
  FBIG: 8,
  FAILED: 9,
} as const;
export type Nlm4Stat = (typeof Nlm4Stat)[keyof typeof Nlm4Stat];

const NAMES = new Map<number, string>(Object.entries(Nlm4Stat).map(([k, v]) => [v, `NLM4_${k}`]));

export function nlmStatName(stat: number): string {
  return NAMES.get(stat) ?? `NLM4_${stat}`;
}

/** nlm4_lock: who (caller_name, svid, oh), which file (fh) and which bytes. */
export interface Nlm4Lock {
  callerName: string;
  fh: Buffer;
  oh: Buffer;
  svid: number;
  offset: bigint;
  /** 0: to the end of the file. */
  length: bigint;
}

export interface Nlm4Holder {
  exclusive: boolean;
  svid: number;
  oh: Buffer;
  offset: bigint;
  length: bigint;
}

export interface Nlm4TestArgs {
  cookie: Buffer;
  exclusive: boolean;
  lock: Nlm4Lock;
}

export interface Nlm4LockArgs extends Nlm4TestArgs {
  block: boolean;
  reclaim: boolean;
  state: number;
}

export interface Nlm4CancelArgs extends Nlm4TestArgs {
  block: boolean;
}

export interface Nlm4UnlockArgs {
  cookie: Buffer;
  lock: Nlm4Lock;
}

/** nlm4_notify (FREE_ALL). */
export interface Nlm4Notify {
  name: string;
  state: number;
}

function netobj(r: XdrReader, field: string): Buffer {
  return r.opaque(MAXNETOBJ_SZ, field);
}

/** Caller names are host names; bytes that are not UTF-8 are kept as latin1, never refused. */
function callerName(r: XdrReader): string {
  return r.opaque(LM_MAXSTRLEN, 'caller_name').toString('latin1');
}

export function decodeLock(r: XdrReader): Nlm4Lock {
  return {
    callerName: callerName(r),
    fh: netobj(r, 'fh'),
    oh: netobj(r, 'oh'),
    svid: r.int32('svid'),
    offset: r.uint64('l_offset'),
    length: r.uint64('l_len'),
  };
}

export function decodeTestArgs(r: XdrReader): Nlm4TestArgs {
  const cookie = netobj(r, 'cookie');
  const exclusive = r.bool('exclusive');
  const lock = decodeLock(r);
  r.end('nlm4_testargs');
  return { cookie, exclusive, lock };
}

export function decodeLockArgs(r: XdrReader): Nlm4LockArgs {
  const cookie = netobj(r, 'cookie');
  const block = r.bool('block');
  const exclusive = r.bool('exclusive');
  const lock = decodeLock(r);
  const reclaim = r.bool('reclaim');
  const state = r.int32('state');
  r.end('nlm4_lockargs');
  return { cookie, block, exclusive, lock, reclaim, state };
}

export function decodeCancelArgs(r: XdrReader): Nlm4CancelArgs {
  const cookie = netobj(r, 'cookie');
  const block = r.bool('block');
  const exclusive = r.bool('exclusive');
  const lock = decodeLock(r);
  r.end('nlm4_cancargs');
  return { cookie, block, exclusive, lock };
}

export function decodeUnlockArgs(r: XdrReader): Nlm4UnlockArgs {
  const cookie = netobj(r, 'cookie');
  const lock = decodeLock(r);
  r.end('nlm4_unlockargs');
  return { cookie, lock };
}

export function decodeNotify(r: XdrReader): Nlm4Notify {
  const name = r.opaque(LM_MAXSTRLEN, 'name').toString('latin1');
  const state = r.int32('state');
  r.end('nlm4_notify');
  return { name, state };
}

/** nlm4_res. */
export function encodeRes(w: XdrWriter, cookie: Buffer, stat: Nlm4Stat): void {
  w.opaque(cookie).uint32(stat);
}

/** nlm4_testres: the holder accompanies NLM4_DENIED. */
export function encodeTestRes(w: XdrWriter, cookie: Buffer, stat: Nlm4Stat, holder?: Nlm4Holder): void {
  w.opaque(cookie).uint32(stat);
  if (stat !== Nlm4Stat.DENIED) return;
  const h = holder ?? { exclusive: true, svid: 0, oh: Buffer.alloc(0), offset: 0n, length: 0n };
  w.bool(h.exclusive).int32(h.svid).opaque(h.oh).uint64(h.offset).uint64(h.length);
}

export function encodeLock(w: XdrWriter, l: Nlm4Lock): void {
  w.opaque(Buffer.from(l.callerName, 'latin1'))
    .opaque(l.fh)
    .opaque(l.oh)
    .int32(l.svid)
    .uint64(l.offset)
    .uint64(l.length);
}

/** NLM4_GRANTED's arguments (nlm4_testargs), for the callback to a client. */
export function encodeTestArgs(a: Nlm4TestArgs): Buffer {
  const w = new XdrWriter(256).opaque(a.cookie).bool(a.exclusive);
  encodeLock(w, a.lock);
  return w.toBuffer();
}

/** Arguments of LOCK, for tests and tools that speak to an NLM server. */
export function encodeLockArgs(a: Nlm4LockArgs): Buffer {
  const w = new XdrWriter(256).opaque(a.cookie).bool(a.block).bool(a.exclusive);
  encodeLock(w, a.lock);
  return w.bool(a.reclaim).int32(a.state).toBuffer();
}

export function encodeUnlockArgs(a: Nlm4UnlockArgs): Buffer {
  const w = new XdrWriter(256).opaque(a.cookie);
  encodeLock(w, a.lock);
  return w.toBuffer();
}

export function encodeCancelArgs(a: Nlm4CancelArgs): Buffer {
  const w = new XdrWriter(256).opaque(a.cookie).bool(a.block).bool(a.exclusive);
  encodeLock(w, a.lock);
  return w.toBuffer();
}

/** nlm4_res as a client reads it (the GRANTED callback's answer). */
export function decodeRes(r: XdrReader): { cookie: Buffer; stat: number } {
  const cookie = netobj(r, 'cookie');
  const stat = r.uint32('stat');
  r.end('nlm4_res');
  return { cookie, stat };
}

/** nlm4_testres as a client reads it. */
export function decodeTestRes(r: XdrReader): { cookie: Buffer; stat: number; holder?: Nlm4Holder } {
  const cookie = netobj(r, 'cookie');
  const stat = r.uint32('stat');
  if (stat !== Nlm4Stat.DENIED) {
    r.end('nlm4_testres');
    return { cookie, stat };
  }
  const holder = {
    exclusive: r.bool('exclusive'),
    svid: r.int32('svid'),
    oh: netobj(r, 'oh'),
    offset: r.uint64('l_offset'),
    length: r.uint64('l_len'),
  };
  r.end('nlm4_testres');
  return { cookie, stat, holder };
}
