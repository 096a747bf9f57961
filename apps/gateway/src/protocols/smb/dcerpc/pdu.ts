/** Connection-oriented DCE/RPC PDUs (C706 §12.6, MS-RPCE §2.2.2) over a named pipe. */
export const PTYPE = {
  REQUEST: 0,
  RESPONSE: 2,
  FAULT: 3,
  BIND: 11,
  BIND_ACK: 12,
  BIND_NAK: 13,
  ALTER_CONTEXT: 14,
  ALTER_CONTEXT_RESP: 15,
  AUTH3: 16,
} as const;

export const PFC_FIRST_FRAG = 0x01;
export const PFC_LAST_FRAG = 0x02;
export const PFC_OBJECT_UUID = 0x80;
export const HEADER = 16;

export const NCA_S_OP_RNG_ERROR = 0x1c01_0002;
export const NCA_S_PROTO_ERROR = 0x1c01_000b;
export const NCA_S_UNKNOWN_IF = 0x1c01_0003;

/** NDR transfer syntax 8a885d04-1ceb-11c9-9fe8-08002b104860 v2. */
export const NDR_SYNTAX = { uuid: '8a885d04-1ceb-11c9-9fe8-08002b104860', version: 2 };
/** Bind time feature negotiation: the first 8 bytes of the uuid mark it (MS-RPCE §3.3.1.5.3). */
const BTFN_PREFIX = '6cb71c2c-9812-4540';

export interface PduHeader {
  type: number;
  flags: number;
  fragLength: number;
  authLength: number;
  callId: number;
}

export function readHeader(b: Buffer): PduHeader | undefined {
  if (b.length < HEADER) return undefined;
  return {
    type: b[2]!,
    flags: b[3]!,
    fragLength: b.readUInt16LE(8),
    authLength: b.readUInt16LE(10),
    callId: b.readUInt32LE(12),
  };
}

export function pdu(type: number, flags: number, callId: number, body: Buffer): Buffer {
  const h = Buffer.alloc(HEADER);
  h[0] = 5;
  h[1] = 0;
  h[2] = type;
  h[3] = flags;
  h[4] = 0x10; // little-endian integers, ASCII, IEEE floats
  h.writeUInt16LE(HEADER + body.length, 8);
  h.writeUInt16LE(0, 10);
  h.writeUInt32LE(callId, 12);
  return Buffer.concat([h, body]);
}

/** A UUID in its NDR wire form (first three fields little-endian). */
export function uuidString(b: Buffer, at: number): string {
  const hex = (from: number, to: number) => b.subarray(at + from, at + to).toString('hex');
  const le = (from: number, n: number) =>
    Buffer.from(b.subarray(at + from, at + from + n))
      .reverse()
      .toString('hex');
  return `${le(0, 4)}-${le(4, 2)}-${le(6, 2)}-${hex(8, 10)}-${hex(10, 16)}`;
}

export function uuidBytes(s: string): Buffer {
  const [a = '', b = '', c = '', d = '', e = ''] = s.split('-');
  return Buffer.concat([
    Buffer.from(a, 'hex').reverse(),
    Buffer.from(b, 'hex').reverse(),
    Buffer.from(c, 'hex').reverse(),
    Buffer.from(d + e, 'hex'),
  ]);
}

export interface PresentationContext {
  id: number;
  abstract: { uuid: string; version: number };
  transfers: Array<{ uuid: string; version: number }>;
}

/** BIND / ALTER_CONTEXT body (after the header): frag sizes, assoc group, the context list. */
export function readBind(b: Buffer): { maxXmit: number; maxRecv: number; contexts: PresentationContext[] } {
  let p = HEADER;
  const need = (n: number) => {
    if (p + n > b.length) throw new Error('bind PDU too short');
  };
  need(12);
  const maxXmit = b.readUInt16LE(p);
  const maxRecv = b.readUInt16LE(p + 2);
  const n = b[p + 8]!;
  p += 12;
  const contexts: PresentationContext[] = [];
  for (let i = 0; i < n; i++) {
    need(24);
    const id = b.readUInt16LE(p);
    const nt = b[p + 2]!;
    const abstract = { uuid: uuidString(b, p + 4), version: b.readUInt16LE(p + 20) };
    p += 24;
    const transfers = [];
    for (let j = 0; j < nt; j++) {
      need(20);
      transfers.push({ uuid: uuidString(b, p), version: b.readUInt16LE(p + 16) });
      p += 20;
    }
    contexts.push({ id, abstract, transfers });
  }
  return { maxXmit, maxRecv, contexts };
}

export interface ContextResult {
  result: number;
  reason: number;
  transfer: { uuid: string; version: number };
}

/** Accepts NDR for the interfaces served, acknowledges bind-time feature negotiation with no features. */
export function contextResult(
  c: PresentationContext,
  served: (uuid: string, version: number) => boolean,
): ContextResult {
  const none = { uuid: '00000000-0000-0000-0000-000000000000', version: 0 };
  if (c.transfers.some((t) => t.uuid.startsWith(BTFN_PREFIX)))
    return { result: 3, reason: 0, transfer: none };
  if (!served(c.abstract.uuid, c.abstract.version)) return { result: 2, reason: 1, transfer: none };
  const ndr = c.transfers.find((t) => t.uuid === NDR_SYNTAX.uuid && t.version === NDR_SYNTAX.version);
  if (!ndr) return { result: 2, reason: 2, transfer: none };
  return { result: 0, reason: 0, transfer: ndr };
}

export function bindAck(
  type: number,
  callId: number,
  maxXmit: number,
  maxRecv: number,
  assocGroup: number,
  secondaryAddress: string,
  results: ContextResult[],
): Buffer {
  const addr = secondaryAddress ? Buffer.from(`${secondaryAddress}\0`, 'latin1') : Buffer.alloc(0);
  const head = Buffer.alloc(8 + 2);
  head.writeUInt16LE(maxXmit, 0);
  head.writeUInt16LE(maxRecv, 2);
  head.writeUInt32LE(assocGroup, 4);
  head.writeUInt16LE(addr.length, 8);
  const sofar = HEADER + head.length + addr.length;
  const pad = Buffer.alloc((4 - (sofar % 4)) % 4);
  const list = Buffer.alloc(4 + 24 * results.length);
  list[0] = results.length;
  results.forEach((r, i) => {
    const at = 4 + 24 * i;
    list.writeUInt16LE(r.result, at);
    list.writeUInt16LE(r.reason, at + 2);
    uuidBytes(r.transfer.uuid).copy(list, at + 4);
    list.writeUInt32LE(r.transfer.version, at + 20);
  });
  return pdu(type, PFC_FIRST_FRAG | PFC_LAST_FRAG, callId, Buffer.concat([head, addr, pad, list]));
}

export function fault(callId: number, contextId: number, status: number): Buffer {
  const body = Buffer.alloc(16);
  body.writeUInt16LE(contextId, 4);
  body.writeUInt32LE(status, 8);
  return pdu(PTYPE.FAULT, PFC_FIRST_FRAG | PFC_LAST_FRAG | 0x20, callId, body);
}

/** RESPONSE PDUs carrying `stub`, fragmented to the client's receive size. */
export function responses(callId: number, contextId: number, stub: Buffer, maxFrag: number): Buffer[] {
  const room = Math.max(64, maxFrag - HEADER - 8) & ~7;
  const out: Buffer[] = [];
  for (let off = 0; off < stub.length || out.length === 0; off += room) {
    const part = stub.subarray(off, off + room);
    const flags = (off === 0 ? PFC_FIRST_FRAG : 0) | (off + room >= stub.length ? PFC_LAST_FRAG : 0);
    const body = Buffer.alloc(8);
    body.writeUInt32LE(stub.length - off, 0);
    body.writeUInt16LE(contextId, 4);
    out.push(pdu(PTYPE.RESPONSE, flags, callId, Buffer.concat([body, part])));
  }
  return out;
}
