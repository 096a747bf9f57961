import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http, {
  type IncomingMessage,
  type OutgoingHttpHeader,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import https from 'node:https';
import net, { type Socket } from 'node:net';
import { pipeline } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Protocol } from '../../config/types.ts';
import type { Listener, ProtocolContext, ProtocolServer } from '../../daemon/protocol-server.ts';
import { logRefusal } from '../../daemon/refusal-log.ts';
import type { Connection } from '../../ops/connections.ts';
import type { HealthCheck } from '../../ops/health.ts';
import { onCredentialsInvalidated } from '../../ops/identity/credentials.ts';
import type { Credential } from '../../storage/types.ts';
import { closeIdleAfterPoll } from '../../util/idle-close.ts';
import { systemName } from '../../util/system-ids.ts';
import { formatSize } from '../../util/units.ts';
import { Acceptor } from '../acceptor.ts';
import { cachedBucketXattrs } from './bucket-xattrs.ts';
import { type BucketSummary, type BucketUsage, bucketSummaries, measureBucket } from './buckets.ts';
import { NOBODY, type PostUpload, type S3Call, type S3Env, type S3Reply } from './context.ts';
import { addCorsHeaders, preflight } from './cors/answer.ts';
import { corsRulesFor } from './cors/bucket-cors.ts';
import { type CorsRule, gatewayRules } from './cors/rules.ts';
import {
  type AuthResult,
  asS3Error,
  authenticate,
  authenticatePostPolicy,
  type BodyVerifier,
  bodyVerifier,
  errorXml,
  type KeyLookup,
  type Principal,
  plainlyAnonymous,
  S3Error,
} from './deps.ts';
import { type OpRow, route, type Target } from './dispatch.ts';
import { checkBucketName } from './keys.ts';
import {
  HEADERS_TIMEOUT_MS,
  KEEP_ALIVE_MS,
  LeanRequest,
  LeanResponse,
  MAX_HEAD_BYTES,
  serveLean,
} from './lean-http.ts';
import { LifecycleSweeper } from './lifecycle/sweeper.ts';
import { DirectoryListings } from './listing.ts';
import { type UploadSummary, uploadSummaries } from './multipart/report.ts';
import { StaleUploadSweeper } from './multipart/stale.ts';
import { UploadStore } from './multipart/store.ts';
import { tlsOrPlain } from './plain-on-tls.ts';
import { policyAllows, surelyNoPolicy } from './policy/bucket-policy.ts';
import { readPostForm } from './post-form.ts';
import {
  NO_BLOCK,
  type PublicAccessBlock,
  publicAccessBlockIn,
  publicAccessBlockOf,
} from './public-access-block.ts';
import { parseTarget } from './request.ts';
import { VersionStore } from './versioning/store.ts';

/** A POST form's request: its body is the form, read by the handler, never a signed payload. */
const ANONYMOUS_BODY: AuthResult = Object.freeze({ kind: 'anonymous' });

/** How long a looked-up access key is trusted before asking the control plane again. */
const KEY_CACHE_MS = 1000;
/** A key's last use is written to the control plane at most this often (the console's "Last used"). */
const KEY_USE_RECORD_MS = 60_000;
/** The `Server` header of every answer. */
const SERVER = 'ClaudeFS';
/** How long stop() waits for requests in flight before closing their connections. */
const STOP_GRACE_MS = 30_000;

/**
 * Refusals besides every 403 that an operator must see at the default log level: a body that
 * is not the one signed, and a key the tree refuses ("." or ".." segments: path traversal).
 */
const LOGGED_REFUSALS: ReadonlySet<string> = new Set(['XAmzContentSHA256Mismatch', 'InvalidArgument']);

/** A request as node:http parsed it, or as the lean front did (GET and HEAD: lean-http.ts). */
type HttpRequest = IncomingMessage | LeanRequest;
type HttpResponse = ServerResponse | LeanResponse;

/** The access key id a request claims (header or presigned query), for logs: never the signature. */
function claimedAccessKeyId(req: HttpRequest): string | undefined {
  const from = `${req.headers.authorization ?? ''} ${req.url ?? ''}`;
  return /Credential=([A-Za-z0-9]{1,128})(?:\/|%2F)/.exec(from)?.[1];
}

interface SocketState {
  /** Undefined: refused at the connection limit (the first request gets 503 SlowDown). */
  conn: Connection | undefined;
  raw: Socket;
  inFlight: number;
  /**
   * How each request in flight on this socket ends its accounting. Usually its response's
   * 'close' does; a pipelined request whose response was still queued when the socket died
   * gets no 'close' from node, so the socket's own close ends those.
   */
  ending: Set<object>;
  bytesRead: number;
  bytesWritten: number;
}

/** Whether the bucket's public access block lets in an anonymous caller its policy or s3.public_read_buckets would. */
function anonymousMayEnter(block: PublicAccessBlock, byPolicy: boolean, configured: boolean): void {
  if ((byPolicy && !block.RestrictPublicBuckets) || (configured && !block.IgnorePublicAcls)) return;
  throw new S3Error('AccessDenied', 'Access Denied');
}

/**
 * The S3 listener: connections accepted by our own net.Server (so a drain stops accepting
 * without closing open keep-alive connections) and registered in the connection registry;
 * plain-HTTP GET and HEAD answered by the lean front (lean-http.ts), everything else by
 * node:http(s); one request id per request, errors rendered as S3 XML.
 *
 * Failure handling: a request whose framing cannot be parsed (bad HTTP, oversized head,
 * truncated body) closes the connection — node's parser reports it and we answer what we can
 * (431/400 as S3 XML) before closing; a status error (any S3Error, namespace error) becomes an
 * XML reply on a connection that stays usable, unless the request body was not read, then the
 * connection is closed after the reply.
 */
export class S3Server implements ProtocolServer {
  readonly protocol: Protocol = 's3';
  private env!: S3Env;
  private sweeper: StaleUploadSweeper | undefined;
  private lifecycleSweeper: LifecycleSweeper | undefined;
  private http!: http.Server | https.Server;
  private readonly acceptor: Acceptor;
  private readonly sockets = new Map<Socket, SocketState>();
  private readonly pendingTls = new Map<string, SocketState>();
  private readonly tlsStates = new WeakMap<Socket, SocketState>();
  private readonly keyCache = new Map<string, { at: number; value: Awaited<ReturnType<KeyLookup>> }>();
  /** When each key's use was last written to the control plane. */
  private readonly keyUseRecorded = new Map<string, number>();
  /** A browser's request (one with an Origin): the CORS rules its bucket answers it with. */
  private readonly corsOf = new WeakMap<HttpRequest, readonly CorsRule[]>();
  private stopping = false;
  private inFlight = 0;
  private idle: (() => void) | undefined;
  private readonly idPrefix = randomBytes(4).toString('hex').toUpperCase();
  private readonly probeToken = randomBytes(16).toString('hex');
  private idCounter = 0;
  private readonly tls: boolean;
  private unsubscribeTls: (() => void) | undefined;
  private readonly unsubscribeKeys: () => void;

  constructor(private readonly ctx: ProtocolContext) {
    // A key revoked, or its user disabled or removed, through this gateway is refused at once.
    this.unsubscribeKeys = onCredentialsInvalidated(ctx.control, (key) =>
      key === undefined ? this.keyCache.clear() : this.keyCache.delete(key),
    );
    this.tls = ctx.config.s3.tls !== undefined;
    const { host, port } = ctx.config.s3.bind;
    this.acceptor = new Acceptor(
      net.createServer({ noDelay: true }, (s) => this.onSocket(s)),
      {
        host,
        port,
        backlog: 1024,
      },
    );
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  async start(): Promise<Listener[]> {
    const { ns, config, log } = this.ctx;
    const root = config.s3.root;
    const rootAttrs = await ns.ensureDirectory(root.path, root.mode, root.ownerUid, root.ownerGid);
    const uploads = await UploadStore.open(ns, async () => ns.meta.detached());
    const versions = await VersionStore.open(ns);
    const ctx = this.ctx;
    this.env = {
      ns,
      // Read through: a reload may change the region, the domain and public_read_buckets.
      get config() {
        return ctx.config.s3;
      },
      log,
      rootIno: rootAttrs.ino,
      uploads,
      versions,
      listings: new DirectoryListings(ns),
    };
    this.sweeper = new StaleUploadSweeper(uploads, () => ctx.config.s3.staleUploadsExpiryMs, log);
    this.sweeper.start();
    this.lifecycleSweeper = new LifecycleSweeper(
      this.env,
      log,
      Date.now,
      () => ctx.config.s3.lifecycleIntervalMs,
    );
    this.lifecycleSweeper.start();

    const options = {
      maxHeaderSize: MAX_HEAD_BYTES,
      keepAliveTimeout: KEEP_ALIVE_MS,
      requestTimeout: 0,
      headersTimeout: HEADERS_TIMEOUT_MS,
    };
    if (config.s3.tls) {
      // The pair the certs feature serves (hot-reloaded on SIGHUP and by the admin API); the
      // configured files when it has none yet. New handshakes get a new pair at once.
      const pair = this.ctx.tls.current() ?? {
        cert: readFileSync(config.s3.tls.cert),
        key: readFileSync(config.s3.tls.key),
      };
      const server = https.createServer({ ...options, cert: pair.cert, key: pair.key });
      this.http = server;
      this.unsubscribeTls = this.ctx.tls.onChange(() => {
        const next = this.ctx.tls.current();
        if (next) server.setSecureContext({ cert: next.cert, key: next.key });
      });
      this.http.on('secureConnection', (s: TLSSocket) => this.onSecure(s));
      this.http.on('tlsClientError', (_e, s) => s.destroy());
    } else {
      this.http = http.createServer(options);
    }
    closeIdleAfterPoll(this.http);
    this.http.on('request', (req, res) => void this.handle(req, res, false));
    this.http.on('checkContinue', (req, res) => void this.handle(req, res, true));
    this.http.on('clientError', (err, socket) =>
      this.onClientError(err as NodeJS.ErrnoException, socket as Socket),
    );
    // Our acceptor hands sockets over; 'listening' sets up node's timeout and idle tracking.
    this.http.emit('listening');
    await this.acceptor.listen();
    const { host, port } = config.s3.bind;
    return [{ name: `S3 (${this.tls ? 'https' : 'http'})`, address: `${host}:${port}` }];
  }

  async setAccepting(accepting: boolean): Promise<void> {
    if (this.stopping) return;
    await this.acceptor
      .setAccepting(accepting)
      .catch((e: unknown) => this.ctx.log.error({ err: e }, 'S3 listener could not resume accepting'));
  }

  /** A reload may change s3.stale_uploads_expiry or s3.lifecycle_interval: the sweeps follow at once. */
  reload(): void {
    this.sweeper?.reschedule();
    this.lifecycleSweeper?.reschedule();
  }

  /** Multipart uploads aborted for want of activity since start, and the bytes they held. */
  get staleUploads(): { aborted: number; freedBytes: bigint } {
    return this.sweeper?.totals ?? { aborted: 0, freedBytes: 0n };
  }

  /** The buckets' lifecycle rules at work (`./cfs s3 lifecycle`); undefined before start. */
  get lifecycle(): LifecycleSweeper | undefined {
    return this.lifecycleSweeper;
  }

  /** Every bucket with its owner and settings (`./cfs s3 buckets`, the console's Buckets page). */
  async buckets(): Promise<BucketSummary[]> {
    return bucketSummaries(this.env, await this.ownerNames());
  }

  /** Every incomplete multipart upload, the oldest first (`./cfs s3 uploads`). */
  async incompleteUploads(): Promise<UploadSummary[]> {
    return uploadSummaries(this.env.uploads, await this.ownerNames());
  }

  /**
   * Aborts an upload for an operator (`./cfs s3 uploads abort`): its parts freed, logged with
   * who asked. Undefined when there is no such upload (finished, aborted, never was).
   */
  async abortUpload(
    uploadId: string,
    by: string,
  ): Promise<{ bucket: string; key: string; parts: number; freedBytes: string } | undefined> {
    const gone = await this.env.uploads.abort(uploadId);
    if (!gone) return undefined;
    const freed = gone.parts.reduce((sum, p) => sum + BigInt(p.size), 0n);
    const { bucket, key } = gone.upload.info;
    this.ctx.log.info(
      { upload: uploadId, bucket, key, parts: gone.parts.length, freedBytes: String(freed), by },
      `S3 multipart upload ${uploadId} of ${bucket}/${key} aborted by ${by}; ${gone.parts.length} part${gone.parts.length === 1 ? '' : 's'}, ${formatSize(freed)} freed`,
    );
    return { bucket, key, parts: gone.parts.length, freedBytes: String(freed) };
  }

  /** uid → account name (or root/nobody), from the control plane. */
  private async ownerNames(): Promise<(uid: number) => string | null> {
    const users = await this.ctx.control.users.list();
    const byUid = new Map(users.map((u) => [u.uid, u.name]));
    return (uid) => byUid.get(uid) ?? systemName('uid', uid) ?? null;
  }

  /** A bucket's objects and bytes, counted by walking it; undefined for no such bucket. */
  bucketUsage(bucket: string): Promise<BucketUsage | undefined> {
    return measureBucket(this.env, bucket);
  }

  /** Objects expired, bytes freed and uploads aborted by lifecycle rules since start (metrics). */
  get lifecycleTotals(): { expired: number; freedBytes: bigint; aborted: number } {
    return this.lifecycleSweeper?.totals ?? { expired: 0, freedBytes: 0n, aborted: 0 };
  }

  /** Requests received and not yet ended (stop waits for them, up to its grace period). */
  get requestsInFlight(): number {
    return this.inFlight;
  }

  /**
   * Stops listening, lets requests in flight finish (up to STOP_GRACE_MS), then ends every
   * connection: an idle keep-alive client does not delay it.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.unsubscribeTls?.();
    this.unsubscribeKeys();
    await this.sweeper?.stop();
    await this.lifecycleSweeper?.stop();
    // Resolves only once every accepted socket is gone: stop accepting now, await it last.
    const closed = this.acceptor.stop();
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, STOP_GRACE_MS);
        this.idle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    for (const s of this.sockets.keys()) s.destroy();
    this.http?.close();
    await closed;
  }

  healthCheck(): HealthCheck {
    return {
      name: 's3',
      timeoutMs: 2000,
      run: async () => {
        const notListening = this.acceptor.notListening;
        if (notListening) return { status: 'degraded' as const, message: notListening };
        const status = await this.probe();
        return status === undefined ? undefined : { status: 'unhealthy' as const, message: status };
      },
    };
  }

  /**
   * Request accounting (metrics, connection registry), except for this server's own health
   * probe, recognised by a per-process random token: an idle gateway must not show S3 errors
   * (nor log them).
   */
  private begin(
    req: HttpRequest,
    conn: Connection,
    op: string | undefined,
  ): (code?: string, answeredAt?: number) => void {
    if (this.isProbe(req)) return () => {};
    return conn.begin(op ?? 'Unknown');
  }

  /** This process's own health probe (anonymous, so refused: not worth a warning either). */
  private isProbe(req: HttpRequest): boolean {
    return req.headers['x-cfs-probe'] === this.probeToken;
  }

  /** A real anonymous request to our own listener: any S3 XML answer with a request id is healthy. */
  private probe(): Promise<string | undefined> {
    const { host, port } = this.ctx.config.s3.bind;
    const target = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    const lib = this.tls ? https : http;
    return new Promise((resolve) => {
      const req = lib.request(
        {
          host: target,
          port,
          path: '/',
          method: 'GET',
          agent: false,
          rejectUnauthorized: false,
          timeout: 1500,
          headers: { connection: 'close', 'x-cfs-probe': this.probeToken },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            if (body.length < 4096) body += c;
          });
          res.on('end', () => {
            const ok =
              res.headers['x-amz-request-id'] !== undefined &&
              /<(Error|ListAllMyBucketsResult)[\s>]/.test(body);
            resolve(ok ? undefined : `unexpected answer from the S3 listener: HTTP ${res.statusCode}`);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (e) => resolve(`S3 listener did not answer: ${e.message}`));
      req.end();
    });
  }

  // ---- connections -------------------------------------------------------------------------

  private onSocket(raw: Socket): void {
    const conn = this.ctx.connections.accept(
      's3',
      raw.remoteAddress ?? '',
      raw.remotePort ?? 0,
      raw.localPort ?? 0,
    );
    const state: SocketState = {
      conn,
      raw,
      inFlight: 0,
      ending: new Set(),
      bytesRead: 0,
      bytesWritten: 0,
    };
    this.sockets.set(raw, state);
    // Bytes counted as they go, not only as each answer ends: a long download shows its progress.
    if (conn) conn.refresh = () => this.account(state);
    const tlsKey = `${raw.remoteAddress}:${raw.remotePort}`;
    if (this.tls) this.pendingTls.set(tlsKey, state);
    raw.on('close', () => {
      this.sockets.delete(raw);
      this.pendingTls.delete(tlsKey);
      conn?.close();
      // After the responses' own 'close' events, which node emits on this same turn.
      setImmediate(() => {
        for (const token of [...state.ending]) this.ended(state, token);
      });
    });
    raw.on('error', () => {});
    if (this.stopping) {
      raw.destroy();
      return;
    }
    if (this.tls) tlsOrPlain(raw, (s) => this.http.emit('connection', s));
    else serveLean(raw, this.lean);
  }

  /** GET and HEAD on plain HTTP are parsed and answered by the lean front; the rest by node:http. */
  private readonly lean = {
    request: (req: LeanRequest, res: LeanResponse) => void this.handle(req, res, false),
    handOff: (socket: Socket) => this.http.emit('connection', socket),
  };

  private onSecure(s: TLSSocket): void {
    const key = `${s.remoteAddress}:${s.remotePort}`;
    const state = this.pendingTls.get(key);
    if (state) {
      this.pendingTls.delete(key);
      this.tlsStates.set(s, state);
      if (state.conn) state.conn.info.details.tls = s.getProtocol() ?? 'tls';
    }
  }

  private stateOf(socket: Socket): SocketState | undefined {
    return this.sockets.get(socket) ?? this.tlsStates.get(socket);
  }

  /** Framing errors (node's parser): answer in S3 XML if the socket still takes it, then close. */
  private onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    if (!socket.writable || (err as { bytesParsed?: number }).bytesParsed === undefined) {
      socket.destroy();
      return;
    }
    const requestId = this.nextRequestId();
    const s3err =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? new S3Error(
            'RequestHeaderSectionTooLarge',
            `Your request header section exceeds the maximum allowed size (${MAX_HEAD_BYTES} bytes).`,
          )
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? new S3Error(
              'InvalidRequest',
              'Your socket connection to the server was not read from or written to within the timeout period.',
            )
          : new S3Error('InvalidRequest', 'The request could not be parsed as HTTP/1.1.');
    const status = s3err.code === 'RequestHeaderSectionTooLarge' ? 431 : 400;
    const body = errorXml(s3err, '/', requestId);
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\nx-amz-request-id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  private nextRequestId(): string {
    this.idCounter = (this.idCounter + 1) >>> 0;
    return this.idPrefix + this.idCounter.toString(16).toUpperCase().padStart(8, '0');
  }

  private readonly lookupKey: KeyLookup = async (akid) => {
    // Monotonic: a wall clock stepped back (NTP on a VM) must not keep a revoked key working.
    const now = performance.now();
    const hit = this.keyCache.get(akid);
    if (hit && now - hit.at < KEY_CACHE_MS) return hit.value;
    let value: Awaited<ReturnType<KeyLookup>>;
    try {
      value = await this.ctx.control.s3Keys.lookup(akid);
    } catch (e) {
      // The control plane is unreachable: a key known a moment ago keeps working (its removal
      // cannot be learnt meanwhile); an unknown one is refused as a retryable outage.
      if (hit) return hit.value;
      throw new S3Error(
        'ServiceUnavailable',
        'The access key cannot be checked: the control plane is unavailable.',
        undefined,
        {
          cause: e,
        },
      );
    }
    // Misses are not kept: a key created a moment ago works at once.
    if (value) {
      if (this.keyCache.size > 10_000) this.keyCache.clear();
      this.keyCache.set(akid, { at: now, value });
    } else {
      this.keyCache.delete(akid);
    }
    return value;
  };

  /**
   * A signed request's key was used now: its `lastUsedAt` (`./cfs user key list`, the console's
   * keys table) is written at most once per KEY_USE_RECORD_MS, off the request's path.
   */
  private recordKeyUse(accessKeyId: string): void {
    const now = performance.now();
    const last = this.keyUseRecorded.get(accessKeyId);
    if (last !== undefined && now - last < KEY_USE_RECORD_MS) return;
    if (this.keyUseRecorded.size > 10_000) this.keyUseRecorded.clear();
    this.keyUseRecorded.set(accessKeyId, now);
    this.ctx.control.s3Keys
      .touch(accessKeyId, new Date())
      .catch((e: unknown) => this.ctx.log.debug({ err: e }, "could not record an S3 key's last use"));
  }

  // ---- one request -------------------------------------------------------------------------

  private async handle(req: HttpRequest, res: HttpResponse, expectContinue: boolean): Promise<void> {
    const requestId = this.nextRequestId();
    const state = this.stateOf(req.socket);
    const url = req.url ?? '/';
    let resource = url.split('?', 1)[0]!;
    if (!state?.conn) {
      this.replyError(
        req,
        res,
        new S3Error('SlowDown', 'Please reduce your request rate: the gateway is at its connection limit.'),
        resource,
        requestId,
        true,
      );
      return;
    }
    const conn = state.conn;
    state.inFlight++;
    this.inFlight++;
    if (this.stopping) res.shouldKeepAlive = false;
    let end: ((code?: string, answeredAt?: number) => void) | undefined;
    let row: OpRow | undefined;
    let entered = false;
    const token = {};
    state.ending.add(token);
    // A request is answered when its answer starts, and in flight (drain, Connections) until
    // the answer's last byte is handed to the socket: a GET sending 30 MB to a slow client is
    // not over when its headers go.
    let closed = false;
    let atClose: (() => void) | undefined;
    res.once('close', () => {
      closed = true;
      atClose?.();
      this.ended(state, token);
    });
    const answered = (code?: string) => {
      const at = performance.now();
      const finish = end!;
      if (closed) finish(code, at);
      else atClose = () => finish(code, at);
    };
    try {
      const method = req.method ?? 'GET';
      const t = parseTarget(url, req.headers.host, this.env.config.domain);
      resource =
        t.bucket === undefined ? '/' : t.key === undefined ? `/${t.bucket}` : `/${t.bucket}/${t.key}`;
      const target: Target = t.bucket === undefined ? 'service' : t.key === undefined ? 'bucket' : 'object';
      if (req.headers.origin !== undefined) {
        // A browser's: the rules in force for its bucket answer it, errors included.
        const rules = corsRulesFor(this.env, t.bucket);
        this.corsOf.set(req, rules instanceof Promise ? await rules : rules);
      }
      if (method === 'OPTIONS') {
        end = this.begin(req, conn, 'CorsPreflight');
        this.send(req, res, { headers: preflight(this.corsRules(req), req.headers) }, requestId);
        answered();
        return;
      }
      try {
        row = route(method, target, t.query, req.headers);
      } finally {
        end = this.begin(req, conn, row?.op);
      }
      if (row.needsBucket) checkBucketName(t.bucket!);
      // Its turn on the event loop, when NFS and SMB clients need the loop too (ops/loop-share.ts).
      const turn = this.ctx.connections.share.enter();
      entered = true;
      if (turn) await turn;
      const head = { method, rawPath: t.rawPath, rawQuery: t.rawQuery, headers: req.headers };
      let continueDue = expectContinue;
      let post: (PostUpload & { principal: Principal }) | undefined;
      if (row.formAuth) {
        // A browser-based upload: its form's policy, signed, is its authentication.
        // A POST: node:http's request (the lean front serves only GET and HEAD).
        if (continueDue) (res as ServerResponse).writeContinue();
        continueDue = false;
        const form = await readPostForm(req as IncomingMessage);
        const checked = await authenticatePostPolicy(form.fields, t.bucket!, this.lookupKey, {
          region: this.env.config.region,
        });
        post = {
          form,
          principal: checked.principal,
          ...(checked.sizeRange ? { sizeRange: checked.sizeRange } : {}),
        };
      }
      const auth: AuthResult = post
        ? ANONYMOUS_BODY
        : (plainlyAnonymous(head) ??
          (await authenticate(head, this.lookupKey, { region: this.env.config.region })));
      let cred: Credential;
      if (post) {
        const p = post.principal;
        cred = { uid: p.uid, gid: p.gid, gids: p.gids };
        conn.identify({ user: p.userName, uid: p.uid, gid: p.gid, keyId: p.accessKeyId });
        this.recordKeyUse(p.accessKeyId);
      } else if (auth.kind === 'anonymous') {
        cred = NOBODY;
      } else {
        const p = auth.principal;
        cred = { uid: p.uid, gid: p.gid, gids: p.gids };
        conn.identify({ user: p.userName, uid: p.uid, gid: p.gid, keyId: p.accessKeyId });
        this.recordKeyUse(p.accessKeyId);
      }
      const call = this.makeCall(req, row, t.bucket ?? '', t.key ?? '', t.query, cred, auth, requestId, post);
      // The bucket's policy: a Deny refuses anyone; an Allow is what lets an anonymous request in,
      // besides s3.public_read_buckets.
      // Its settings from the caches, read once (undefined when not cached: asked for then).
      const settings =
        t.bucket !== undefined && row.needsBucket ? cachedBucketXattrs(this.env, t.bucket) : undefined;
      const allowed =
        t.bucket !== undefined &&
        row.needsBucket &&
        !(settings !== undefined && surelyNoPolicy(settings)) &&
        (await policyAllows(call, row.op));
      if (auth.kind === 'anonymous' && !post) {
        const gate = this.letAnonymousIn(row, t.bucket, allowed, settings);
        if (gate) await gate;
      }
      // Only node:http reports an Expect: 100-continue (checkContinue).
      if (continueDue) (res as ServerResponse).writeContinue();
      const reply = await row.handler(call);
      // S3 has no COMMIT: with async metadata durability a change is flushed before its answer.
      if (row.mutates) await this.env.ns.flushDeferred();
      this.send(req, res, reply, requestId);
      answered();
    } catch (e) {
      const err = asS3Error(e);
      if (err.status === 500) {
        this.ctx.log.error({ err: e, op: row?.op, requestId, resource }, `S3 ${row?.op ?? 'request'} failed`);
      } else if (err.status === 503) {
        this.ctx.log.warn(
          { code: err.code, op: row?.op, requestId, resource },
          `S3 ${row?.op ?? 'request'} refused: ${err.message}`,
        );
      } else if (
        // A full disk (507) too: said once in a while, without a stack, as clients retry.
        err.status === 507 ||
        ((err.status === 403 || LOGGED_REFUSALS.has(err.code)) && !this.isProbe(req))
      ) {
        logRefusal(this.ctx.log, 'warn', req.socket.remoteAddress, `S3 request refused: ${err.code}`, {
          code: err.code,
          reason: err.message,
          op: row?.op,
          requestId,
          resource,
          accessKeyId: claimedAccessKeyId(req),
          remote: req.socket.remoteAddress,
        });
      }
      end ??= this.begin(req, conn, row?.op);
      this.replyError(req, res, err, resource, requestId, false);
      answered(err.code);
    } finally {
      if (entered) this.ctx.connections.share.leave();
    }
  }

  /**
   * An anonymous request goes on when the bucket's policy allows it or the bucket is one of
   * s3.public_read_buckets (for the reads a public bucket takes) — unless the bucket's public
   * access block says to ignore either (RestrictPublicBuckets, IgnorePublicAcls).
   */
  private letAnonymousIn(
    row: OpRow,
    bucket: string | undefined,
    byPolicy: boolean,
    settings: ReadonlyMap<string, Buffer> | undefined,
  ): Promise<void> | undefined {
    const configured =
      row.publicRead && bucket !== undefined && this.env.config.publicReadBuckets.includes(bucket);
    if (!byPolicy && !configured) throw new S3Error('AccessDenied', 'Access Denied');
    // A public bucket's GET waits for nothing when the caches hold the bucket (no turn of the loop).
    if (settings) {
      anonymousMayEnter(publicAccessBlockIn(settings) ?? NO_BLOCK, byPolicy, configured);
      return undefined;
    }
    return publicAccessBlockOf(this.env, bucket!).then((block) =>
      anonymousMayEnter(block, byPolicy, configured),
    );
  }

  /** A request's accounting ends once: at its response's 'close', or at its socket's. */
  private ended(state: SocketState, token: object): void {
    if (!state.ending.delete(token)) return;
    this.account(state);
    state.inFlight--;
    this.inFlight--;
    if (this.inFlight === 0) this.idle?.();
  }

  private makeCall(
    req: HttpRequest,
    row: OpRow,
    bucket: string,
    key: string,
    query: Map<string, string>,
    cred: Credential,
    auth: AuthResult,
    requestId: string,
    post?: PostUpload & { principal: Principal },
  ): S3Call {
    let verifier: BodyVerifier | undefined;
    return {
      env: this.env,
      method: row.method,
      bucket,
      key,
      query,
      headers: req.headers,
      cred,
      principal: post?.principal ?? (auth.kind === 'sigv4' ? auth.principal : undefined),
      client: { ip: req.socket.remoteAddress ?? '', secure: this.tls },
      requestId,
      ...(post
        ? { post: { form: post.form, ...(post.sizeRange ? { sizeRange: post.sizeRange } : {}) } }
        : {}),
      body() {
        if (verifier) return verifier;
        const v = bodyVerifier(auth, req.headers);
        verifier = v;
        // The handler may not be reading yet when the verifier fails; it sees the error when it does.
        v.on('error', () => {});
        if (req instanceof LeanRequest) {
          // No body: GET and HEAD without one are what the lean front serves.
          v.end();
          return v;
        }
        const abort = () => {
          if (!req.complete)
            v.destroy(
              new S3Error('IncompleteBody', 'The request body ended before the Content-Length given.'),
            );
        };
        req.once('error', abort);
        req.once('close', abort);
        req.pipe(v);
        return v;
      },
    };
  }

  /**
   * Status and headers go out in one writeHead, as a flat [name, value, …] list: no setHeader
   * bookkeeping per header, which cost a GET of a small object more than its body did, and no
   * object spread, whose copy V8 gives a shape node's header loop reads slowly (8 µs a response).
   */
  private send(req: HttpRequest, res: HttpResponse, reply: S3Reply, requestId: string): void {
    const status = reply.status ?? 200;
    const body = reply.body;
    const replied = reply.headers ?? {};
    const noBody = req.method === 'HEAD' || status === 304 || status === 204;
    if (body === undefined || noBody) {
      if (body !== undefined && typeof body === 'object' && 'destroy' in body)
        (body as { destroy(): void }).destroy();
      const headers = this.headersOf(req, replied, requestId, OWN_NONE);
      if (!noBody && replied['content-length'] === undefined) headers.push('content-length', '0');
      this.finishBody(req, res);
      res.writeHead(status, headers).end();
      return;
    }
    if (typeof body === 'string') {
      const headers = this.headersOf(req, replied, requestId, OWN_XML);
      headers.push('content-type', 'application/xml', 'content-length', Buffer.byteLength(body));
      this.finishBody(req, res);
      res.writeHead(status, headers).end(body);
      return;
    }
    if (Buffer.isBuffer(body)) {
      const headers = this.headersOf(req, replied, requestId, OWN_LENGTH);
      headers.push('content-length', body.length);
      this.finishBody(req, res);
      res.writeHead(status, headers).end(body);
      return;
    }
    this.finishBody(req, res);
    const headers = this.headersOf(req, replied, requestId, OWN_NONE);
    if (res instanceof LeanResponse) {
      res.writeHead(status, headers).pipeFrom(body);
      return;
    }
    res.writeHead(status, headers);
    pipeline(body, res, (err) => {
      if (err) res.destroy();
    });
  }

  /** The CORS rules answering a browser's request: its bucket's, or the gateway's rule. */
  private corsRules(req: HttpRequest): readonly CorsRule[] {
    return this.corsOf.get(req) ?? gatewayRules(this.env.config.corsOrigins);
  }

  /** A reply's header list (headerList), with what a cross-origin caller needs (cors/answer.ts). */
  private headersOf(
    req: HttpRequest,
    replied: OutgoingHttpHeaders,
    requestId: string,
    own: ReadonlySet<string>,
  ): OutgoingHttpHeader[] {
    const headers = headerList(replied, requestId, own);
    if (req.headers.origin !== undefined)
      addCorsHeaders(this.corsRules(req), req.method, req.headers, headers);
    return headers;
  }

  private replyError(
    req: HttpRequest,
    res: HttpResponse,
    err: S3Error,
    resource: string,
    requestId: string,
    close: boolean,
  ): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    if (close) res.shouldKeepAlive = false;
    this.finishBody(req, res);
    const headers: OutgoingHttpHeaders = { ...err.headers, 'x-amz-request-id': requestId, server: SERVER };
    // A page reads why its request failed; a refused preflight gets no permission.
    if (req.headers.origin !== undefined)
      addCorsHeaders(this.corsRules(req), req.method, req.headers, headers);
    if (req.method === 'HEAD' || err.status === 304) {
      res.writeHead(err.status, headers).end();
      return;
    }
    const body = errorXml(err, resource, requestId);
    headers['content-type'] = 'application/xml';
    headers['content-length'] = Buffer.byteLength(body);
    res.writeHead(err.status, headers).end(body);
  }

  /**
   * A reply sent before the request body was read: the rest of the body is discarded and the
   * connection closed after the reply, so it cannot be taken for the next request.
   */
  private finishBody(req: HttpRequest, res: HttpResponse): void {
    if (req.complete || req instanceof LeanRequest || res instanceof LeanResponse) return;
    const declared = req.headers['content-length'];
    if (declared === '0' || (declared === undefined && req.headers['transfer-encoding'] === undefined))
      return;
    res.shouldKeepAlive = false;
    res.once('finish', () => {
      req.unpipe();
      req.resume();
      setTimeout(() => req.socket.destroy(), 2000).unref();
    });
  }

  private account(state: SocketState): void {
    const s = state.raw;
    const r = s.bytesRead;
    const w = s.bytesWritten;
    state.conn?.bytes(r - state.bytesRead, w - state.bytesWritten);
    state.bytesRead = r;
    state.bytesWritten = w;
  }
}

/** Headers every answer carries, set by send() whatever a handler put in its reply. */
const OWN_NONE: ReadonlySet<string> = new Set(['x-amz-request-id', 'server']);
/** …and those send() derives from a buffer body, or from an XML one. */
const OWN_LENGTH: ReadonlySet<string> = new Set([...OWN_NONE, 'content-length']);
const OWN_XML: ReadonlySet<string> = new Set([...OWN_LENGTH, 'content-type']);

/** A reply's headers as writeHead's flat list, with the request id and server after them. */
function headerList(
  headers: OutgoingHttpHeaders,
  requestId: string,
  own: ReadonlySet<string>,
): OutgoingHttpHeader[] {
  const list: OutgoingHttpHeader[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !own.has(name)) list.push(name, value);
  }
  list.push('x-amz-request-id', requestId, 'server', SERVER);
  return list;
}

export function createS3Server(ctx: ProtocolContext): ProtocolServer {
  return new S3Server(ctx);
}
