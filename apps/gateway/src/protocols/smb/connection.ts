import type { Socket } from 'node:net';
import { logRefusal } from '../../daemon/refusal-log.ts';
import type { Connection } from '../../ops/connections.ts';
import type { Credential } from '../../storage/types.ts';
import { writeFrame } from '../../util/framed-write.ts';
import { setReadTarget } from '../../util/read-buffer-socket.ts';
import type { AppleConnection } from './apple/aapl.ts';
import { closeOpen } from './close-open.ts';
import { encodeNegotiate, smb1NegotiateAnswer } from './commands/negotiate.ts';
import { encodeLeaseBreakNotification, encodeOplockBreak } from './commands/oplock-break.ts';
import {
  ANY_SESSION,
  type Cipher,
  CMD,
  CREDIT_UNIT,
  DIALECT,
  dialectName,
  FLAGS,
  isSmb3,
  MAX_IO_LARGE,
  RELATED_FILE_ID,
} from './constants.ts';
import type { ConnectionState, RequestContext, ServerEnv } from './context.ts';
import { CreditWindow } from './credits.ts';
import {
  type ArrivingDecryption,
  cipherName,
  type DecryptResult,
  decrypt,
  decryptAsArriving,
  decryptInPlace,
  encryptInto,
  encryptParts,
  isShared,
  NT_STATUS,
  ntStatusName,
  OFFLOAD_MIN_BYTES,
  PreauthHash,
  sealable,
  sign,
  smb2Dialect,
  TRANSFORM_HEADER_SIZE,
  verifySignature,
} from './deps.ts';
import { COMMANDS } from './dispatch.ts';
import { disconnectDurable, keptOnDisconnect } from './durable.ts';
import { Disconnect, SmbError } from './errors.ts';
import { FramePool, FrameReader, frameHeader } from './framing.ts';
import {
  decodeHeader,
  encodeHeader,
  HEADER_SIZE,
  SMB1_MAGIC,
  SMB2_MAGIC,
  type Smb2Header,
  splitChain,
  TRANSFORM_MAGIC,
} from './header.ts';
import type { Lease } from './leases.ts';
import type { FileId, Open } from './open-files.ts';
import type { Session } from './session.ts';
import { smb1NegotiateDialect } from './smb1-negotiate.ts';
import { isErrorStatus, statusOf } from './status-map.ts';
import type { TreeConnect } from './tree.ts';
import { Reader, WireError } from './wire/reader.ts';

/** Largest frame accepted: one maximal READ/WRITE with its header, and room for a compound. */
export const MAX_FRAME = MAX_IO_LARGE + 256 * 1024;
/** Large-frame buffers, shared by every connection of the process. */
const framePool = new FramePool(MAX_FRAME);
/** Reading pauses while this many request bytes are being processed (bounded memory per client). */
const MAX_PENDING_BYTES = 64 * 1024 * 1024;
/** …or while this much reply data waits for the client to read it. */
const MAX_UNSENT_BYTES = 32 * 1024 * 1024;

/**
 * Statuses the SMB layer itself refuses with (signing or encryption a session requires, a
 * share's access rules, a path climbing above the share root): logged as warnings, so an
 * operator sees them at the default level. A namespace EACCES stays at debug.
 */
const LOGGED_REFUSALS: ReadonlySet<number> = new Set([
  NT_STATUS.STATUS_ACCESS_DENIED,
  NT_STATUS.STATUS_OBJECT_PATH_SYNTAX_BAD,
]);

/** A reply before signing and framing: a header and body pieces (payloads are not copied). */
interface OutMessage {
  header: Buffer;
  body: Buffer[];
  signWith?: Buffer;
  /** Runs once the body's by-reference payload is no longer needed (written, copied or dropped). */
  release?: () => void;
}

interface Encryption {
  encrypted: boolean;
  /** The transform header's session: replies are encrypted with its key. */
  sessionId: bigint;
}

interface ChainState {
  sessionId: bigint;
  treeId: number;
  open: Open | undefined;
  /** Status of a failed CREATE earlier in the chain: related requests on its FileId fail the same way. */
  createFailed: number | undefined;
  /**
   * Whether the session the chain carries was found valid: a related request inherits the
   * previous request's session and tree, and fails with STATUS_INVALID_PARAMETER when there is
   * none to inherit (a chain that starts related, or follows a request with an unknown session).
   */
  sessionValid: boolean;
  first: boolean;
}

/**
 * A request's cancellation (CANCEL, or the connection closing). The AbortController is made
 * only when a command that waits asks for its signal: most requests never wait, and one
 * controller and signal a request were a tenth of an SMB echo's CPU.
 */
class Cancellation {
  private controller: AbortController | undefined;
  private reason: unknown;
  private cancelled = false;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.cancelled) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

interface InFlight {
  abort: Cancellation;
  sessionId: bigint;
}

/** The 9-byte error body (MS-SMB2 §2.2.2), with ErrorData when a status carries some. */
function errorBody(data?: Buffer): Buffer[] {
  const head = Buffer.alloc(8);
  head.writeUInt16LE(9, 0);
  head.writeUInt32LE(data?.length ?? 0, 4);
  return [head, data && data.length > 0 ? data : Buffer.alloc(1)];
}

const zeroPad = (n: number) => Buffer.alloc(n);
const allOnes = (f: FileId) => f.persistent === RELATED_FILE_ID && f.volatile === RELATED_FILE_ID;

/**
 * One SMB2/3 client connection: transport framing, decryption, compound chains, credits,
 * session and signature checks, the dispatch table, replies (signed, encrypted, async).
 *
 * Status errors become replies; framing errors close: a frame that is not SMB2 (or an SMB1
 * negotiate first), a malformed header or chain, a message id outside the credit window, a
 * failed decryption — anything that leaves the byte stream or the sequence window in doubt —
 * closes the connection. Everything a handler or decoder throws inside a well-framed message
 * is an NTSTATUS in a full reply (with the error body), and the connection stays usable.
 */
export class SmbConnection implements ConnectionState {
  dialect = 0;
  clientGuid = Buffer.alloc(16);
  clientCapabilities = 0;
  clientSecurityMode = 0;
  clientDialects: number[] = [];
  serverCapabilities = 0;
  serverSecurityMode = 0;
  cipher: Cipher | 0 = 0;
  signingGmac = false;
  preauth: PreauthHash | undefined;
  maxTransactSize = 65536;
  maxReadSize = 65536;
  maxWriteSize = 65536;
  apple: AppleConnection | undefined;
  readonly sessions = new Map<bigint, Session>();
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly localPort: number;

  private readonly frames: FrameReader;
  private readonly credits = new CreditWindow();
  private readonly inFlight = new Map<bigint, InFlight>();
  private readonly asyncOps = new Map<bigint, InFlight>();
  private nextAsyncId = 1n;
  private pendingBytes = 0;
  private paused = false;
  private closed = false;
  private sawFrame = false;
  private readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(
    readonly env: ServerEnv,
    private readonly socket: Socket,
    readonly registry: Connection,
  ) {
    this.frames = new FrameReader(MAX_FRAME, framePool, {
      partial: (frame, received) => this.arriving(frame, received),
      abandoned: (frame) => this.decrypting.get(frame)?.drop(),
    });
    this.remoteAddress = socket.remoteAddress ?? '';
    this.localAddress = socket.localAddress ?? '';
    this.localPort = socket.localPort ?? 0;
    this.done = new Promise((r) => {
      this.resolveDone = r;
    });
    setReadTarget(socket, () => (this.closed ? undefined : this.frames.readTarget()));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.maybeResume());
    socket.on('close', () => void this.close('socket closed'));
    socket.on('error', () => {});
  }

  get id(): number {
    return this.registry.info.id;
  }

  /**
   * Requests being processed now (drain and stop wait for them). One gone async (a pending
   * CHANGE_NOTIFY, a blocking LOCK, an open waiting for an oplock break) is parked until an
   * event, not working: it does not count, and closing the connection answers it.
   */
  get busy(): number {
    return this.inFlight.size - this.asyncOps.size;
  }

  get finished(): Promise<void> {
    return this.done;
  }

  // ---- transport ---------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.registry.bytes(chunk.length, 0);
    let frames: Buffer[];
    try {
      frames = this.frames.push(chunk);
    } catch (e) {
      this.protocolError(e);
      return;
    }
    for (const f of frames) {
      this.pendingBytes += f.length;
      this.processFrame(f)
        .catch((e) => this.protocolError(e))
        .finally(() => {
          this.pendingBytes -= f.length;
          framePool.release(f);
          this.maybeResume();
        });
    }
    if (this.pendingBytes > MAX_PENDING_BYTES && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private maybeResume(): void {
    if (!this.paused || this.closed) return;
    if (this.pendingBytes <= MAX_PENDING_BYTES / 2 && this.socket.writableLength <= MAX_UNSENT_BYTES) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private protocolError(e: unknown): void {
    const reason = e instanceof Error ? e.message : String(e);
    if (!(e instanceof Disconnect) && !(e instanceof WireError)) {
      this.env.log.error({ err: e, remote: this.remoteAddress }, 'SMB connection failed');
    } else {
      this.env.log.debug({ remote: this.remoteAddress, reason }, 'SMB connection closed by the server');
    }
    void this.close(reason);
  }

  /** One frame; `written` runs once its parts are no longer needed (util/framed-write.ts). */
  private write(parts: Buffer[], written?: () => void): void {
    if (this.closed || this.socket.destroyed) {
      written?.();
      return;
    }
    let n = 0;
    for (const p of parts) n += p.length;
    writeFrame(this.socket, frameHeader(n), parts, written);
    this.registry.bytes(0, n + 4);
    if (this.socket.writableLength > MAX_UNSENT_BYTES && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  /**
   * Closes the transport and everything the connection held (opens, locks, sessions); durable
   * opens are kept for a reconnect until their timeout.
   */
  async close(reason: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.frames.close();
    for (const f of this.inFlight.values()) f.abort.abort(new Error(reason));
    for (const f of this.asyncOps.values()) f.abort.abort(new Error(reason));
    await Promise.all(
      [...this.sessions.values()].map((s) =>
        this.logoff(s, { keepDurable: true }).catch((e) =>
          this.env.log.error({ err: e }, 'SMB session cleanup failed'),
        ),
      ),
    );
    this.registry.close();
    this.resolveDone();
  }

  // ---- frames and chains -------------------------------------------------------------------

  /** The preparation of the last frame whose decryption runs on a worker (see processFrame). */
  private turn: Promise<void> | undefined;

  /**
   * Frames are prepared — decrypted, split, their credits charged — in arrival order. A large
   * encrypted one decrypts on a worker (aead-pool.ts), starting at once; the frames behind it
   * wait for its preparation, then run as usual.
   */
  private async processFrame(frame: Buffer): Promise<void> {
    const opening = this.openOnWorker(frame);
    const before = this.turn;
    if (!before && !opening) {
      const p = this.prepareInOrder(frame);
      if (p) await this.runChain(p.messages, p.headers, p.enc);
      return;
    }
    const prepared = (async () => {
      await before;
      return this.prepareInOrder(frame, await opening);
    })();
    const turn = prepared.then(
      () => {},
      () => {},
    );
    this.turn = turn;
    void turn.then(() => {
      if (this.turn === turn) this.turn = undefined;
    });
    const p = await prepared;
    if (p) await this.runChain(p.messages, p.headers, p.enc);
  }

  /** Large encrypted frames decrypting while they arrive; null: one that cannot. */
  private readonly decrypting = new WeakMap<Buffer, ArrivingDecryption | null>();

  /** Whether a frame is one a worker can decrypt: large, encrypted, in shared memory. */
  private offloadable(frame: Buffer): boolean {
    return (
      frame.length >= OFFLOAD_MIN_BYTES &&
      isShared(frame) &&
      frame.readUInt32LE(0) === TRANSFORM_MAGIC &&
      this.cipher !== 0 &&
      isSmb3(this.dialect)
    );
  }

  /**
   * Part of a large frame is in: an encrypted one (GCM) starts decrypting on a worker now, so
   * that once its last byte arrives only the last piece is left. smbclient keeps two 8 MiB
   * WRITEs in flight, so each one's time here paces the upload: decrypting after arrival made
   * it 11.5 ms (median), decrypting during it 9.2 ms.
   */
  private arriving(frame: Buffer, received: number): void {
    let d = this.decrypting.get(frame);
    if (d === undefined) {
      d =
        received >= TRANSFORM_HEADER_SIZE && this.offloadable(frame)
          ? (decryptAsArriving(cipherName(this.cipher as Cipher), this.keyFor, frame) ?? null)
          : null;
      this.decrypting.set(frame, d);
    }
    d?.more(received);
  }

  private readonly keyFor = (id: bigint) => this.sessions.get(id)?.decryptionKey;

  /** Decryption of a large transform frame on a worker: finished, or started now. */
  private openOnWorker(frame: Buffer): DecryptResult | Promise<DecryptResult> | undefined {
    const started = this.decrypting.get(frame);
    if (started) return started.end();
    if (!this.offloadable(frame)) return undefined;
    // In place: the frame is this request's own (pooled) buffer until the request is done.
    return decryptInPlace(cipherName(this.cipher as Cipher), this.keyFor, frame);
  }

  /** Set by a frame that closes the connection: the frames behind it are not run. */
  private stopped = false;

  /**
   * prepare, and when the frame closes the connection, nothing behind it runs: the close comes
   * a tick later, and frames that arrived in the same read would otherwise be run first.
   */
  private prepareInOrder(
    frame: Buffer,
    opened?: DecryptResult,
  ): { messages: Buffer[]; headers: Smb2Header[]; enc: Encryption } | undefined {
    if (this.stopped) return undefined;
    try {
      return this.prepare(frame, opened);
    } catch (e) {
      this.stopped = true;
      throw e;
    }
  }

  /** A frame's messages with their headers, credits charged; undefined when nothing runs. */
  private prepare(
    frame: Buffer,
    opened?: DecryptResult,
  ): { messages: Buffer[]; headers: Smb2Header[]; enc: Encryption } | undefined {
    if (this.closed) return undefined;
    if (frame.length < 4) throw new WireError('frame', 'shorter than a protocol id');
    const first = !this.sawFrame;
    this.sawFrame = true;
    const magic = frame.readUInt32LE(0);
    if (magic === SMB1_MAGIC) {
      if (!first || this.dialect !== 0) throw new Disconnect('SMB1 after the first message');
      this.smb1Negotiate(frame);
      return undefined;
    }
    let plain = frame;
    const enc: Encryption = { encrypted: false, sessionId: 0n };
    if (magic === TRANSFORM_MAGIC) {
      if (!this.cipher || !isSmb3(this.dialect))
        throw new Disconnect('encrypted message without a negotiated cipher');
      // In place: the frame is this request's own (pooled) buffer until the request is done.
      const out = opened ?? decrypt(cipherName(this.cipher), this.keyFor, frame, { inPlace: true });
      if ('error' in out) {
        // A message that does not authenticate was changed in flight, or its sender has no key
        // for it: the byte stream cannot be trusted past it, and nothing of it has been acted on.
        this.env.log.warn(
          { remote: this.remoteAddress, status: out.error },
          `SMB message failed to decrypt (${out.error}): connection closed`,
        );
        throw new Disconnect(`decryption: ${out.error}`);
      }
      plain = out.plaintext;
      enc.encrypted = true;
      enc.sessionId = out.sessionId;
      if (plain.length < 4 || plain.readUInt32LE(0) !== SMB2_MAGIC)
        throw new Disconnect('decrypted message is not SMB2');
    } else if (magic !== SMB2_MAGIC) {
      throw new Disconnect(`protocol id 0x${magic.toString(16)}`);
    }
    const messages = splitChain(plain);
    const headers = messages.map(decodeHeader);
    for (const h of headers) {
      if (h.flags & FLAGS.SERVER_TO_REDIR) throw new Disconnect('a response sent to the server');
      if (h.command === CMD.CANCEL) continue;
      const charge = this.dialect >= DIALECT.SMB21 && this.dialect !== DIALECT.WILDCARD ? h.creditCharge : 1;
      if (!this.credits.consume(h.messageId, charge)) {
        throw new Disconnect(`message id ${h.messageId} (charge ${charge}) outside the granted credits`);
      }
    }
    return { messages, headers, enc };
  }

  private smb1Negotiate(frame: Buffer): void {
    const dialect = smb1NegotiateDialect(frame);
    if (dialect === undefined) throw new Disconnect('SMB1 negotiate without SMB2 dialects');
    this.credits.consume(0n, 1);
    const res = smb1NegotiateAnswer({ env: this.env, conn: this }, dialect);
    const header = encodeHeader({
      creditCharge: 0,
      status: NT_STATUS.STATUS_SUCCESS,
      command: CMD.NEGOTIATE,
      credits: this.credits.grant(1),
      flags: 0,
      messageId: 0n,
      processId: 0,
      treeId: 0,
      sessionId: 0n,
    });
    this.write([header, encodeNegotiate(res)]);
  }

  private async runChain(messages: Buffer[], headers: Smb2Header[], enc: Encryption): Promise<void> {
    const out: OutMessage[] = [];
    let sentEarly = false;
    const chain: ChainState = {
      sessionId: 0n,
      treeId: 0,
      open: undefined,
      createFailed: undefined,
      sessionValid: false,
      first: true,
    };
    for (let i = 0; i < messages.length; i++) {
      const isLast = i === messages.length - 1;
      const reply = await this.runMessage(messages[i]!, headers[i]!, chain, enc, {
        canGoAsync: isLast,
        onInterim: (interim) => {
          this.send([...out, interim], enc);
          sentEarly = true;
        },
      });
      chain.first = false;
      if (this.closed) return;
      if (!reply) continue;
      if (sentEarly) this.send([reply], enc);
      else out.push(reply);
    }
    if (!sentEarly && out.length > 0) this.send(out, enc);
  }

  /** Pads and links compounded replies, signs each, encrypts the whole when the request was. */
  private send(list: OutMessage[], enc: Encryption): void {
    const parts: Buffer[] = [];
    // Payloads copied here (signing, encryption) are released at once; the rest after the write.
    const afterWrite: Array<() => void> = [];
    list.forEach((m, i) => {
      let len = HEADER_SIZE;
      for (const b of m.body) len += b.length;
      const body = [...m.body];
      // Every reply of a compound is 8-byte aligned, the last too (as Windows sends them;
      // smbtorture's smb2.compound.compound-padding); NextCommand links all but the last.
      if (list.length > 1) {
        const pad = (8 - (len % 8)) % 8;
        if (pad) body.push(zeroPad(pad));
        if (i < list.length - 1) m.header.writeUInt32LE(len + pad, 20);
      }
      if (m.signWith && !enc.encrypted) {
        m.header.writeUInt32LE(m.header.readUInt32LE(16) | FLAGS.SIGNED, 16);
        const whole = Buffer.concat([m.header, ...body]);
        m.release?.();
        sign(smb2Dialect(this.dialect), m.signWith, whole, this.signingGmac).copy(whole, 48);
        parts.push(whole);
      } else {
        parts.push(m.header, ...body);
        if (m.release) afterWrite.push(m.release);
      }
    });
    const done = () => {
      for (const r of afterWrite) r();
    };
    if (enc.encrypted) {
      const key = this.sessions.get(enc.sessionId)?.encryptionKey ?? this.loggedOffKeys.get(enc.sessionId);
      if (!key || !this.cipher) {
        done();
        return;
      }
      const cipher = cipherName(this.cipher);
      const size = parts.reduce((n, p) => n + p.length, 0);
      let sealed: Buffer[] | Promise<Buffer[]>;
      let release: (() => void) | undefined;
      if (size < OFFLOAD_MIN_BYTES || size > framePool.slabSize || !parts.every(sealable)) {
        sealed = encryptParts(cipher, key, enc.sessionId, parts);
        done();
      } else {
        // A large reply (a READ) is encrypted on a worker, into a frame buffer from the pool.
        const out = framePool.get(size);
        release = () => framePool.release(out);
        sealed = encryptInto(cipher, key, enc.sessionId, parts, out)
          .then((header) => [header, out])
          .finally(done);
        // Awaited in turn below; a failure before then is not an unhandled rejection.
        sealed.catch(() => {});
      }
      const before = this.sealing;
      if (!before && Array.isArray(sealed)) {
        this.write(sealed);
        return;
      }
      // Encrypted replies leave in the order they were sent (an interim STATUS_PENDING before
      // its final answer): one being sealed on a worker holds back those sent after it.
      const tail = (async () => {
        await before;
        this.write(await sealed, release);
      })().catch((e) => {
        release?.();
        this.protocolError(e);
      });
      this.sealing = tail;
      void tail.then(() => {
        if (this.sealing === tail) this.sealing = undefined;
      });
      return;
    }
    this.write(parts, afterWrite.length > 0 ? done : undefined);
  }

  /** The last encrypted reply still being sealed on a worker (see send). */
  private sealing: Promise<void> | undefined;

  /** Keys of sessions logged off by the request being answered (its reply is still protected). */
  private readonly loggedOffKeys = new Map<bigint, Buffer>();

  // ---- one request -------------------------------------------------------------------------

  private async runMessage(
    msg: Buffer,
    h: Smb2Header,
    chain: ChainState,
    enc: Encryption,
    opts: { canGoAsync: boolean; onInterim(m: OutMessage): void },
  ): Promise<OutMessage | undefined> {
    const row = COMMANDS.get(h.command);
    const related = (h.flags & FLAGS.RELATED_OPERATIONS) !== 0;
    const sessionId = related && !chain.first ? chain.sessionId : h.sessionId;
    const treeId = related && !chain.first ? chain.treeId : h.treeId;
    const end = this.registry.begin(row?.name ?? `0x${h.command.toString(16)}`);
    const abort = new Cancellation();
    const tracked = h.command !== CMD.CANCEL;
    if (tracked) this.inFlight.set(h.messageId, { abort, sessionId });

    let session: Session | undefined;
    let tree: TreeConnect | undefined;
    let replyStatus: number | undefined;
    let replySessionId: bigint | undefined;
    let replyTreeId: number | undefined;
    let asyncId: bigint | undefined;
    let creditsGranted = false;
    let signSession: Session | undefined;

    const grant = () => {
      if (creditsGranted) return 0;
      creditsGranted = true;
      return this.credits.grant(h.credits);
    };
    const headerFor = (status: number) =>
      encodeHeader({
        creditCharge: h.creditCharge,
        status,
        command: h.command,
        credits: grant(),
        flags: related ? FLAGS.RELATED_OPERATIONS : 0,
        messageId: h.messageId,
        processId: h.processId,
        treeId: replyTreeId ?? treeId,
        asyncId,
        sessionId: replySessionId ?? sessionId,
      });
    const signingKeyFor = (status: number): Buffer | undefined => {
      const s = signSession ?? session;
      if (!s?.signingKey || s.guest || enc.encrypted) return undefined;
      if (h.command === CMD.SESSION_SETUP) {
        if (status !== NT_STATUS.STATUS_SUCCESS || s.state !== 'valid') return undefined;
        return this.dialect === DIALECT.SMB311 || s.signingRequired || h.flags & FLAGS.SIGNED
          ? s.signingKey
          : undefined;
      }
      if (s.state !== 'valid' && h.command !== CMD.LOGOFF) return undefined;
      return h.flags & FLAGS.SIGNED || s.signingRequired ? s.signingKey : undefined;
    };

    const ctx: RequestContext = {
      env: this.env,
      conn: this,
      hdr: h,
      get session() {
        return session;
      },
      get tree() {
        return tree;
      },
      encrypted: enc.encrypted,
      get signal() {
        return abort.signal;
      },
      open: (fid) => {
        // An unrelated request's FileId is the chain's from then on, even one that names no open:
        // a related request after it does not reach back to an earlier CREATE (MS-SMB2
        // §3.3.5.2.7.2; smbtorture's smb2.compound.invalid3).
        const forget = () => {
          if (related) return;
          chain.open = undefined;
          chain.createFailed = undefined;
        };
        if (allOnes(fid)) {
          if (related && chain.open && !chain.open.closed) return chain.open;
          if (related && chain.createFailed !== undefined)
            throw new SmbError(chain.createFailed, 'the related CREATE failed');
          forget();
          throw new SmbError(NT_STATUS.STATUS_FILE_CLOSED, 'no related open');
        }
        const o = session?.opens.get(fid.volatile);
        if (!o || o.closed || o.fileId.persistent !== fid.persistent || o.tree !== tree) {
          forget();
          throw new SmbError(NT_STATUS.STATUS_FILE_CLOSED, 'unknown FileId');
        }
        chain.open = o;
        return o;
      },
      setCompoundOpen: (o) => {
        chain.open = o;
      },
      cred: (): Credential => {
        if (!session?.cred) throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'no credential');
        return session.cred;
      },
      replyStatus: (s) => {
        replyStatus = s;
      },
      replySessionId: (id) => {
        replySessionId = id;
      },
      replyTreeId: (id) => {
        replyTreeId = id;
      },
      hashRequest: (s) => {
        if (this.dialect === DIALECT.SMB311) s.preauth?.update(msg);
      },
      cancelTarget: () => {
        const target =
          h.flags & FLAGS.ASYNC_COMMAND ? this.asyncOps.get(h.asyncId) : this.inFlight.get(h.messageId);
        target?.abort.abort(new SmbError(NT_STATUS.STATUS_CANCELLED, 'cancelled'));
      },
      goAsync: () => {
        if (asyncId !== undefined || this.closed) return false;
        // Only the last request of a compound may go async; one in the middle fails (as Windows
        // and Samba answer it), so the chain's other replies are not held back.
        if (!opts.canGoAsync)
          throw new SmbError(NT_STATUS.STATUS_INTERNAL_ERROR, 'async request inside a compound');
        asyncId = this.nextAsyncId++;
        this.asyncOps.set(asyncId, { abort, sessionId });
        const interim: OutMessage = {
          header: headerFor(NT_STATUS.STATUS_PENDING),
          body: errorBody(),
          signWith: signingKeyFor(NT_STATUS.STATUS_PENDING),
        };
        opts.onInterim(interim);
        return true;
      },
    };

    let status: number = NT_STATUS.STATUS_SUCCESS;
    let body: Buffer[] | null;
    let release: (() => void) | undefined;
    try {
      if (!row)
        throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, `unknown command 0x${h.command.toString(16)}`);
      if (this.dialect === 0 && h.command !== CMD.NEGOTIATE)
        throw new Disconnect(`${row.name} before NEGOTIATE`);
      if (related && (chain.first || !chain.sessionValid))
        throw new SmbError(
          NT_STATUS.STATUS_INVALID_PARAMETER,
          'a related request with no valid request before it',
        );
      if (!related) {
        chain.sessionId = sessionId;
        chain.treeId = treeId;
        chain.sessionValid = false;
      }
      if (h.command === CMD.SESSION_SETUP && sessionId !== 0n && sessionId !== ANY_SESSION) {
        session = this.sessions.get(sessionId);
        if (!session) throw new SmbError(NT_STATUS.STATUS_USER_SESSION_DELETED, 'no such session');
      } else if (
        row.needsSession ||
        (sessionId !== 0n && h.command !== CMD.NEGOTIATE && h.command !== CMD.SESSION_SETUP)
      ) {
        session = this.sessions.get(sessionId);
        if (row.needsSession && session?.state !== 'valid')
          throw new SmbError(NT_STATUS.STATUS_USER_SESSION_DELETED, 'no such session');
      }
      if (session?.state === 'valid' && !enc.encrypted) {
        if (h.flags & FLAGS.SIGNED) {
          if (
            session.signingKey &&
            !verifySignature(smb2Dialect(this.dialect), session.signingKey, msg, this.signingGmac)
          )
            throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'bad signature');
        } else if (session.signingRequired && h.command !== CMD.SESSION_SETUP && row.needsSession) {
          throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'the session requires signing');
        }
        if (session.encryptData && row.needsSession)
          throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'the session requires encryption');
      }
      if (enc.encrypted && session?.state === 'valid' && this.registry.info.details.encryption !== this.inUse)
        this.registry.info.details.encryption = this.inUse;
      if (enc.encrypted && session && session.id !== enc.sessionId)
        throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'session differs from the transform');
      if (row.needsTree) {
        tree = session!.trees.get(treeId);
        if (!tree) throw new SmbError(NT_STATUS.STATUS_NETWORK_NAME_DELETED, 'no such tree');
        if (tree.encryptData && !enc.encrypted)
          throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'the share requires encryption');
        if (row.mutates && tree.share.readOnly && !tree.share.ipc)
          throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'read-only share');
      }
      chain.sessionValid = session?.state === 'valid' || !row.needsSession;
      const req = row.decode(new Reader(msg, HEADER_SIZE));
      if (row.payload && this.dialect >= DIALECT.SMB21) {
        const needed = Math.max(1, Math.ceil(row.payload(req) / CREDIT_UNIT));
        if (Math.max(1, h.creditCharge) < needed)
          throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'CreditCharge too small for the payload');
      }
      if (h.command === CMD.LOGOFF && session?.encryptionKey)
        this.loggedOffKeys.set(session.id, session.encryptionKey);
      signSession = session;
      const result = await row.handle(ctx, req);
      if (h.command === CMD.SESSION_SETUP) signSession = this.sessions.get(replySessionId ?? sessionId);
      const encoded = row.encode(result);
      if (row.release) release = () => row.release!(result);
      body = encoded === null ? null : Array.isArray(encoded) ? encoded : [encoded];
      status = replyStatus ?? NT_STATUS.STATUS_SUCCESS;
    } catch (e) {
      if (e instanceof Disconnect) {
        end(e.message);
        this.untrack(h, tracked, asyncId);
        throw e;
      }
      const m = statusOf(e);
      if (m.unexpected)
        this.env.log.error({ err: e, command: row?.name }, `SMB ${row?.name ?? 'request'} failed`);
      else if (e instanceof SmbError && LOGGED_REFUSALS.has(m.status)) {
        logRefusal(
          this.env.log,
          'warn',
          this.remoteAddress,
          `SMB ${row?.name ?? 'request'} refused: ${ntStatusName(m.status)}`,
          {
            command: row?.name,
            status: ntStatusName(m.status),
            reason: e.message,
            remote: this.remoteAddress,
            user: session?.user?.name,
          },
          `SMB ${row?.name ?? 'request'} refused: ${ntStatusName(m.status)} (${e.message})`,
        );
      } else if (this.env.log.isLevelEnabled('debug')) {
        this.env.log.debug(
          { command: row?.name, status: ntStatusName(m.status), reason: (e as Error).message },
          'SMB request failed',
        );
      }
      status = m.status;
      body = errorBody(m.errorData);
      if (h.command === CMD.CREATE) chain.createFailed = status;
    }
    this.untrack(h, tracked, asyncId);
    end(isErrorStatus(status) ? ntStatusName(status) : undefined);
    if (this.env.log.isLevelEnabled('debug')) {
      this.env.log.debug(
        {
          command: row?.name,
          mid: String(h.messageId),
          status: ntStatusName(status),
          async: asyncId !== undefined,
        },
        'SMB reply',
      );
    }
    if (body === null) return undefined;
    const reply: OutMessage = { header: headerFor(status), body, signWith: signingKeyFor(status) };
    if (release) reply.release = release;
    this.hashPreauth(h, status, msg, reply, replySessionId ?? sessionId);
    if (h.command === CMD.LOGOFF) setImmediate(() => this.loggedOffKeys.delete(sessionId));
    return reply;
  }

  private untrack(h: Smb2Header, tracked: boolean, asyncId: bigint | undefined): void {
    if (tracked) this.inFlight.delete(h.messageId);
    if (asyncId !== undefined) this.asyncOps.delete(asyncId);
  }

  /** 3.1.1 pre-authentication integrity (§3.3.5.4, §3.3.5.5): NEGOTIATE and SESSION_SETUP bytes. */
  private hashPreauth(
    h: Smb2Header,
    status: number,
    msg: Buffer,
    reply: OutMessage,
    sessionId: bigint,
  ): void {
    if (this.dialect !== DIALECT.SMB311) return;
    if (h.command === CMD.NEGOTIATE && status === NT_STATUS.STATUS_SUCCESS) {
      this.preauth = new PreauthHash();
      this.preauth.update(msg);
      this.preauth.update(Buffer.concat([reply.header, ...reply.body]));
    } else if (h.command === CMD.SESSION_SETUP && status === NT_STATUS.STATUS_MORE_PROCESSING_REQUIRED) {
      this.sessions.get(sessionId)?.preauth?.update(Buffer.concat([reply.header, ...reply.body]));
    }
  }

  // ---- state the handlers change -----------------------------------------------------------

  /** What the registry says of an encrypting connection, built once (every sealed request sets it). */
  private get inUse(): string {
    this.inUseText ??= `in use (${cipherName(this.cipher as Cipher)})`;
    return this.inUseText;
  }
  private inUseText: string | undefined;

  describeSession(session: Session): void {
    const d = this.registry.info.details;
    d.dialect = dialectName(this.dialect);
    d.signing = session.signingRequired;
    d.encryption =
      this.cipher !== 0 && isSmb3(this.dialect) ? `available (${cipherName(this.cipher as Cipher)})` : 'none';
    d.sessions = [...this.sessions.values()].filter((s) => s.state === 'valid').length;
    // A Mac that negotiated Apple's extensions (apple/aapl.ts), for the Connections page.
    if (this.apple) d.client = 'macOS (AAPL)';
    if (session.user) {
      this.registry.identify({ user: session.user.name, uid: session.user.uid, gid: session.user.gid });
    }
  }

  /**
   * An OPLOCK_BREAK notification (§2.2.23.1, §3.3.4.6): unsolicited, MessageId all ones,
   * SessionId 0, not signed; encrypted when the open's session or share encrypts.
   */
  sendOplockBreak(open: Open, level: number): void {
    this.sendBreak(encodeOplockBreak({ lease: false, level, fileId: open.fileId }), open);
  }

  /**
   * A LEASE_BREAK notification (§2.2.23.2, §3.3.4.7): unsolicited like an oplock break, with the
   * lease's key, its state now and what it is broken to; the new epoch for a v2 lease. It is
   * encrypted as one of the lease's opens on this connection would be.
   */
  sendLeaseBreak(lease: Lease, b: { from: number; to: number; ackRequired: boolean }): void {
    const open = [...lease.opens].find((o) => this.sessions.get(o.session.id) === o.session);
    this.sendBreak(encodeLeaseBreakNotification(lease, b), open);
  }

  private sendBreak(body: Buffer, about: Open | undefined): void {
    const header = encodeHeader({
      creditCharge: 0,
      status: NT_STATUS.STATUS_SUCCESS,
      command: CMD.OPLOCK_BREAK,
      credits: 0,
      flags: 0,
      messageId: 0xffff_ffff_ffff_ffffn,
      processId: 0,
      treeId: 0,
      sessionId: 0n,
    });
    const session = about?.session;
    const encrypted =
      session !== undefined &&
      (session.encryptData || about!.tree.encryptData) &&
      session.encryptionKey !== undefined &&
      this.cipher !== 0;
    this.send([{ header, body: [body] }], { encrypted, sessionId: session?.id ?? 0n });
  }

  /** Closes an open (close-open.ts): the handle, its locks and share mode go at once. */
  closeOpen(open: Open): Promise<void> {
    return closeOpen(this.env, open);
  }

  async logoff(session: Session, opts: { keepDurable?: boolean } = {}): Promise<void> {
    const closing: Promise<void>[] = [];
    let kept = 0;
    for (const open of [...session.opens.values()]) {
      if (opts.keepDurable && keptOnDisconnect(open)) {
        disconnectDurable(this.env, open);
        kept++;
        continue;
      }
      closing.push(
        this.closeOpen(open).catch((e) => this.env.log.error({ err: e }, 'SMB close at logoff failed')),
      );
    }
    session.trees.clear();
    // Each close released its own locks; this catches any left, unless durable opens keep theirs.
    if (kept === 0) this.env.ns.locks.releaseClient('smb', session.lockClient);
    this.sessions.delete(session.id);
    if (this.env.sessions.get(session.id)?.session === session) this.env.sessions.delete(session.id);
    this.registry.info.details.sessions = [...this.sessions.values()].filter(
      (s) => s.state === 'valid',
    ).length;
    await Promise.all(closing);
  }
}
