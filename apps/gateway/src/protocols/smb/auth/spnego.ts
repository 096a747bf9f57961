import {
  context,
  DerReader,
  decodeEnumerated,
  decodeOid,
  encodeEnumerated,
  encodeOid,
  TAG,
  tlv,
} from './der.ts';
import { DerError } from './errors.ts';

/**
 * SPNEGO (RFC 4178, with MS-SPNG's NegTokenInit2): the tokens SMB2 carries in NEGOTIATE and
 * SESSION_SETUP security buffers.
 *
 *   InitialContextToken ::= [APPLICATION 0] IMPLICIT SEQUENCE { thisMech OID (1.3.6.1.5.5.2), innerToken }
 *   NegotiationToken ::= CHOICE { negTokenInit [0] NegTokenInit, negTokenResp [1] NegTokenResp }
 *   NegTokenInit ::= SEQUENCE { mechTypes [0] MechTypeList, reqFlags [1] ContextFlags OPTIONAL,
 *                               mechToken [2] OCTET STRING OPTIONAL, mechListMIC [3] OCTET STRING OPTIONAL }
 *     (NegTokenInit2: [3] is negHints SEQUENCE, [4] mechListMIC)
 *   NegTokenResp ::= SEQUENCE { negState [0] ENUMERATED OPTIONAL, supportedMech [1] OID OPTIONAL,
 *                               responseToken [2] OCTET STRING OPTIONAL, mechListMIC [3] OCTET STRING OPTIONAL }
 */
export const OID = {
  SPNEGO: '1.3.6.1.5.5.2',
  NTLMSSP: '1.3.6.1.4.1.311.2.2.10',
  KRB5: '1.2.840.113554.1.2.2',
  MS_KRB5: '1.2.840.48018.1.2.2',
  NEGOEX: '1.3.6.1.4.1.311.2.2.30',
} as const;

export const NEG_STATE = ['accept-completed', 'accept-incomplete', 'reject', 'request-mic'] as const;
export type NegState = (typeof NEG_STATE)[number];

/** A client will not offer more mechanisms than this; a longer list is refused as garbage. */
const MAX_MECH_TYPES = 32;

export interface NegTokenInit {
  mechTypes: string[];
  /** The MechTypeList's DER as received: what a mechListMIC covers (RFC 4178 §5). */
  mechTypesDer: Buffer;
  reqFlags?: Buffer;
  mechToken?: Buffer;
  mechListMIC?: Buffer;
}

export interface NegTokenResp {
  negState?: NegState;
  supportedMech?: string;
  responseToken?: Buffer;
  mechListMIC?: Buffer;
}

export type SpnegoToken = { kind: 'init'; init: NegTokenInit } | { kind: 'resp'; resp: NegTokenResp };

/**
 * A client's SPNEGO token: a GSS-wrapped NegTokenInit (the first), a bare NegTokenResp (the
 * rest), or — as some clients send — a bare NegTokenInit.
 */
export function decodeSpnego(token: Buffer): SpnegoToken {
  const outer = new DerReader(token);
  const first = outer.read('spnego token');
  outer.end('spnego token');
  if (first.tag === TAG.APPLICATION_0) {
    const r = new DerReader(first.content);
    const mech = decodeOid(r.expect(TAG.OID, 'thisMech'), 'thisMech');
    if (mech !== OID.SPNEGO) throw new DerError('thisMech', `mechanism ${mech} is not SPNEGO`);
    const inner = r.read('innerToken');
    r.end('InitialContextToken');
    return decodeNegotiationToken(inner.tag, inner.content);
  }
  return decodeNegotiationToken(first.tag, first.content);
}

function decodeNegotiationToken(tag: number, content: Buffer): SpnegoToken {
  if (tag === context(0)) return { kind: 'init', init: decodeNegTokenInit(content) };
  if (tag === context(1)) return { kind: 'resp', resp: decodeNegTokenResp(content) };
  throw new DerError(
    'NegotiationToken',
    `tag 0x${tag.toString(16)} is neither negTokenInit nor negTokenResp`,
  );
}

/** Fields of a SEQUENCE of explicitly tagged optional members, in ascending tag order. */
function taggedFields(content: Buffer, field: string, maxTag: number): Map<number, Buffer> {
  const seq = new DerReader(content);
  const body = seq.expect(TAG.SEQUENCE, field);
  seq.end(field);
  const r = new DerReader(body);
  const fields = new Map<number, Buffer>();
  let last = -1;
  while (!r.atEnd()) {
    const v = r.read(field);
    const n = v.tag - 0xa0;
    if (n < 0 || n > maxTag) throw new DerError(field, `unexpected tag 0x${v.tag.toString(16)}`);
    if (n <= last) throw new DerError(field, `member [${n}] out of order or repeated`);
    last = n;
    fields.set(n, v.content);
  }
  return fields;
}

/** The single value inside an explicit tag. */
function only(content: Buffer, tag: number, field: string): Buffer {
  const r = new DerReader(content);
  const v = r.expect(tag, field);
  r.end(field);
  return v;
}

function decodeNegTokenInit(content: Buffer): NegTokenInit {
  const f = taggedFields(content, 'negTokenInit', 4);
  const mt = f.get(0);
  if (mt === undefined) throw new DerError('mechTypes', 'missing');
  const mtReader = new DerReader(mt);
  const list = mtReader.read('mechTypes', TAG.SEQUENCE);
  mtReader.end('mechTypes');
  const mechTypes: string[] = [];
  const lr = new DerReader(list.content);
  while (!lr.atEnd()) {
    if (mechTypes.length === MAX_MECH_TYPES)
      throw new DerError('mechTypes', `more than ${MAX_MECH_TYPES} mechanisms`);
    mechTypes.push(decodeOid(lr.expect(TAG.OID, 'mechTypes'), 'mechTypes'));
  }
  if (mechTypes.length === 0) throw new DerError('mechTypes', 'empty');
  const init: NegTokenInit = { mechTypes, mechTypesDer: list.raw };
  const reqFlags = f.get(1);
  if (reqFlags !== undefined) init.reqFlags = only(reqFlags, TAG.BIT_STRING, 'reqFlags');
  const mechToken = f.get(2);
  if (mechToken !== undefined) init.mechToken = only(mechToken, TAG.OCTET_STRING, 'mechToken');
  // [3] is mechListMIC in RFC 4178 and negHints (a SEQUENCE, ignored) in MS-SPNG's NegTokenInit2.
  const third = f.get(3);
  if (third !== undefined && third[0] === TAG.OCTET_STRING)
    init.mechListMIC = only(third, TAG.OCTET_STRING, 'mechListMIC');
  else if (third !== undefined) only(third, TAG.SEQUENCE, 'negHints');
  const fourth = f.get(4);
  if (fourth !== undefined) init.mechListMIC = only(fourth, TAG.OCTET_STRING, 'mechListMIC');
  return init;
}

function decodeNegTokenResp(content: Buffer): NegTokenResp {
  const f = taggedFields(content, 'negTokenResp', 3);
  const resp: NegTokenResp = {};
  const negState = f.get(0);
  if (negState !== undefined) {
    const v = decodeEnumerated(only(negState, TAG.ENUMERATED, 'negState'), 'negState');
    const name = NEG_STATE[v];
    if (name === undefined) throw new DerError('negState', `unknown value ${v}`);
    resp.negState = name;
  }
  const mech = f.get(1);
  if (mech !== undefined)
    resp.supportedMech = decodeOid(only(mech, TAG.OID, 'supportedMech'), 'supportedMech');
  const token = f.get(2);
  if (token !== undefined) resp.responseToken = only(token, TAG.OCTET_STRING, 'responseToken');
  const mic = f.get(3);
  if (mic !== undefined) resp.mechListMIC = only(mic, TAG.OCTET_STRING, 'mechListMIC');
  return resp;
}

/** MechTypeList DER: what a mechListMIC is computed over. */
export function encodeMechTypeList(mechTypes: readonly string[]): Buffer {
  return tlv(TAG.SEQUENCE, ...mechTypes.map(encodeOid));
}

/** A GSS-wrapped NegTokenInit (what a client sends first; the server's NEGOTIATE hint too). */
export function encodeNegTokenInit(init: {
  mechTypes: readonly string[];
  mechToken?: Buffer;
  mechListMIC?: Buffer;
}): Buffer {
  const members = [tlv(context(0), encodeMechTypeList(init.mechTypes))];
  if (init.mechToken !== undefined) members.push(tlv(context(2), tlv(TAG.OCTET_STRING, init.mechToken)));
  if (init.mechListMIC !== undefined) members.push(tlv(context(3), tlv(TAG.OCTET_STRING, init.mechListMIC)));
  return tlv(TAG.APPLICATION_0, encodeOid(OID.SPNEGO), tlv(context(0), tlv(TAG.SEQUENCE, ...members)));
}

export function encodeNegTokenResp(resp: NegTokenResp): Buffer {
  const members: Buffer[] = [];
  if (resp.negState !== undefined)
    members.push(tlv(context(0), encodeEnumerated(NEG_STATE.indexOf(resp.negState))));
  if (resp.supportedMech !== undefined) members.push(tlv(context(1), encodeOid(resp.supportedMech)));
  if (resp.responseToken !== undefined)
    members.push(tlv(context(2), tlv(TAG.OCTET_STRING, resp.responseToken)));
  if (resp.mechListMIC !== undefined) members.push(tlv(context(3), tlv(TAG.OCTET_STRING, resp.mechListMIC)));
  return tlv(context(1), tlv(TAG.SEQUENCE, ...members));
}
