/**
 * Reads a captured CALL record back into one line of text: the RPC header (RFC 5531 §9,
 * AUTH_SYS per appendix A) and the procedure's arguments (procedures.ts). The fixture keeps
 * that line beside each request, so a re-capture's diff shows what libnfs now sends, and the
 * replay test checks every request still reads as its line.
 */
import { XdrReader } from '../../src/protocols/xdr/reader.ts';
import { PROGRAM_OF, procedure } from './procedures.ts';
import type { Service } from './session.ts';

export interface DecodedCall {
  xid: number;
  prog: number;
  vers: number;
  proc: number;
  /** e.g. `[2100:2100] LOOKUP fh(ino 5) "small.txt"`: AUTH_SYS uid:gid, procedure, arguments. */
  text: string;
}

const AUTH_NONE = 0;
const AUTH_SYS = 1;

function credential(r: XdrReader): string {
  const flavor = r.uint32('cred.flavor');
  const body = r.opaque(400, 'cred.body');
  if (flavor === AUTH_NONE) return 'none';
  if (flavor !== AUTH_SYS) return `flavor ${flavor}`;
  const b = new XdrReader(body);
  b.uint32('stamp');
  b.string(255, 'machinename');
  const uid = b.uint32('uid');
  const gid = b.uint32('gid');
  const gids = b.array(16, 'gids', () => b.uint32('gid'));
  b.end('authsys_parms');
  return gids.length === 0 ? `${uid}:${gid}` : `${uid}:${gid}+${gids.join(',')}`;
}

/** Decodes a CALL record completely; throws when it is anything else or has bytes left over. */
export function decodeCall(service: Service, record: Buffer): DecodedCall {
  const r = new XdrReader(record);
  const xid = r.uint32('xid');
  if (r.uint32('mtype') !== 0) throw new Error('not a CALL');
  if (r.uint32('rpcvers') !== 2) throw new Error('not RPC version 2');
  const prog = r.uint32('prog');
  const vers = r.uint32('vers');
  const proc = r.uint32('proc');
  const who = credential(r);
  r.uint32('verf.flavor');
  r.opaque(400, 'verf.body');
  if (prog !== PROGRAM_OF[service] || vers !== 3)
    throw new Error(`program ${prog} v${vers} on the ${service} port`);
  const row = procedure(service, proc);
  const text = `[${who}] ${row.name} ${row.args(r)}`.trimEnd();
  r.end(`${row.name} arguments`);
  return { xid, prog, vers, proc, text };
}
