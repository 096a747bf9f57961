/**
 * Just enough of an SMB2 server to log a real client on through the acceptor and the crypto
 * layer: NEGOTIATE (with 3.1.1's pre-authentication and encryption contexts), SESSION_SETUP
 * until the acceptor is done (the final response signed with the derived key), then the
 * client's first signed or encrypted request (TREE_CONNECT), which it verifies or decrypts and
 * answers STATUS_BAD_NETWORK_NAME, signed or encrypted in turn. Everything it saw is recorded.
 * A test fixture, not the server: one connection, no credits, no compounding.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import {
  type AcceptorStep,
  NtlmAcceptor,
  type NtlmAcceptorOptions,
} from '../../src/protocols/smb/auth/index.ts';
import {
  decrypt,
  deriveKeys,
  encrypt,
  PreauthHash,
  type Smb2Cipher,
  type Smb2Dialect,
  type Smb2SessionKeys,
  sign,
  verifySignature,
} from '../../src/protocols/smb/crypto/index.ts';
import { NT_STATUS } from '../../src/protocols/smb/status/index.ts';

const CMD = { NEGOTIATE: 0, SESSION_SETUP: 1, LOGOFF: 2, TREE_CONNECT: 3 } as const;
const FLAGS_SERVER_TO_REDIR = 0x1;
const FLAGS_SIGNED = 0x8;
const SESSION_ID = 0x0000_1000_0000_0019n;

export interface MiniServerConfig {
  dialect: Smb2Dialect;
  /** Encrypt after logon (3.x): SMB2_SESSION_FLAG_ENCRYPT_DATA, and the cipher for 3.1.1. */
  encryptWith?: Smb2Cipher;
  acceptor: Omit<NtlmAcceptorOptions, 'now'>;
}

export interface Transcript {
  clientDialects: number[];
  /** The client's SESSION_SETUP security buffers, in order. */
  clientTokens: Buffer[];
  steps: AcceptorStep[];
  keys?: Smb2SessionKeys;
  /** After the logon: each request, whether it came signed-and-verified or encrypted-and-opened. */
  afterLogon: Array<{ command: number; signed: boolean; signatureValid?: boolean; encrypted: boolean }>;
  problems: string[];
}

export async function startMiniServer(
  config: MiniServerConfig,
): Promise<{ port: number; transcript: Transcript; done: Promise<void>; server: Server }> {
  const transcript: Transcript = {
    clientDialects: [],
    clientTokens: [],
    steps: [],
    afterLogon: [],
    problems: [],
  };
  let finish: () => void = () => {};
  const done = new Promise<void>((r) => {
    finish = r;
  });
  const server = createServer((socket) => {
    server.close();
    new Connection(socket, config, transcript).run().then(finish, (e: unknown) => {
      transcript.problems.push(`connection: ${String(e)}`);
      finish();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { port: address.port, transcript, done, server };
}

class Connection {
  private readonly acceptor: NtlmAcceptor;
  private readonly connectionHash = new PreauthHash();
  private sessionHash: PreauthHash | undefined;
  private keys: Smb2SessionKeys | undefined;
  private buffered = Buffer.alloc(0);
  private readonly waiters: Array<() => void> = [];
  private closed = false;

  constructor(
    private readonly socket: Socket,
    private readonly config: MiniServerConfig,
    private readonly t: Transcript,
  ) {
    this.acceptor = new NtlmAcceptor(config.acceptor);
    socket.on('data', (d: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, d]);
      for (const w of this.waiters.splice(0)) w();
    });
    const end = (): void => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    };
    socket.on('close', end);
    socket.on('error', end);
  }

  /** One Direct-TCP frame (MS-SMB2 2.1: a zero byte and a 24-bit length), or undefined at close. */
  private async frame(): Promise<Buffer | undefined> {
    for (;;) {
      if (this.buffered.length >= 4) {
        const len = this.buffered.readUInt32BE(0) & 0xffffff;
        if (this.buffered.length >= 4 + len) {
          const f = this.buffered.subarray(4, 4 + len);
          this.buffered = this.buffered.subarray(4 + len);
          return f;
        }
      }
      if (this.closed) return undefined;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  private send(message: Buffer): void {
    const h = Buffer.alloc(4);
    h.writeUInt32BE(message.length);
    this.socket.write(Buffer.concat([h, message]));
  }

  async run(): Promise<void> {
    try {
      for (;;) {
        const f = await this.frame();
        if (f === undefined) return;
        if (!(await this.handle(f))) return;
      }
    } finally {
      this.socket.destroy();
    }
  }

  private async handle(frame: Buffer): Promise<boolean> {
    const magic = frame.readUInt32BE(0);
    let message = frame;
    let encrypted = false;
    if (magic === 0xfd534d42) {
      const cipher = this.config.encryptWith ?? 'AES-128-CCM';
      const opened = decrypt(
        cipher,
        (id) => (id === SESSION_ID ? this.keys?.decryptionKey : undefined),
        frame,
      );
      if ('error' in opened) {
        this.t.problems.push(`decrypt: ${opened.error}`);
        return false;
      }
      message = opened.plaintext;
      encrypted = true;
    } else if (magic !== 0xfe534d42) {
      this.t.problems.push(`not an SMB2 message: ${frame.subarray(0, 4).toString('hex')}`);
      return false;
    }
    const command = message.readUInt16LE(12);
    if (this.keys !== undefined && command !== CMD.SESSION_SETUP) {
      const signed = (message.readUInt32LE(16) & FLAGS_SIGNED) !== 0;
      const entry: Transcript['afterLogon'][number] = { command, signed, encrypted };
      if (signed) entry.signatureValid = verifySignature(this.config.dialect, this.keys.signingKey, message);
      this.t.afterLogon.push(entry);
      if (command === CMD.TREE_CONNECT) {
        this.reply(message, NT_STATUS.STATUS_BAD_NETWORK_NAME, errorBody(), encrypted);
        return true;
      }
      if (command === CMD.LOGOFF) {
        this.reply(message, NT_STATUS.STATUS_SUCCESS, Buffer.from([4, 0, 0, 0]), encrypted);
        return true;
      }
      return false;
    }
    if (command === CMD.NEGOTIATE) return this.negotiate(message);
    if (command === CMD.SESSION_SETUP) return this.sessionSetup(message);
    this.t.problems.push(`unexpected command ${command} before logon`);
    return false;
  }

  private header(request: Buffer, status: number, sessionId: bigint, signed: boolean): Buffer {
    const h = Buffer.alloc(64);
    h.writeUInt32BE(0xfe534d42, 0);
    h.writeUInt16LE(64, 4);
    h.writeUInt16LE(request.readUInt16LE(6), 6);
    h.writeUInt32LE(status >>> 0, 8);
    h.writeUInt16LE(request.readUInt16LE(12), 12);
    h.writeUInt16LE(Math.max(1, request.readUInt16LE(14)), 14);
    h.writeUInt32LE(FLAGS_SERVER_TO_REDIR | (signed ? FLAGS_SIGNED : 0), 16);
    request.copy(h, 24, 24, 40); // MessageId, Reserved, TreeId
    h.writeBigUInt64LE(sessionId, 40);
    return h;
  }

  private reply(request: Buffer, status: number, body: Buffer, encrypted: boolean): void {
    const keys = this.keys!;
    const message = Buffer.concat([this.header(request, status, SESSION_ID, !encrypted), body]);
    if (encrypted) {
      this.send(encrypt(this.config.encryptWith ?? 'AES-128-CCM', keys.encryptionKey!, SESSION_ID, message));
    } else {
      sign(this.config.dialect, keys.signingKey, message).copy(message, 48);
      this.send(message);
    }
  }

  private negotiate(request: Buffer): boolean {
    const count = request.readUInt16LE(64 + 2);
    for (let i = 0; i < count; i++) this.t.clientDialects.push(request.readUInt16LE(64 + 36 + 2 * i));
    const d = this.config.dialect;
    if (!this.t.clientDialects.includes(d)) {
      this.t.problems.push(`client did not offer dialect 0x${d.toString(16)}`);
      return false;
    }
    const token = NtlmAcceptor.negotiateToken();
    const contexts: Buffer[] = [];
    if (d === 0x0311) {
      const preauth = Buffer.alloc(38);
      preauth.writeUInt16LE(1, 0); // HashAlgorithmCount
      preauth.writeUInt16LE(32, 2); // SaltLength
      preauth.writeUInt16LE(1, 4); // SHA-512
      randomBytes(32).copy(preauth, 6);
      contexts.push(negotiateContext(1, preauth));
      if (this.config.encryptWith) {
        const enc = Buffer.alloc(4);
        enc.writeUInt16LE(1, 0);
        enc.writeUInt16LE(this.config.encryptWith === 'AES-128-CCM' ? 1 : 2, 2);
        contexts.push(negotiateContext(2, enc));
      }
    }
    const body = Buffer.alloc(64);
    body.writeUInt16LE(65, 0);
    body.writeUInt16LE(0x1 | 0x2, 2); // signing enabled and required
    body.writeUInt16LE(d, 4);
    body.writeUInt16LE(contexts.length, 6);
    randomBytes(16).copy(body, 8);
    body.writeUInt32LE(d === 0x0300 || d === 0x0302 ? 0x40 : 0, 24); // SMB2_GLOBAL_CAP_ENCRYPTION
    body.writeUInt32LE(1 << 20, 28);
    body.writeUInt32LE(1 << 20, 32);
    body.writeUInt32LE(1 << 20, 36);
    body.writeUInt16LE(128, 56);
    body.writeUInt16LE(token.length, 58);
    let buffer = token;
    if (contexts.length > 0) {
      buffer = pad8(token, 128);
      body.writeUInt32LE(128 + buffer.length, 60);
      contexts.forEach((c, i) => {
        buffer = Buffer.concat([buffer, i < contexts.length - 1 ? pad8(c, 0) : c]);
      });
    }
    const response = Buffer.concat([this.header(request, 0, 0n, false), body, buffer]);
    this.connectionHash.update(request);
    this.connectionHash.update(response);
    this.send(response);
    return true;
  }

  private async sessionSetup(request: Buffer): Promise<boolean> {
    const offset = request.readUInt16LE(64 + 12);
    const length = request.readUInt16LE(64 + 14);
    const token = request.subarray(offset, offset + length);
    this.t.clientTokens.push(Buffer.from(token));
    if (this.config.dialect === 0x0311) {
      this.sessionHash ??= this.connectionHash.clone();
      this.sessionHash.update(request);
    }
    const r = await this.acceptor.step(token);
    this.t.steps.push(r);
    if (r.state === 'failed') {
      this.send(Buffer.concat([this.header(request, NT_STATUS[r.status], SESSION_ID, false), errorBody()]));
      return false;
    }
    const status =
      r.state === 'continue' ? NT_STATUS.STATUS_MORE_PROCESSING_REQUIRED : NT_STATUS.STATUS_SUCCESS;
    const body = Buffer.alloc(8);
    body.writeUInt16LE(9, 0);
    body.writeUInt16LE(r.state === 'done' && this.config.encryptWith ? 0x4 : 0, 2); // SMB2_SESSION_FLAG_ENCRYPT_DATA
    body.writeUInt16LE(72, 4);
    body.writeUInt16LE(r.token.length, 6);
    const response = Buffer.concat([
      this.header(request, status, SESSION_ID, r.state === 'done'),
      body,
      r.token,
    ]);
    if (r.state === 'continue') {
      this.sessionHash?.update(response);
      this.send(response);
      return true;
    }
    const cipher = this.config.dialect === 0x0311 ? this.config.encryptWith : undefined;
    this.keys = deriveKeys(this.config.dialect, r.sessionKey, this.sessionHash?.value(), cipher);
    this.t.keys = this.keys;
    sign(this.config.dialect, this.keys.signingKey, response).copy(response, 48);
    this.send(response);
    return true;
  }
}

function negotiateContext(type: number, data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16LE(type, 0);
  h.writeUInt16LE(data.length, 2);
  return Buffer.concat([h, data]);
}

/** Pads b so that (start + its length) is a multiple of 8. */
function pad8(b: Buffer, start: number): Buffer {
  const rem = (start + b.length) % 8;
  return rem === 0 ? b : Buffer.concat([b, Buffer.alloc(8 - rem)]);
}

/** SMB2 ERROR Response (MS-SMB2 2.2.2): StructureSize 9, no error data. */
function errorBody(): Buffer {
  return Buffer.from([9, 0, 0, 0, 0, 0, 0, 0, 0]);
}
