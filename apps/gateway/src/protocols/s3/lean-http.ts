import {
  type IncomingHttpHeaders,
  type OutgoingHttpHeader,
  type OutgoingHttpHeaders,
  STATUS_CODES,
  validateHeaderName,
  validateHeaderValue,
} from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { closeIfStillIdle } from '../../util/idle-close.ts';

/**
 * The S3 listener's own HTTP/1.1 front for the requests that carry no body: GET and HEAD.
 * node:http builds two streams per request (IncomingMessage, ServerResponse) and their events;
 * for a GET of a small object that was a fifth of the request's time on the event loop. Here a
 * request is parsed from the socket's bytes into a plain object, and its answer is one write.
 *
 * Only a request this front is sure of is served here: `GET`/`HEAD` with an origin-form target
 * of printable ASCII, HTTP/1.1, lines ended by CRLF, tokens for header names, no control
 * characters in values, each header once, no body (`Content-Length` absent or 0, no
 * `Transfer-Encoding`), no `Expect` or `Upgrade`, `Connection` absent, `keep-alive` or `close`.
 * Anything else — a PUT, an odd or malformed request, a head larger than the limit —
 * hands the connection, with every byte not yet served, to node:http for good, which answers
 * it as before (its parser's errors included). Replies go out in request order: a pipelined
 * request waits for the answer before it.
 */

// The S3 listener's HTTP limits, the same for this front and for node:http (server.ts passes
// them as keepAliveTimeout, headersTimeout and maxHeaderSize).
/** An idle connection is closed after this. */
export const KEEP_ALIVE_MS = 5000;
/** A request head must arrive within this. */
export const HEADERS_TIMEOUT_MS = 60_000;
/** The largest request head (431 beyond). */
export const MAX_HEAD_BYTES = 16 * 1024;
/** Bytes read ahead of the request being answered before the socket is paused (pipelining). */
const MAX_AHEAD = 64 * 1024;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What node:http refuses in a request header's value (llhttp, strict). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching the control characters is the point
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
const REQUEST_LINE = /^(GET|HEAD) (\/[\x21-\x7e]*) HTTP\/1\.1$/;

/** The Date header, made once a second as node:http does. */
let dateSecond = 0;
let dateLine = '';
function date(): string {
  const now = Date.now();
  const second = now - (now % 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateLine = `Date: ${new Date(now).toUTCString()}\r\n`;
  }
  return dateLine;
}

/** A bodiless request as the S3 server reads it (the subset of IncomingMessage it uses). */
export class LeanRequest {
  /** No body: nothing is left to read. */
  readonly complete = true;
  constructor(
    readonly method: 'GET' | 'HEAD',
    readonly url: string,
    readonly headers: IncomingHttpHeaders,
    readonly socket: Socket,
  ) {}
}

/**
 * The answer to a LeanRequest: writeHead then end (a Buffer or string body), or writeHead then
 * pipeFrom (a stream). 'close' fires once, when the answer is handed to the socket in full or
 * the socket closes first.
 */
export class LeanResponse {
  headersSent = false;
  /** False: the connection is closed after this answer (as node's ServerResponse). */
  shouldKeepAlive: boolean;
  private head = '';
  private chunked = false;
  private done = false;
  private onClose: (() => void) | undefined;

  constructor(
    private readonly conn: LeanConnection,
    private readonly isHead: boolean,
    keepAlive: boolean,
  ) {
    this.shouldKeepAlive = keepAlive;
  }

  once(_event: 'close', listener: () => void): this {
    this.onClose = listener;
    return this;
  }

  /** Nothing is staged before writeHead: the header list is all in its argument. */
  getHeaderNames(): string[] {
    return [];
  }

  removeHeader(_name: string): void {}

  /** Status and headers (a flat [name, value, …] list or an object), checked as node checks them. */
  writeHead(status: number, headers: OutgoingHttpHeader[] | OutgoingHttpHeaders): this {
    let out = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n`;
    if (Array.isArray(headers)) {
      for (let i = 0; i + 1 < headers.length; i += 2) out += headerLines(String(headers[i]), headers[i + 1]);
    } else {
      for (const name in headers) out += headerLines(name, headers[name]);
    }
    const bodiless = status === 204 || status === 304 || (status >= 100 && status < 200);
    // Without a length a GET's body is sent chunked; a HEAD's answer says 0, as node's does.
    if (!bodiless && !HAS_LENGTH.test(out)) {
      if (this.isHead) out += 'Content-Length: 0\r\n';
      else {
        this.chunked = true;
        out += 'Transfer-Encoding: chunked\r\n';
      }
    }
    out += date();
    out += this.shouldKeepAlive ? KEEP_ALIVE_LINES : 'Connection: close\r\n\r\n';
    this.head = out;
    this.headersSent = true;
    return this;
  }

  /** The whole body (none for HEAD), then the answer is complete. */
  end(body?: string | Buffer): this {
    const socket = this.conn.socket;
    if (this.done || socket.destroyed) return this;
    const data = this.isHead || body === undefined || body.length === 0 ? undefined : body;
    // The head in latin1, as node writes it; the body as given (a string as UTF-8).
    socket.cork();
    socket.write(this.head, 'latin1');
    if (data !== undefined) this.writeChunk(data);
    if (this.chunked) socket.write('0\r\n\r\n', 'latin1');
    socket.uncork();
    this.finish();
    return this;
  }

  /** A streamed body (its length in the headers, or chunked), with the socket's backpressure. */
  pipeFrom(body: Readable): void {
    const socket = this.conn.socket;
    if (this.isHead || socket.destroyed) {
      body.destroy();
      if (socket.destroyed) this.closed();
      else this.end();
      return;
    }
    socket.write(this.head, 'latin1');
    const onData = (chunk: Buffer) => {
      if (chunk.length > 0 && !this.writeChunk(chunk)) {
        body.pause();
        socket.once('drain', () => body.resume());
      }
    };
    const onSocketClose = () => body.destroy();
    socket.once('close', onSocketClose);
    body.on('data', onData);
    body.once('end', () => {
      socket.removeListener('close', onSocketClose);
      if (this.chunked) socket.write('0\r\n\r\n', 'latin1');
      this.finish();
    });
    // A body that fails mid-answer cannot be told to the client but by closing the connection.
    body.once('error', () => {
      socket.removeListener('close', onSocketClose);
      this.destroy();
    });
  }

  /** Body bytes, framed when chunked; false when the socket asks the writer to wait. */
  private writeChunk(data: string | Buffer): boolean {
    const socket = this.conn.socket;
    if (!this.chunked) return socket.write(data);
    socket.write(`${Buffer.byteLength(data).toString(16)}\r\n`, 'latin1');
    socket.write(data);
    return socket.write('\r\n', 'latin1');
  }

  /** Ends the connection at once (an answer that cannot be completed). */
  destroy(): void {
    this.conn.socket.destroy();
    this.closed();
  }

  /** The socket closed: an answer still being written ends now. False when it had ended. */
  closed(): boolean {
    if (this.done) return false;
    this.done = true;
    const fn = this.onClose;
    this.onClose = undefined;
    fn?.();
    return true;
  }

  /** The answer is handed to the socket in full: the connection goes on to the next request. */
  private finish(): void {
    if (this.closed()) this.conn.answered(this.shouldKeepAlive);
  }
}

/** A Content-Length line among the head's (any letter case). */
const HAS_LENGTH = /\ncontent-length:/i;

/** What follows the Date line of a keep-alive answer. */
const KEEP_ALIVE_LINES = `Connection: keep-alive\r\nKeep-Alive: timeout=${KEEP_ALIVE_MS / 1000}\r\n\r\n`;

/** One header's lines (a line per value of a list), refused by node's own checks as writeHead's are. */
function headerLines(name: string, value: OutgoingHttpHeader | undefined): string {
  if (value === undefined) return '';
  validateHeaderName(name);
  if (!Array.isArray(value)) return headerLine(name, String(value));
  let out = '';
  for (const v of value) out += headerLine(name, String(v));
  return out;
}

function headerLine(name: string, value: string): string {
  validateHeaderValue(name, value);
  return `${name}: ${value}\r\n`;
}

/** What the lean front needs from the S3 server. */
export interface LeanHandlers {
  /** A bodiless request, answered through its response. */
  request(req: LeanRequest, res: LeanResponse): void;
  /** Everything else: node:http takes the connection (its unread bytes already unshifted). */
  handOff(socket: Socket): void;
}

/** One connection served by the lean front, until it is handed to node:http or closes. */
class LeanConnection {
  private buffered: Buffer | undefined;
  private current: LeanResponse | undefined;
  private headStarted = 0;
  private closing = false;
  private served = false;
  /** An answer is still in the socket's buffer, above its high-water mark. */
  private waiting = false;
  private readonly onData = (chunk: Buffer) => this.received(chunk);
  private readonly onTimeout = () =>
    closeIfStillIdle(this.socket, () => this.current === undefined && !this.waiting);
  private readonly onClose = () => this.current?.closed();

  constructor(
    readonly socket: Socket,
    private readonly handlers: LeanHandlers,
  ) {
    socket.on('data', this.onData);
    socket.on('timeout', this.onTimeout);
    socket.once('close', this.onClose);
    // Until its first request is answered a connection has node's time for a head; then its
    // keep-alive time while idle.
    socket.setTimeout(HEADERS_TIMEOUT_MS);
  }

  private received(chunk: Buffer): void {
    // Ending after a Connection: close answer: what the client sends now is not read.
    if (this.closing) return;
    this.buffered = this.buffered === undefined ? chunk : Buffer.concat([this.buffered, chunk]);
    if (this.current !== undefined || this.waiting) {
      if (this.buffered.length > MAX_AHEAD) this.socket.pause();
      return;
    }
    this.next();
  }

  /** Serves the next whole request in the buffer, or hands the connection over. */
  private next(): void {
    const buf = this.buffered;
    if (buf === undefined || this.closing) return;
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) {
      // A head that does not fit in node's limit, or with lines ended by a bare LF: node decides.
      if (buf.length > MAX_HEAD_BYTES || bareLf(buf)) {
        this.release();
        return;
      }
      const now = performance.now();
      if (this.headStarted === 0) this.headStarted = now;
      else if (now - this.headStarted > HEADERS_TIMEOUT_MS) this.socket.destroy();
      return;
    }
    this.headStarted = 0;
    const req = end + 4 > MAX_HEAD_BYTES ? undefined : parseHead(buf.toString('latin1', 0, end), this.socket);
    if (req === undefined) {
      this.release();
      return;
    }
    this.buffered = end + 4 === buf.length ? undefined : buf.subarray(end + 4);
    const close = req.headers.connection?.toLowerCase() === 'close';
    const res = new LeanResponse(this, req.method === 'HEAD', !close);
    this.current = res;
    this.handlers.request(req, res);
  }

  /** The current answer is on its way: the next request, or the end of the connection. */
  answered(keepAlive: boolean): void {
    this.current = undefined;
    if (!this.served) {
      this.served = true;
      this.socket.setTimeout(KEEP_ALIVE_MS);
    }
    if (!keepAlive) {
      this.closing = true;
      this.socket.end();
      return;
    }
    // A client that pipelines and does not read: the next answer waits for the socket to take
    // this one (node:http pauses the same way), so its buffer does not grow without bound.
    if (this.socket.writableNeedDrain) {
      this.waiting = true;
      this.socket.once('drain', () => {
        this.waiting = false;
        this.resumeReading();
      });
      return;
    }
    this.resumeReading();
  }

  private resumeReading(): void {
    if (this.socket.isPaused()) this.socket.resume();
    if (this.buffered !== undefined) this.next();
  }

  /** node:http takes the connection from here, with the bytes read and not yet served. */
  private release(): void {
    const socket = this.socket;
    socket.removeListener('data', this.onData);
    socket.removeListener('timeout', this.onTimeout);
    socket.removeListener('close', this.onClose);
    socket.setTimeout(0);
    if (this.buffered !== undefined) socket.unshift(this.buffered);
    this.buffered = undefined;
    if (socket.isPaused()) socket.resume();
    this.handlers.handOff(socket);
  }
}

/** A request head this front serves, or undefined for node:http to take. */
function parseHead(head: string, socket: Socket): LeanRequest | undefined {
  const eol = head.indexOf('\r\n');
  const m = REQUEST_LINE.exec(eol < 0 ? head : head.slice(0, eol));
  if (m === null) return undefined;
  const headers: IncomingHttpHeaders = {};
  let at = eol < 0 ? head.length : eol + 2;
  while (at < head.length) {
    let lineEnd = head.indexOf('\r\n', at);
    if (lineEnd < 0) lineEnd = head.length;
    const colon = head.indexOf(':', at);
    if (colon < 0 || colon > lineEnd) return undefined;
    const name = head.slice(at, colon).toLowerCase();
    const value = ows(head, colon + 1, lineEnd);
    at = lineEnd + 2;
    if (!TOKEN.test(name) || BAD_VALUE.test(value) || headers[name] !== undefined) return undefined;
    headers[name] = value;
  }
  const length = headers['content-length'];
  if (length !== undefined && length !== '0') return undefined;
  if (
    headers['transfer-encoding'] !== undefined ||
    headers.expect !== undefined ||
    headers.upgrade !== undefined
  )
    return undefined;
  const connection = headers.connection;
  if (connection !== undefined && !/^(keep-alive|close)$/i.test(connection)) return undefined;
  return new LeanRequest(m[1] as 'GET' | 'HEAD', m[2]!, headers, socket);
}

/** Whether `buf` has a line feed not preceded by a carriage return. */
function bareLf(buf: Buffer): boolean {
  for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1))
    if (i === 0 || buf[i - 1] !== 13) return true;
  return false;
}

/** head[from, to) without the optional whitespace (spaces and tabs) around a header's value. */
function ows(head: string, from: number, to: number): string {
  let a = from;
  let b = to;
  while (a < b && (head.charCodeAt(a) === 32 || head.charCodeAt(a) === 9)) a++;
  while (b > a && (head.charCodeAt(b - 1) === 32 || head.charCodeAt(b - 1) === 9)) b--;
  return head.slice(a, b);
}

/** Serves `socket`'s bodiless requests until one needs node:http (see the top of this file). */
export function serveLean(socket: Socket, handlers: LeanHandlers): void {
  new LeanConnection(socket, handlers);
}
