import { XdrError } from '../xdr/errors.ts';
import { XdrReader } from '../xdr/reader.ts';
import { XdrWriter } from '../xdr/writer.ts';
import { encodeCred } from './auth.ts';
import {
  AcceptStat,
  AuthFlavor,
  MSG_CALL,
  MSG_REPLY,
  REPLY_ACCEPTED,
  REPLY_DENIED,
  RejectStat,
  RPC_VERSION,
} from './constants.ts';
import type { RpcCred } from './program.ts';

/**
 * The record is not an RPC call this server can answer at all (not a CALL, header cut short):
 * the connection is closed rather than answered (there is no reliable xid to answer).
 */
export class RpcFramingError extends Error {
  override readonly name = 'RpcFramingError';
}

/** opaque_auth (RFC 5531 §8.2): a flavour and its body, as sent. */
export interface OpaqueAuth {
  flavor: number;
  body: Buffer;
}

export type CallHeader =
  /** rpcvers is not 2: answered with RPC_MISMATCH, the rest is not read. */
  | { kind: 'rpc-mismatch'; xid: number; rpcvers: number }
  | {
      kind: 'call';
      xid: number;
      prog: number;
      vers: number;
      proc: number;
      cred: OpaqueAuth;
      verf: OpaqueAuth;
      /** Where the procedure's arguments start in the record. */
      argsOffset: number;
    };

/** The fields' names, made once (not at every call). */
const AUTH_FIELDS = {
  cred: { flavor: 'cred.flavor', body: 'cred.body' },
  verf: { flavor: 'verf.flavor', body: 'verf.body' },
} as const;

function readAuth(r: XdrReader, field: keyof typeof AUTH_FIELDS, limit: number): OpaqueAuth {
  const names = AUTH_FIELDS[field];
  const flavor = r.uint32(names.flavor);
  // Any length that fits in the record is read here; the 400-byte limit is an auth error
  // (AUTH_BADCRED / AUTH_BADVERF), answered, not a framing error.
  const body = r.opaque(limit, names.body);
  return { flavor, body };
}

/** Decodes `rpc_msg` up to the arguments (RFC 5531 §9). Throws RpcFramingError. */
export function decodeCallHeader(record: Buffer): CallHeader {
  const r = new XdrReader(record);
  try {
    const xid = r.uint32('xid');
    const mtype = r.uint32('mtype');
    if (mtype !== MSG_CALL) throw new RpcFramingError(`message type ${mtype} is not CALL`);
    const rpcvers = r.uint32('rpcvers');
    if (rpcvers !== RPC_VERSION) return { kind: 'rpc-mismatch', xid, rpcvers };
    const prog = r.uint32('prog');
    const vers = r.uint32('vers');
    const proc = r.uint32('proc');
    const cred = readAuth(r, 'cred', record.length);
    const verf = readAuth(r, 'verf', record.length);
    return { kind: 'call', xid, prog, vers, proc, cred, verf, argsOffset: r.offset };
  } catch (e) {
    if (e instanceof XdrError) throw new RpcFramingError(`call header: ${e.message}`);
    throw e;
  }
}

function replyStart(xid: number, replyStat: number): XdrWriter {
  return new XdrWriter(64).uint32(xid).uint32(MSG_REPLY).uint32(replyStat);
}

/**
 * An accepted reply's header up to and including accept_stat, with an AUTH_NONE verifier;
 * a SUCCESS result body follows in the same writer.
 */
export function acceptedReplyWriter(xid: number, stat: number, initial = 512, headroom = 0): XdrWriter {
  return new XdrWriter(initial, headroom)
    .uint32(xid)
    .uint32(MSG_REPLY)
    .uint32(REPLY_ACCEPTED)
    .uint32(AuthFlavor.NONE)
    .uint32(0)
    .uint32(stat);
}

/** Byte length of `acceptedReplyWriter`'s header: the result body starts here. */
export const ACCEPTED_HEADER_BYTES = 24;

/** A complete accepted reply without results (PROG_UNAVAIL, PROC_UNAVAIL, GARBAGE_ARGS, SYSTEM_ERR). */
export function acceptedErrorReply(xid: number, stat: number): Buffer {
  return acceptedReplyWriter(xid, stat, 32).toBuffer();
}

/** PROG_MISMATCH with the supported version range. */
export function progMismatchReply(xid: number, low: number, high: number): Buffer {
  return acceptedReplyWriter(xid, AcceptStat.PROG_MISMATCH, 32).uint32(low).uint32(high).toBuffer();
}

/** MSG_DENIED / RPC_MISMATCH: only version 2 is served (low = high = 2). */
export function rpcMismatchReply(xid: number): Buffer {
  return replyStart(xid, REPLY_DENIED)
    .uint32(RejectStat.RPC_MISMATCH)
    .uint32(RPC_VERSION)
    .uint32(RPC_VERSION)
    .toBuffer();
}

/** MSG_DENIED / AUTH_ERROR with its auth_stat. */
export function authErrorReply(xid: number, authStat: number): Buffer {
  return replyStart(xid, REPLY_DENIED).uint32(RejectStat.AUTH_ERROR).uint32(authStat).toBuffer();
}

// ---- the calling side (portmapper registration, health probe, NLM callbacks, tests) ---------

export interface CallSpec {
  xid: number;
  prog: number;
  vers: number;
  proc: number;
  cred?: RpcCred;
  args?: Buffer;
}

/** An encoded CALL message (without record marking). */
export function encodeCall(c: CallSpec): Buffer {
  const w = new XdrWriter(128 + (c.args?.length ?? 0))
    .uint32(c.xid)
    .uint32(MSG_CALL)
    .uint32(RPC_VERSION)
    .uint32(c.prog)
    .uint32(c.vers)
    .uint32(c.proc);
  encodeCred(w, c.cred ?? { flavor: 'none' });
  w.uint32(AuthFlavor.NONE).uint32(0);
  if (c.args) w.fixedOpaque(c.args);
  return w.toBuffer();
}

export type RpcReply =
  | {
      xid: number;
      status: 'accepted';
      /** accept_stat */
      stat: number;
      /** PROG_MISMATCH's range. */
      mismatch?: { low: number; high: number };
      /** The results after accept_stat SUCCESS: the caller decodes them. */
      results: XdrReader;
    }
  | { xid: number; status: 'rpc-mismatch'; low: number; high: number }
  | { xid: number; status: 'auth-error'; authStat: number };

/** Decodes a REPLY message; throws XdrError when it is not one. */
export function decodeReply(message: Buffer): RpcReply {
  const r = new XdrReader(message);
  const xid = r.uint32('xid');
  const mtype = r.uint32('mtype');
  if (mtype !== MSG_REPLY) throw new XdrError('mtype', `message type ${mtype} is not REPLY`);
  const replyStat = r.uint32('reply_stat');
  if (replyStat === REPLY_ACCEPTED) {
    r.uint32('verf.flavor');
    r.opaque(400, 'verf.body');
    const stat = r.uint32('accept_stat');
    if (stat === AcceptStat.PROG_MISMATCH) {
      const low = r.uint32('mismatch.low');
      const high = r.uint32('mismatch.high');
      r.end('reply');
      return { xid, status: 'accepted', stat, mismatch: { low, high }, results: r };
    }
    if (stat > AcceptStat.SYSTEM_ERR) throw new XdrError('accept_stat', `unknown value ${stat}`);
    if (stat !== AcceptStat.SUCCESS) r.end('reply');
    return { xid, status: 'accepted', stat, results: r };
  }
  if (replyStat !== REPLY_DENIED) throw new XdrError('reply_stat', `unknown value ${replyStat}`);
  const reject = r.uint32('reject_stat');
  if (reject === RejectStat.RPC_MISMATCH) {
    const low = r.uint32('mismatch.low');
    const high = r.uint32('mismatch.high');
    r.end('reply');
    return { xid, status: 'rpc-mismatch', low, high };
  }
  if (reject !== RejectStat.AUTH_ERROR) throw new XdrError('reject_stat', `unknown value ${reject}`);
  const authStat = r.uint32('auth_stat');
  r.end('reply');
  return { xid, status: 'auth-error', authStat };
}
