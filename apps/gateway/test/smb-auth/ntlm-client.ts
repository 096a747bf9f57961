/**
 * An NTLMv2 client for driving the acceptor, written from MS-NLMP 3.1.5 / 3.3.2 / 3.4 and
 * RFC 4178 directly — its own byte layout and DER, none of the server's codecs — so the two
 * sides cannot share a mistake. Options bend it into the clients the acceptor must cope with
 * (or refuse): no MIC, no key exchange, a deferred mechListMIC, NTLMv1, anonymous, a
 * Kerberos-first mechanism list.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { rc4 } from '../../src/protocols/smb/crypto/rc4.ts';

const md4 = createRequire(import.meta.url)('js-md4') as { arrayBuffer(m: Uint8Array): ArrayBuffer };

export const OIDS = {
  spnego: '2b0601050502',
  ntlmssp: '2b06010401823702020a',
  krb5: '2a864886f712010202',
} as const;

// ── minimal DER, independent of the server's ────────────────────────────────────────────────
function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  return Buffer.from([0x82, n >> 8, n & 0xff]);
}
export function der(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
}
const oid = (hexBody: string): Buffer => der(0x06, Buffer.from(hexBody, 'hex'));

interface Tlv {
  tag: number;
  body: Buffer;
}
function children(buf: Buffer): Tlv[] {
  const out: Tlv[] = [];
  let at = 0;
  while (at < buf.length) {
    const tag = buf[at]!;
    let n = buf[at + 1]!;
    let head = 2;
    if (n & 0x80) {
      const k = n & 0x7f;
      n = 0;
      for (let i = 0; i < k; i++) n = n * 256 + buf[at + 2 + i]!;
      head = 2 + k;
    }
    out.push({ tag, body: buf.subarray(at + head, at + head + n) });
    at += head + n;
  }
  return out;
}

/** The server's NegTokenResp, as fields. */
export function parseNegTokenResp(token: Buffer): {
  negState?: number;
  supportedMech?: string;
  responseToken?: Buffer;
  mechListMIC?: Buffer;
} {
  const [outer] = children(token);
  if (outer?.tag !== 0xa1) throw new Error(`not a NegTokenResp: tag ${outer?.tag}`);
  const [seq] = children(outer.body);
  const r: ReturnType<typeof parseNegTokenResp> = {};
  for (const f of children(seq!.body)) {
    const [inner] = children(f.body);
    if (f.tag === 0xa0) r.negState = inner!.body[0]!;
    if (f.tag === 0xa1) r.supportedMech = inner!.body.toString('hex');
    if (f.tag === 0xa2) r.responseToken = inner!.body;
    if (f.tag === 0xa3) r.mechListMIC = inner!.body;
  }
  return r;
}

// ── NTLM ──────────────────────────────────────────────────────────────────────────────────
const F = {
  UNICODE: 0x1,
  OEM: 0x2,
  REQUEST_TARGET: 0x4,
  SIGN: 0x10,
  SEAL: 0x20,
  LM_KEY: 0x80,
  NTLM: 0x200,
  ANONYMOUS: 0x800,
  ALWAYS_SIGN: 0x8000,
  ESS: 0x80000,
  VERSION: 0x2000000,
  N128: 0x20000000,
  KEY_EXCH: 0x40000000,
  N56: 0x80000000,
};
/** What Windows 10 sends (the blog's capture): E2088297. */
export const WINDOWS_NEGOTIATE_FLAGS = 0xe2088297;

const hmacMd5 = (key: Buffer, ...d: Buffer[]): Buffer => {
  const h = createHmac('md5', key);
  for (const x of d) h.update(x);
  return h.digest();
};
const md5 = (...d: Buffer[]): Buffer => {
  const h = createHash('md5');
  for (const x of d) h.update(x);
  return h.digest();
};
export const ntHashOf = (password: string): Buffer =>
  Buffer.from(md4.arrayBuffer(Buffer.from(password, 'utf16le')));

export interface ClientOptions {
  user: string;
  password: string;
  domain: string;
  workstation?: string;
  /** SPNEGO (default) or raw NTLMSSP in the security buffer. */
  spnego?: boolean;
  negotiateFlags?: number;
  /** Put MsvAvFlags MIC-present and a MIC in AUTHENTICATE (default true). */
  mic?: boolean;
  /** When to send the mechListMIC: with AUTHENTICATE (default), in a round of its own, or never. */
  mechListMic?: 'with-authenticate' | 'separately' | 'never';
  /** Offer Kerberos before NTLMSSP (with an optimistic garbage token). */
  kerberosFirst?: boolean;
  /** Send a 24-byte NTLMv1-shaped NT response instead of NTLMv2. */
  ntlmv1?: boolean;
  anonymous?: boolean;
  clientChallenge?: Buffer;
  /** FILETIME for the blob when the server sends no MsvAvTimestamp, or to override it. */
  time?: bigint;
}

export class TestNtlmClient {
  readonly opts: ClientOptions;
  private negotiateMsg: Buffer = Buffer.alloc(0);
  private mechTypes: Buffer = Buffer.alloc(0);
  exportedSessionKey: Buffer = Buffer.alloc(0);
  private negotiated = 0;
  private serverSeal: ((b: Buffer) => Buffer) | undefined;
  private clientSeal: ((b: Buffer) => Buffer) | undefined;
  private pendingMechListMic: Buffer | undefined;

  constructor(opts: ClientOptions) {
    this.opts = { spnego: true, mic: true, mechListMic: 'with-authenticate', ...opts };
  }

  /** The first SESSION_SETUP token: NEGOTIATE_MESSAGE, in a NegTokenInit unless raw. */
  negotiate(): Buffer {
    const flags = this.opts.negotiateFlags ?? WINDOWS_NEGOTIATE_FLAGS;
    const m = Buffer.alloc(40);
    m.write('NTLMSSP\0', 0, 'latin1');
    m.writeUInt32LE(1, 8);
    m.writeUInt32LE(flags >>> 0, 12);
    m.writeUInt32LE(40, 20); // DomainNameFields: empty, offset 40
    m.writeUInt32LE(40, 28); // WorkstationFields: empty, offset 40
    Buffer.from('0a0063450000000f', 'hex').copy(m, 32); // Version 10.0.17763, revision 15
    this.negotiateMsg = m;
    if (!this.opts.spnego) return m;
    const mechs = this.opts.kerberosFirst ? [oid(OIDS.krb5), oid(OIDS.ntlmssp)] : [oid(OIDS.ntlmssp)];
    this.mechTypes = der(0x30, ...mechs);
    const token = this.opts.kerberosFirst ? Buffer.from('6e0a0301050a0103', 'hex') : m;
    return der(
      0x60,
      oid(OIDS.spnego),
      der(0xa0, der(0x30, der(0xa0, this.mechTypes), der(0xa2, der(0x04, token)))),
    );
  }

  /** After a request-mic / accept-incomplete reply without CHALLENGE: NEGOTIATE in a NegTokenResp. */
  negotiateAgain(): Buffer {
    return der(0xa1, der(0x30, der(0xa2, der(0x04, this.negotiateMsg))));
  }

  /** The server's CHALLENGE, from a NegTokenResp or raw. */
  challengeOf(token: Buffer): Buffer {
    if (!this.opts.spnego) return token;
    const r = parseNegTokenResp(token);
    if (r.responseToken === undefined) throw new Error('no CHALLENGE in the reply');
    return r.responseToken;
  }

  /** The AUTHENTICATE_MESSAGE for the server's reply, wrapped like the NEGOTIATE was. */
  authenticate(serverToken: Buffer): Buffer {
    const challenge = this.challengeOf(serverToken);
    const o = this.opts;
    const flags = challenge.readUInt32LE(20);
    const serverChallenge = challenge.subarray(24, 32);
    const tiLen = challenge.readUInt16LE(40);
    const tiOff = challenge.readUInt32LE(44);
    const targetInfo = challenge.subarray(tiOff, tiOff + tiLen);
    const unicode = (flags & F.UNICODE) !== 0;
    const str = (s: string): Buffer => Buffer.from(s, unicode ? 'utf16le' : 'latin1');
    this.negotiated = flags;

    // AV pairs: the server's, plus MsvAvFlags (MIC present) before MsvAvEOL; its timestamp, if any.
    const pairs: Array<{ id: number; value: Buffer }> = [];
    let serverTime: bigint | undefined;
    for (let at = 0; at + 4 <= targetInfo.length; ) {
      const id = targetInfo.readUInt16LE(at);
      const l = targetInfo.readUInt16LE(at + 2);
      if (id === 0) break;
      const value = targetInfo.subarray(at + 4, at + 4 + l);
      if (id === 7) serverTime = value.readBigUInt64LE(0);
      pairs.push({ id, value });
      at += 4 + l;
    }
    if (o.mic) pairs.push({ id: 6, value: Buffer.from([2, 0, 0, 0]) });
    const avBytes = Buffer.concat([
      ...pairs.map((p) => {
        const h = Buffer.alloc(4);
        h.writeUInt16LE(p.id, 0);
        h.writeUInt16LE(p.value.length, 2);
        return Buffer.concat([h, p.value]);
      }),
      Buffer.alloc(4),
    ]);

    let lm: Buffer;
    let nt: Buffer;
    let baseKey: Buffer = Buffer.alloc(16);
    const user = o.anonymous ? '' : o.user;
    if (o.anonymous) {
      lm = Buffer.alloc(1);
      nt = Buffer.alloc(0);
    } else if (o.ntlmv1) {
      lm = randomBytes(24);
      nt = randomBytes(24);
    } else {
      const time = o.time ?? serverTime ?? 0n;
      const cc = o.clientChallenge ?? randomBytes(8);
      const temp = Buffer.alloc(28);
      temp[0] = 1;
      temp[1] = 1;
      temp.writeBigUInt64LE(time, 8);
      cc.copy(temp, 16);
      const blob = Buffer.concat([temp, avBytes, Buffer.alloc(4)]);
      const key = hmacMd5(ntHashOf(o.password), Buffer.from(o.user.toUpperCase() + o.domain, 'utf16le'));
      const proof = hmacMd5(key, serverChallenge, blob);
      nt = Buffer.concat([proof, blob]);
      lm =
        serverTime !== undefined ? Buffer.alloc(24) : Buffer.concat([hmacMd5(key, serverChallenge, cc), cc]);
      baseKey = hmacMd5(key, proof);
    }

    let encryptedKey: Buffer = Buffer.alloc(0);
    this.exportedSessionKey = baseKey;
    if (flags & F.KEY_EXCH && !o.anonymous) {
      const random = randomBytes(16);
      encryptedKey = rc4(baseKey, random);
      this.exportedSessionKey = random;
    }

    const payload = [str(o.domain), str(user), str(o.workstation ?? 'TESTCLIENT'), lm, nt, encryptedKey];
    const head = Buffer.alloc(88);
    head.write('NTLMSSP\0', 0, 'latin1');
    head.writeUInt32LE(3, 8);
    let at = 88;
    const refAt = [28, 36, 44, 12, 20, 52];
    payload.forEach((p, i) => {
      head.writeUInt16LE(p.length, refAt[i]!);
      head.writeUInt16LE(p.length, refAt[i]! + 2);
      head.writeUInt32LE(at, refAt[i]! + 4);
      at += p.length;
    });
    head.writeUInt32LE((flags | (o.anonymous ? F.ANONYMOUS : 0)) >>> 0, 60);
    Buffer.from('0a0063450000000f', 'hex').copy(head, 64);
    const auth = Buffer.concat([head, ...payload]);
    if (o.mic && !o.anonymous)
      hmacMd5(this.exportedSessionKey, this.negotiateMsg, challenge, auth).copy(auth, 72);

    if (!o.spnego) return auth;
    const fields = [der(0xa2, der(0x04, auth))];
    this.setUpSessionSecurity();
    const mechListMic = this.opts.anonymous || o.mechListMic === 'never' ? undefined : this.mechListMic();
    if (mechListMic !== undefined && o.mechListMic === 'with-authenticate')
      fields.push(der(0xa3, der(0x04, mechListMic)));
    else this.pendingMechListMic = mechListMic;
    return der(0xa1, der(0x30, ...fields));
  }

  /** The NegTokenResp that carries only the mechListMIC (mechListMic: 'separately'). */
  mechListMicToken(): Buffer {
    const mic = this.pendingMechListMic ?? this.mechListMic();
    return der(0xa1, der(0x30, der(0xa3, der(0x04, mic))));
  }

  private setUpSessionSecurity(): void {
    const k = this.exportedSessionKey;
    const keyExch = (this.negotiated & F.KEY_EXCH) !== 0;
    const stream = (key: Buffer): ((b: Buffer) => Buffer) => {
      // A continuing RC4 keystream: re-run from the start and keep the tail (test sizes are tiny).
      let used = 0;
      return (b) => {
        const out = rc4(key, Buffer.concat([Buffer.alloc(used), b])).subarray(used);
        used += b.length;
        return out;
      };
    };
    const sealKey = (magic: string): Buffer => md5(k, Buffer.from(magic, 'latin1'));
    this.clientSeal = keyExch
      ? stream(sealKey('session key to client-to-server sealing key magic constant\0'))
      : undefined;
    this.serverSeal = keyExch
      ? stream(sealKey('session key to server-to-client sealing key magic constant\0'))
      : undefined;
  }

  private mac(direction: 'client' | 'server', message: Buffer): Buffer {
    const magic =
      direction === 'client'
        ? 'session key to client-to-server signing key magic constant\0'
        : 'session key to server-to-client signing key magic constant\0';
    const signKey = md5(this.exportedSessionKey, Buffer.from(magic, 'latin1'));
    let checksum = hmacMd5(signKey, Buffer.alloc(4), message).subarray(0, 8);
    const seal = direction === 'client' ? this.clientSeal : this.serverSeal;
    if (seal) checksum = seal(checksum);
    return Buffer.concat([Buffer.from([1, 0, 0, 0]), checksum, Buffer.alloc(4)]);
  }

  private mechListMic(): Buffer {
    return this.mac('client', this.mechTypes);
  }

  /** Whether the server's mechListMIC is its MIC over our mechTypes. */
  serverMechListMicValid(mic: Buffer): boolean {
    return this.mac('server', this.mechTypes).equals(mic);
  }
}
