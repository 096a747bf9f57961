import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { ntHash } from '../../src/control/passwords.ts';
import {
  decodeChallenge,
  encodeAuthenticate,
  encodeNegotiate,
  fileTime,
  NTLMSSP,
  ntlmv2Temp,
  ntowfv2,
  ntProofStr,
} from '../../src/protocols/smb/auth/index.ts';
import { CMD, FLAGS } from '../../src/protocols/smb/constants.ts';

/** One SMB2 reply as the test sees it. */
export interface Reply {
  status: number;
  command: number;
  messageId: bigint;
  flags: number;
  credits: number;
  sessionId: bigint;
  treeId: number;
  asyncId: bigint;
  /** The whole message (header and body). */
  raw: Buffer;
  /** The body after the 64-byte header. */
  body: Buffer;
}

export interface RequestSpec {
  command: number;
  body: Buffer;
  creditCharge?: number;
  creditRequest?: number;
  related?: boolean;
  sessionId?: bigint;
  treeId?: number;
  messageId?: bigint;
  flags?: number;
}

/**
 * A small unsigned SMB2 client for protocol tests: it frames, numbers and compounds requests,
 * logs on with NTLMv2 (raw NTLMSSP), and collects replies by message id, interim
 * STATUS_PENDING ones included (`pending()`).
 */
export class TestClient {
  private socket!: net.Socket;
  private buf = Buffer.alloc(0);
  private nextId = 0n;
  private readonly waiting = new Map<bigint, Array<{ resolve(r: Reply): void; interim: boolean }>>();
  private readonly replies = new Map<bigint, Reply[]>();
  sessionId = 0n;
  treeId = 0;
  closed = false;
  readonly closedPromise: Promise<void>;
  private onClose!: () => void;

  constructor(
    readonly port: number,
    readonly host = '127.0.0.1',
  ) {
    this.closedPromise = new Promise((r) => {
      this.onClose = r;
    });
  }

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket = net.connect({ port: this.port, host: this.host }, () => resolve());
      this.socket.on('error', reject);
      this.socket.on('data', (c: Buffer) => this.onData(c));
      this.socket.on('close', () => {
        this.closed = true;
        this.onClose();
      });
    });
  }

  private onData(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    while (this.buf.length >= 4) {
      const len = this.buf.readUIntBE(1, 3);
      if (this.buf.length < 4 + len) return;
      const frame = this.buf.subarray(4, 4 + len);
      this.buf = this.buf.subarray(4 + len);
      this.onFrame(Buffer.from(frame));
    }
  }

  private onFrame(frame: Buffer): void {
    let off = 0;
    for (;;) {
      const next = frame.readUInt32LE(off + 20);
      const msg = next ? frame.subarray(off, off + next) : frame.subarray(off);
      const flags = msg.readUInt32LE(16);
      const async = (flags & FLAGS.ASYNC_COMMAND) !== 0;
      const r: Reply = {
        status: msg.readUInt32LE(8),
        command: msg.readUInt16LE(12),
        credits: msg.readUInt16LE(14),
        flags,
        messageId: msg.readBigUInt64LE(24),
        asyncId: async ? msg.readBigUInt64LE(32) : 0n,
        treeId: async ? 0 : msg.readUInt32LE(36),
        sessionId: msg.readBigUInt64LE(40),
        raw: msg,
        body: msg.subarray(64),
      };
      const list = this.replies.get(r.messageId) ?? [];
      list.push(r);
      this.replies.set(r.messageId, list);
      const ws = this.waiting.get(r.messageId) ?? [];
      for (const w of [...ws]) {
        if (!w.interim && r.status === 0x103) continue;
        ws.splice(ws.indexOf(w), 1);
        w.resolve(r);
      }
      if (!next) return;
      off += next;
    }
  }

  /** Builds one request message; message ids are taken in order (charge credits each). */
  build(spec: RequestSpec): { msg: Buffer; messageId: bigint } {
    const h = Buffer.alloc(64);
    const charge = spec.creditCharge ?? 1;
    const messageId = spec.messageId ?? this.nextId;
    if (spec.messageId === undefined) this.nextId += BigInt(Math.max(1, charge));
    h.writeUInt32LE(0x424d53fe, 0);
    h.writeUInt16LE(64, 4);
    h.writeUInt16LE(charge, 6);
    h.writeUInt16LE(spec.command, 12);
    h.writeUInt16LE(spec.creditRequest ?? 64, 14);
    h.writeUInt32LE((spec.flags ?? 0) | (spec.related ? FLAGS.RELATED_OPERATIONS : 0), 16);
    h.writeBigUInt64LE(messageId, 24);
    h.writeUInt32LE(0xfeff, 32);
    h.writeUInt32LE(spec.treeId ?? this.treeId, 36);
    h.writeBigUInt64LE(spec.sessionId ?? this.sessionId, 40);
    return { msg: Buffer.concat([h, spec.body]), messageId };
  }

  /** Sends raw bytes inside one transport frame. */
  sendFrame(frame: Buffer): void {
    const head = Buffer.alloc(4);
    head.writeUIntBE(frame.length, 1, 3);
    this.socket.write(Buffer.concat([head, frame]));
  }

  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Sends requests as one compound (8-aligned, linked); resolves with their final replies. */
  async compound(specs: RequestSpec[], opts: { interim?: boolean } = {}): Promise<Reply[]> {
    const built = specs.map((s) => this.build(s));
    const parts: Buffer[] = [];
    built.forEach((b, i) => {
      let m = b.msg;
      if (i < built.length - 1) {
        const pad = (8 - (m.length % 8)) % 8;
        m = Buffer.concat([m, Buffer.alloc(pad)]);
        m.writeUInt32LE(m.length, 20);
      }
      parts.push(m);
    });
    const waits = built.map((b) => this.wait(b.messageId, opts.interim ?? false));
    this.sendFrame(Buffer.concat(parts));
    return Promise.all(waits);
  }

  request(spec: RequestSpec, opts: { interim?: boolean } = {}): Promise<Reply> {
    return this.compound([spec], opts).then((r) => r[0]!);
  }

  /** The next reply for a message id (an interim one too when `interim`), or one already received. */
  wait(messageId: bigint, interim = false, timeoutMs = 10_000): Promise<Reply> {
    const have = this.replies.get(messageId)?.find((r) => interim || r.status !== 0x103);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const list = this.waiting.get(messageId) ?? [];
      this.waiting.set(messageId, list);
      const entry = {
        interim,
        resolve: (r: Reply) => {
          clearTimeout(timer);
          resolve(r);
        },
      };
      const drop = () => {
        const i = list.indexOf(entry);
        if (i < 0) return false;
        list.splice(i, 1);
        return true;
      };
      const timer = setTimeout(() => {
        if (drop()) reject(new Error(`no reply to message ${messageId} within ${timeoutMs} ms`));
      }, timeoutMs);
      list.push(entry);
      void this.closedPromise.then(() => {
        clearTimeout(timer);
        if (drop()) reject(new Error(`connection closed before message ${messageId} was answered`));
      });
    });
  }

  /** Every reply received for a message id so far (interim and final). */
  repliesFor(messageId: bigint): Reply[] {
    return this.replies.get(messageId) ?? [];
  }

  get nextMessageId(): bigint {
    return this.nextId;
  }

  /** NEGOTIATE; Capabilities LARGE_MTU | ENCRYPTION unless told otherwise. */
  async negotiate(dialects = [0x0202, 0x0210, 0x0300], opts: { capabilities?: number } = {}): Promise<Reply> {
    const body = Buffer.alloc(36 + 2 * dialects.length);
    body.writeUInt16LE(36, 0);
    body.writeUInt16LE(dialects.length, 2);
    body.writeUInt16LE(1, 4);
    body.writeUInt32LE(opts.capabilities ?? 0x44, 8);
    randomBytes(16).copy(body, 12);
    dialects.forEach((d, i) => {
      body.writeUInt16LE(d, 36 + 2 * i);
    });
    return this.request({ command: CMD.NEGOTIATE, body });
  }

  /** NTLMv2 logon with raw NTLMSSP; resolves with the final SESSION_SETUP reply. */
  async logon(user: string, password: string, domain = 'CLAUDEFS'): Promise<Reply> {
    const flags =
      NTLMSSP.NEGOTIATE_UNICODE |
      NTLMSSP.REQUEST_TARGET |
      NTLMSSP.NEGOTIATE_NTLM |
      NTLMSSP.NEGOTIATE_ALWAYS_SIGN |
      NTLMSSP.NEGOTIATE_EXTENDED_SESSIONSECURITY |
      NTLMSSP.NEGOTIATE_128;
    const first = await this.request({
      command: CMD.SESSION_SETUP,
      body: sessionSetupBody(encodeNegotiate({ flags })),
    });
    if (first.status !== 0xc0000016) return first;
    this.sessionId = first.sessionId;
    const token = first.body.subarray(
      first.body.readUInt16LE(4) - 64,
      first.body.readUInt16LE(4) - 64 + first.body.readUInt16LE(6),
    );
    const challenge = decodeChallenge(token);
    const key = ntowfv2(Buffer.from(ntHash(password), 'hex'), user, domain);
    const temp = ntlmv2Temp(fileTime(Date.now()), randomBytes(8), challenge.targetInfo);
    const proof = ntProofStr(key, challenge.serverChallenge, temp);
    const auth = encodeAuthenticate(
      {
        flags: flags & challenge.flags,
        lmChallengeResponse: Buffer.alloc(24),
        ntChallengeResponse: Buffer.concat([proof, temp]),
        domain,
        user,
        workstation: 'TEST',
        encryptedRandomSessionKey: Buffer.alloc(0),
      },
      true,
    );
    return this.request({ command: CMD.SESSION_SETUP, body: sessionSetupBody(auth) });
  }

  async treeConnect(share: string): Promise<Reply> {
    const path = Buffer.from(`\\\\127.0.0.1\\${share}`, 'utf16le');
    const body = Buffer.alloc(8);
    body.writeUInt16LE(9, 0);
    body.writeUInt16LE(72, 4);
    body.writeUInt16LE(path.length, 6);
    const r = await this.request({ command: CMD.TREE_CONNECT, body: Buffer.concat([body, path]) });
    if (r.status === 0) this.treeId = r.treeId;
    return r;
  }

  close(): void {
    this.socket.destroy();
  }
}

export function sessionSetupBody(token: Buffer): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt16LE(25, 0);
  b.writeUInt16LE(88, 12);
  b.writeUInt16LE(token.length, 14);
  return Buffer.concat([b, token]);
}

/** CREATE request body (MS-SMB2 §2.2.13). */
export function createBody(
  name: string,
  o: {
    access?: number;
    disposition?: number;
    options?: number;
    share?: number;
    attributes?: number;
    contexts?: Buffer;
    /** RequestedOplockLevel (0 none, 9 batch, 0xff lease). */
    oplock?: number;
  } = {},
): Buffer {
  const n = Buffer.from(name, 'utf16le');
  const b = Buffer.alloc(56);
  b.writeUInt16LE(57, 0);
  b[3] = o.oplock ?? 0;
  b.writeUInt32LE(2, 4); // impersonation
  b.writeUInt32LE(o.access ?? 0x0012019f, 24);
  b.writeUInt32LE(o.attributes ?? 0x80, 28);
  b.writeUInt32LE(o.share ?? 7, 32);
  b.writeUInt32LE(o.disposition ?? 3, 36);
  b.writeUInt32LE(o.options ?? 0, 40);
  b.writeUInt16LE(120, 44);
  b.writeUInt16LE(n.length, 46);
  let body = Buffer.concat([b, n.length ? n : Buffer.alloc(1)]);
  if (o.contexts) {
    const pad = (8 - ((64 + body.length) % 8)) % 8;
    const at = 64 + body.length + pad;
    body.writeUInt32LE(at, 48);
    body.writeUInt32LE(o.contexts.length, 52);
    body = Buffer.concat([body, Buffer.alloc(pad), o.contexts]);
  }
  return body;
}

export type CreateOptions = Parameters<typeof createBody>[1];

/** A chain of SMB2_CREATE_CONTEXT structures (§2.2.13.2): 4-byte tag names, 8-aligned. */
export function createContexts(list: Array<{ name: string; data: Buffer }>): Buffer {
  const parts = list.map((c, i) => {
    const data = c.data;
    const size = 24 + data.length;
    const padded = i < list.length - 1 ? (size + 7) & ~7 : size;
    const b = Buffer.alloc(padded);
    if (i < list.length - 1) b.writeUInt32LE(padded, 0);
    b.writeUInt16LE(16, 4);
    b.writeUInt16LE(4, 6);
    b.writeUInt16LE(data.length ? 24 : 0, 10);
    b.writeUInt32LE(data.length, 12);
    b.write(c.name, 16, 'latin1');
    data.copy(b, 24);
    return b;
  });
  return Buffer.concat(parts);
}

/** The create contexts of a CREATE response, by tag. */
export function responseContexts(createReply: Reply): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const offset = createReply.body.readUInt32LE(80);
  const length = createReply.body.readUInt32LE(84);
  if (length === 0) return out;
  const chain = createReply.raw.subarray(offset, offset + length);
  for (let at = 0; ; ) {
    const next = chain.readUInt32LE(at);
    const name = chain.subarray(at + chain.readUInt16LE(at + 4), at + chain.readUInt16LE(at + 4) + 4);
    const dataAt = at + chain.readUInt16LE(at + 10);
    out.set(name.toString('latin1'), chain.subarray(dataAt, dataAt + chain.readUInt32LE(at + 12)));
    if (next === 0) return out;
    at += next;
  }
}

/** A client connected, logged on as `user` and connected to `share`; any failed step throws. */
export async function connectedClient(
  port: number,
  user: string,
  password: string,
  o: { share?: string; dialects?: number[]; host?: string } = {},
): Promise<TestClient> {
  const c = new TestClient(port, o.host);
  await c.connect();
  for (const [step, r] of [
    ['NEGOTIATE', () => c.negotiate(o.dialects)],
    ['SESSION_SETUP', () => c.logon(user, password)],
    ['TREE_CONNECT', () => c.treeConnect(o.share ?? 'export')],
  ] as const) {
    const status = (await r()).status;
    if (status !== 0) throw new Error(`${step}: 0x${status.toString(16)}`);
  }
  return c;
}

/** A CREATE that must succeed: its FileId. */
export async function openOk(c: TestClient, name: string, o: CreateOptions = {}): Promise<Buffer> {
  const r = await c.request({ command: CMD.CREATE, body: createBody(name, o) });
  if (r.status !== 0) throw new Error(`CREATE ${name}: 0x${r.status.toString(16)}`);
  return fileIdOf(r);
}

export function fileIdOf(createReply: Reply): Buffer {
  return Buffer.from(createReply.body.subarray(64, 80));
}

export const ALL_ONES_FILE_ID = Buffer.alloc(16, 0xff);

export function closeBody(fileId: Buffer, flags = 0): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt16LE(24, 0);
  b.writeUInt16LE(flags, 2);
  fileId.copy(b, 8);
  return b;
}

/** FLUSH request body (MS-SMB2 §2.2.17). */
export function flushBody(fileId: Buffer): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt16LE(24, 0);
  fileId.copy(b, 8);
  return b;
}

/**
 * The OutputBuffer of a QUERY_INFO or CHANGE_NOTIFY reply (MS-SMB2 §2.2.38, §2.2.36): its
 * offset, at byte 2, counts from the start of the SMB2 header.
 */
export function outputBuffer(reply: { body: Buffer }): Buffer {
  const at = reply.body.readUInt16LE(2) - 64;
  return reply.body.subarray(at, at + reply.body.readUInt32LE(4));
}

export function writeBody(fileId: Buffer, offset: bigint, data: Buffer): Buffer {
  const b = Buffer.alloc(48);
  b.writeUInt16LE(49, 0);
  b.writeUInt16LE(112, 2);
  b.writeUInt32LE(data.length, 4);
  b.writeBigUInt64LE(offset, 8);
  fileId.copy(b, 16);
  return Buffer.concat([b, data]);
}

export function readBody(fileId: Buffer, offset: bigint, length: number): Buffer {
  const b = Buffer.alloc(49);
  b.writeUInt16LE(49, 0);
  b.writeUInt32LE(length, 4);
  b.writeBigUInt64LE(offset, 8);
  fileId.copy(b, 16);
  return b;
}

export function lockBody(
  fileId: Buffer,
  locks: Array<{ offset: bigint; length: bigint; flags: number }>,
): Buffer {
  const b = Buffer.alloc(24 + 24 * locks.length);
  b.writeUInt16LE(48, 0);
  b.writeUInt16LE(locks.length, 2);
  fileId.copy(b, 8);
  locks.forEach((l, i) => {
    b.writeBigUInt64LE(l.offset, 24 + 24 * i);
    b.writeBigUInt64LE(l.length, 32 + 24 * i);
    b.writeUInt32LE(l.flags, 40 + 24 * i);
  });
  return b;
}

export function notifyBody(fileId: Buffer, filter = 0x3, recursive = false): Buffer {
  const b = Buffer.alloc(32);
  b.writeUInt16LE(32, 0);
  b.writeUInt16LE(recursive ? 1 : 0, 2);
  b.writeUInt32LE(4096, 4);
  fileId.copy(b, 8);
  b.writeUInt32LE(filter, 24);
  return b;
}

/** SET_INFO request body (MS-SMB2 §2.2.39): one information buffer for the FileId. */
export function setInfoBody(fileId: Buffer, infoClass: number, buffer: Buffer, infoType = 1): Buffer {
  const b = Buffer.alloc(32);
  b.writeUInt16LE(33, 0);
  b[2] = infoType;
  b[3] = infoClass;
  b.writeUInt32LE(buffer.length, 4);
  b.writeUInt16LE(96, 8);
  fileId.copy(b, 16);
  return Buffer.concat([b, buffer]);
}

export function queryInfoBody(
  fileId: Buffer,
  infoType: number,
  infoClass: number,
  outputLength = 4096,
  additional = 0,
  input?: Buffer,
): Buffer {
  const b = Buffer.alloc(input ? 40 : 41);
  b.writeUInt16LE(41, 0);
  b[2] = infoType;
  b[3] = infoClass;
  b.writeUInt32LE(outputLength, 4);
  if (input) {
    b.writeUInt16LE(64 + 40, 8);
    b.writeUInt32LE(input.length, 12);
  }
  b.writeUInt32LE(additional, 16);
  fileId.copy(b, 24);
  return input ? Buffer.concat([b, input]) : b;
}

export function queryDirectoryBody(
  fileId: Buffer,
  pattern = '*',
  infoClass = 37,
  flags = 0,
  outputLength = 65536,
): Buffer {
  const p = Buffer.from(pattern, 'utf16le');
  const b = Buffer.alloc(32);
  b.writeUInt16LE(33, 0);
  b[2] = infoClass;
  b[3] = flags;
  fileId.copy(b, 8);
  b.writeUInt16LE(96, 24);
  b.writeUInt16LE(p.length, 26);
  b.writeUInt32LE(outputLength, 28);
  return Buffer.concat([b, p]);
}

export function echoBody(): Buffer {
  return Buffer.from([4, 0, 0, 0]);
}
