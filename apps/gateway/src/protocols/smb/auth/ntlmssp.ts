import { NtlmError } from './errors.ts';

/**
 * NTLMSSP message codecs (MS-NLMP 2.2): NEGOTIATE, CHALLENGE, AUTHENTICATE and AV_PAIR lists.
 * Decoders are bounds-checked: every payload field (Len, MaxLen, BufferOffset) must lie inside
 * the message, strings must be whole UTF-16 code units, and errors name the field.
 */
export const NTLMSSP_SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');

/** NegotiateFlags (MS-NLMP 2.2.2.5). */
export const NTLMSSP = {
  NEGOTIATE_UNICODE: 0x00000001,
  NEGOTIATE_OEM: 0x00000002,
  REQUEST_TARGET: 0x00000004,
  NEGOTIATE_SIGN: 0x00000010,
  NEGOTIATE_SEAL: 0x00000020,
  NEGOTIATE_DATAGRAM: 0x00000040,
  NEGOTIATE_LM_KEY: 0x00000080,
  NEGOTIATE_NTLM: 0x00000200,
  NEGOTIATE_ANONYMOUS: 0x00000800,
  NEGOTIATE_OEM_DOMAIN_SUPPLIED: 0x00001000,
  NEGOTIATE_OEM_WORKSTATION_SUPPLIED: 0x00002000,
  NEGOTIATE_ALWAYS_SIGN: 0x00008000,
  TARGET_TYPE_DOMAIN: 0x00010000,
  TARGET_TYPE_SERVER: 0x00020000,
  NEGOTIATE_EXTENDED_SESSIONSECURITY: 0x00080000,
  NEGOTIATE_IDENTIFY: 0x00100000,
  REQUEST_NON_NT_SESSION_KEY: 0x00400000,
  NEGOTIATE_TARGET_INFO: 0x00800000,
  NEGOTIATE_VERSION: 0x02000000,
  NEGOTIATE_128: 0x20000000,
  NEGOTIATE_KEY_EXCH: 0x40000000,
  NEGOTIATE_56: 0x80000000,
} as const;

/** AvId (MS-NLMP 2.2.2.1). */
export const AV = {
  EOL: 0,
  NB_COMPUTER_NAME: 1,
  NB_DOMAIN_NAME: 2,
  DNS_COMPUTER_NAME: 3,
  DNS_DOMAIN_NAME: 4,
  DNS_TREE_NAME: 5,
  FLAGS: 6,
  TIMESTAMP: 7,
  SINGLE_HOST: 8,
  TARGET_NAME: 9,
  CHANNEL_BINDINGS: 10,
} as const;

/** MsvAvFlags bit: the AUTHENTICATE message carries a MIC (MS-NLMP 2.2.2.1). */
export const AV_FLAG_MIC_PRESENT = 0x00000002;

export const MESSAGE_TYPE = { NEGOTIATE: 1, CHALLENGE: 2, AUTHENTICATE: 3 } as const;

const NEGOTIATE_MIN = 16;
const CHALLENGE_HEADER = 56;
const AUTHENTICATE_HEADER = 64;
const VERSION_OFFSET = 64;
export const MIC_OFFSET = 72;
export const MIC_SIZE = 16;
/** A security blob this long is not an NTLMSSP message any client sends. */
const MAX_MESSAGE = 64 * 1024;
/** At most this many AV pairs in a list (clients send about ten). */
const MAX_AV_PAIRS = 64;

export interface AvPair {
  id: number;
  value: Buffer;
}

export interface NegotiateMessage {
  flags: number;
  domain: string;
  workstation: string;
  version?: Buffer;
  /** The message as received, for the MIC. */
  raw: Buffer;
}

export interface ChallengeMessage {
  flags: number;
  targetName: string;
  serverChallenge: Buffer;
  /** The AV_PAIR list as sent (ending with MsvAvEOL). */
  targetInfo: Buffer;
  version?: Buffer;
}

export interface AuthenticateMessage {
  flags: number;
  lmChallengeResponse: Buffer;
  ntChallengeResponse: Buffer;
  domain: string;
  user: string;
  workstation: string;
  encryptedRandomSessionKey: Buffer;
  version?: Buffer;
  /** The 16 bytes at offset 72, when the payload leaves room for them: the MIC if the client sent one. */
  micField?: Buffer;
  raw: Buffer;
}

function checkHeader(buf: Buffer, type: number, min: number, what: string): void {
  if (buf.length < min) throw new NtlmError(what, `needs at least ${min} bytes, has ${buf.length}`);
  if (buf.length > MAX_MESSAGE) throw new NtlmError(what, `${buf.length} bytes is too long`);
  if (!buf.subarray(0, 8).equals(NTLMSSP_SIGNATURE)) throw new NtlmError(what, 'no NTLMSSP signature');
  const t = buf.readUInt32LE(8);
  if (t !== type) throw new NtlmError(what, `MessageType ${t}, expected ${type}`);
}

/** The MessageType of an NTLMSSP message, or undefined when it does not start like one. */
export function ntlmMessageType(buf: Buffer): number | undefined {
  if (buf.length < 12 || !buf.subarray(0, 8).equals(NTLMSSP_SIGNATURE)) return undefined;
  return buf.readUInt32LE(8);
}

interface FieldRef {
  offset: number;
  length: number;
}

/** A (Len, MaxLen, BufferOffset) triple at `at`, checked against the message. */
function fieldRef(buf: Buffer, at: number, name: string): FieldRef {
  const length = buf.readUInt16LE(at);
  const offset = buf.readUInt32LE(at + 4);
  if (length > 0 && offset + length > buf.length)
    throw new NtlmError(name, `${length} bytes at offset ${offset} run past the message (${buf.length})`);
  return { offset, length };
}

function bytesOf(buf: Buffer, ref: FieldRef): Buffer {
  return ref.length === 0 ? Buffer.alloc(0) : buf.subarray(ref.offset, ref.offset + ref.length);
}

function stringOf(buf: Buffer, ref: FieldRef, unicode: boolean, name: string): string {
  const b = bytesOf(buf, ref);
  if (!unicode) return b.toString('latin1');
  if (b.length % 2 !== 0) throw new NtlmError(name, `odd length ${b.length} for a UTF-16 string`);
  return b.toString('utf16le');
}

/** Smallest BufferOffset among non-empty payload fields: where the fixed part ends at the latest. */
function payloadStart(refs: FieldRef[], fallback: number): number {
  let min = fallback;
  for (const r of refs) if (r.length > 0 && r.offset < min) min = r.offset;
  return min;
}

export function decodeNegotiate(buf: Buffer): NegotiateMessage {
  checkHeader(buf, MESSAGE_TYPE.NEGOTIATE, NEGOTIATE_MIN, 'NEGOTIATE_MESSAGE');
  const flags = buf.readUInt32LE(12);
  // Old clients stop after NegotiateFlags; Domain/Workstation fields follow only when there is room.
  let domain = '';
  let workstation = '';
  let version: Buffer | undefined;
  if (buf.length >= 32) {
    const d = fieldRef(buf, 16, 'DomainNameFields');
    const w = fieldRef(buf, 24, 'WorkstationFields');
    // MS-NLMP 2.2.1.1: both are OEM strings.
    if (flags & NTLMSSP.NEGOTIATE_OEM_DOMAIN_SUPPLIED) domain = stringOf(buf, d, false, 'DomainName');
    if (flags & NTLMSSP.NEGOTIATE_OEM_WORKSTATION_SUPPLIED)
      workstation = stringOf(buf, w, false, 'Workstation');
    if (flags & NTLMSSP.NEGOTIATE_VERSION && payloadStart([d, w], buf.length) >= 40 && buf.length >= 40)
      version = buf.subarray(32, 40);
  }
  const msg: NegotiateMessage = { flags, domain, workstation, raw: buf };
  if (version !== undefined) msg.version = version;
  return msg;
}

export function encodeNegotiate(m: {
  flags: number;
  domain?: string;
  workstation?: string;
  version?: Buffer;
}): Buffer {
  const domain = Buffer.from(m.domain ?? '', 'latin1');
  const workstation = Buffer.from(m.workstation ?? '', 'latin1');
  const head = Buffer.alloc(40);
  NTLMSSP_SIGNATURE.copy(head, 0);
  head.writeUInt32LE(MESSAGE_TYPE.NEGOTIATE, 8);
  head.writeUInt32LE(m.flags >>> 0, 12);
  let at = 40;
  writeRef(head, 16, domain.length, at);
  at += domain.length;
  writeRef(head, 24, workstation.length, at);
  (m.version ?? Buffer.alloc(8)).copy(head, 32, 0, 8);
  return Buffer.concat([head, domain, workstation]);
}

function writeRef(buf: Buffer, at: number, length: number, offset: number): void {
  if (length > 0xffff) throw new RangeError(`an NTLMSSP field holds at most 65535 bytes, not ${length}`);
  buf.writeUInt16LE(length, at);
  buf.writeUInt16LE(length, at + 2);
  buf.writeUInt32LE(offset, at + 4);
}

function encodeString(s: string, unicode: boolean): Buffer {
  return Buffer.from(s, unicode ? 'utf16le' : 'latin1');
}

export function encodeChallenge(m: ChallengeMessage): Buffer {
  if (m.serverChallenge.length !== 8) throw new RangeError('ServerChallenge is 8 bytes');
  const unicode = (m.flags & NTLMSSP.NEGOTIATE_UNICODE) !== 0;
  const target = encodeString(m.targetName, unicode);
  const head = Buffer.alloc(CHALLENGE_HEADER);
  NTLMSSP_SIGNATURE.copy(head, 0);
  head.writeUInt32LE(MESSAGE_TYPE.CHALLENGE, 8);
  writeRef(head, 12, target.length, CHALLENGE_HEADER);
  head.writeUInt32LE(m.flags >>> 0, 20);
  m.serverChallenge.copy(head, 24);
  writeRef(head, 40, m.targetInfo.length, CHALLENGE_HEADER + target.length);
  (m.version ?? Buffer.alloc(8)).copy(head, 48, 0, 8);
  return Buffer.concat([head, target, m.targetInfo]);
}

export function decodeChallenge(buf: Buffer): ChallengeMessage {
  checkHeader(buf, MESSAGE_TYPE.CHALLENGE, 48, 'CHALLENGE_MESSAGE');
  const flags = buf.readUInt32LE(20);
  const unicode = (flags & NTLMSSP.NEGOTIATE_UNICODE) !== 0;
  const t = fieldRef(buf, 12, 'TargetNameFields');
  const i = fieldRef(buf, 40, 'TargetInfoFields');
  const msg: ChallengeMessage = {
    flags,
    targetName: stringOf(buf, t, unicode, 'TargetName'),
    serverChallenge: buf.subarray(24, 32),
    targetInfo: bytesOf(buf, i),
  };
  if (
    flags & NTLMSSP.NEGOTIATE_VERSION &&
    buf.length >= CHALLENGE_HEADER &&
    payloadStart([t, i], buf.length) >= 56
  )
    msg.version = buf.subarray(48, 56);
  return msg;
}

export function decodeAuthenticate(buf: Buffer, unicode: boolean): AuthenticateMessage {
  checkHeader(buf, MESSAGE_TYPE.AUTHENTICATE, AUTHENTICATE_HEADER, 'AUTHENTICATE_MESSAGE');
  const lm = fieldRef(buf, 12, 'LmChallengeResponseFields');
  const nt = fieldRef(buf, 20, 'NtChallengeResponseFields');
  const d = fieldRef(buf, 28, 'DomainNameFields');
  const u = fieldRef(buf, 36, 'UserNameFields');
  const w = fieldRef(buf, 44, 'WorkstationFields');
  const k = fieldRef(buf, 52, 'EncryptedRandomSessionKeyFields');
  const flags = buf.readUInt32LE(60);
  const start = payloadStart([lm, nt, d, u, w, k], buf.length);
  const msg: AuthenticateMessage = {
    flags,
    lmChallengeResponse: bytesOf(buf, lm),
    ntChallengeResponse: bytesOf(buf, nt),
    domain: stringOf(buf, d, unicode, 'DomainName'),
    user: stringOf(buf, u, unicode, 'UserName'),
    workstation: stringOf(buf, w, unicode, 'Workstation'),
    encryptedRandomSessionKey: bytesOf(buf, k),
    raw: buf,
  };
  if (flags & NTLMSSP.NEGOTIATE_VERSION && start >= MIC_OFFSET)
    msg.version = buf.subarray(VERSION_OFFSET, MIC_OFFSET);
  if (start >= MIC_OFFSET + MIC_SIZE) msg.micField = buf.subarray(MIC_OFFSET, MIC_OFFSET + MIC_SIZE);
  return msg;
}

export function encodeAuthenticate(
  m: Omit<AuthenticateMessage, 'raw' | 'micField'> & { mic?: Buffer },
  unicode: boolean,
): Buffer {
  const payload = [
    m.lmChallengeResponse,
    m.ntChallengeResponse,
    encodeString(m.domain, unicode),
    encodeString(m.user, unicode),
    encodeString(m.workstation, unicode),
    m.encryptedRandomSessionKey,
  ];
  const headSize = MIC_OFFSET + MIC_SIZE;
  const head = Buffer.alloc(headSize);
  NTLMSSP_SIGNATURE.copy(head, 0);
  head.writeUInt32LE(MESSAGE_TYPE.AUTHENTICATE, 8);
  let at = headSize;
  // Payload order as Windows lays it out: Domain, User, Workstation, Lm, Nt, session key.
  const order = [2, 3, 4, 0, 1, 5];
  const offsets: number[] = [];
  for (const i of order) {
    offsets[i] = at;
    at += payload[i]!.length;
  }
  [12, 20, 28, 36, 44, 52].forEach((ref, i) => {
    writeRef(head, ref, payload[i]!.length, offsets[i]!);
  });
  head.writeUInt32LE(m.flags >>> 0, 60);
  (m.version ?? Buffer.alloc(8)).copy(head, VERSION_OFFSET, 0, 8);
  if (m.mic !== undefined) m.mic.copy(head, MIC_OFFSET, 0, MIC_SIZE);
  return Buffer.concat([head, ...order.map((i) => payload[i]!)]);
}

/** An AV_PAIR list, which must end with MsvAvEOL; bytes after it (clients pad) are ignored. */
export function decodeAvPairs(buf: Buffer, field: string): AvPair[] {
  const pairs: AvPair[] = [];
  let at = 0;
  for (;;) {
    if (buf.length - at < 4) throw new NtlmError(field, 'AV_PAIR list without MsvAvEOL');
    const id = buf.readUInt16LE(at);
    const len = buf.readUInt16LE(at + 2);
    at += 4;
    if (len > buf.length - at) throw new NtlmError(field, `AV_PAIR ${id} of ${len} bytes runs past the end`);
    if (id === AV.EOL) {
      if (len !== 0) throw new NtlmError(field, 'MsvAvEOL with a value');
      return pairs;
    }
    if (pairs.length === MAX_AV_PAIRS) throw new NtlmError(field, `more than ${MAX_AV_PAIRS} AV_PAIRs`);
    pairs.push({ id, value: buf.subarray(at, at + len) });
    at += len;
  }
}

export function encodeAvPairs(pairs: readonly AvPair[]): Buffer {
  const parts: Buffer[] = [];
  for (const p of pairs) {
    const h = Buffer.alloc(4);
    h.writeUInt16LE(p.id, 0);
    h.writeUInt16LE(p.value.length, 2);
    parts.push(h, p.value);
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

/** FILETIME (100 ns ticks since 1601-01-01 UTC) of a JavaScript time. */
export function fileTime(ms: number): bigint {
  return (BigInt(Math.floor(ms)) + 11644473600000n) * 10000n;
}

export function fileTimeToMs(ft: bigint): number {
  return Number(ft / 10000n - 11644473600000n);
}
