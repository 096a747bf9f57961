/**
 * The aws-chunked body codec (S3 API Reference, "Transferring Payload in Multiple Chunks" and
 * "…Including Trailing Headers"): an incremental decoder over bytes as they arrive, however
 * they are split. Wire form, with or without `;chunk-signature=<64 hex>` extensions:
 *
 *   <hex size>[;chunk-signature=<sig>]\r\n<size bytes>\r\n   … repeated …
 *   0[;chunk-signature=<sig>]\r\n
 *   <trailer name>:<value>\r\n …                             (the trailer section, maybe empty)
 *   \r\n
 *
 * Chunk data is handed on as it arrives (never gathered); only a header or trailer line is
 * buffered, and each is bounded. Framing errors throw S3Error: InvalidRequest for malformed
 * syntax, MalformedTrailerError for a bad trailer section, IncompleteBody for a body that
 * ends too early. What the chunks and trailers mean (signatures, checksums, lengths) is the
 * sink's business.
 */
import { S3Error } from '../errors.ts';

export interface AwsChunkSink {
  /** A chunk header: data size and the chunk-signature extension, when present. Size 0 is the last chunk. */
  chunkHeader(size: number, signature: string | undefined): void;
  /** Some of the current chunk's data (a view into the input: copy it to keep it). */
  data(bytes: Buffer): void;
  /** The current chunk is complete (for the last chunk, right after its header). */
  chunkEnd(size: number): void;
  /** One trailing header, name lower-case, value trimmed. */
  trailer(name: string, value: string): void;
  /** The trailer section (possibly empty) ended: the body is complete. */
  end(): void;
}

/** Longest chunk-header or trailer line accepted, CRLF excluded. */
export const MAX_LINE_BYTES = 4096;
/** Largest trailer section accepted. */
export const MAX_TRAILER_BYTES = 16 * 1024;

const HEX_SIZE = /^[0-9a-fA-F]{1,13}$/;
const TRAILER_LINE = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)[ \t]*:[ \t]*(.*?)[ \t]*$/;

type State = 'header' | 'data' | 'data-cr' | 'data-lf' | 'trailer' | 'maybe-done' | 'done';

function malformed(what: string): S3Error {
  return new S3Error('InvalidRequest', `Malformed aws-chunked body: ${what}.`);
}

export class AwsChunkedDecoder {
  private state: State = 'header';
  private line: Buffer[] = [];
  private lineBytes = 0;
  private chunkSize = 0;
  private remaining = 0;
  private trailerBytes = 0;
  private trailerCount = 0;
  /** A trailer line was parsed, or an empty line ended the section once already. */
  private trailerSeen = false;

  constructor(
    private readonly sink: AwsChunkSink,
    /** Trailers are announced (x-amz-trailer): tolerate an empty line right after the last chunk. */
    private readonly expectTrailers: boolean,
  ) {}

  get complete(): boolean {
    return this.state === 'done' || this.state === 'maybe-done';
  }

  write(input: Buffer): void {
    let i = 0;
    while (i < input.length) {
      switch (this.state) {
        case 'data': {
          const n = Math.min(this.remaining, input.length - i);
          this.sink.data(input.subarray(i, i + n));
          i += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = 'data-cr';
          break;
        }
        case 'data-cr':
          if (input[i] !== 0x0d) throw malformed('chunk data is not followed by CRLF');
          i++;
          this.state = 'data-lf';
          break;
        case 'data-lf':
          if (input[i] !== 0x0a) throw malformed('chunk data is not followed by CRLF');
          i++;
          this.sink.chunkEnd(this.chunkSize);
          this.state = 'header';
          break;
        case 'done':
          throw malformed('data after the end of the body');
        case 'maybe-done':
          // Trailers sent after an extra empty line (a layout some implementations of AWS's
          // trailer example use): read them as the trailer section.
          this.state = 'trailer';
          break;
        case 'header':
        case 'trailer':
          i = this.readLine(input, i);
          break;
      }
    }
  }

  /** Accumulates a CRLF-terminated line from input[i…]; returns where reading stopped. */
  private readLine(input: Buffer, i: number): number {
    const lf = input.indexOf(0x0a, i);
    const end = lf < 0 ? input.length : lf;
    this.lineBytes += end - i;
    if (this.state === 'trailer') this.trailerBytes += end - i + (lf < 0 ? 0 : 1);
    if (this.lineBytes > MAX_LINE_BYTES + 1) {
      throw this.state === 'header'
        ? malformed('chunk header line too long')
        : new S3Error('MalformedTrailerError', 'A trailer line is too long.');
    }
    if (this.trailerBytes > MAX_TRAILER_BYTES)
      throw new S3Error('MalformedTrailerError', 'The trailer section is too long.');
    if (end > i) this.line.push(input.subarray(i, end));
    if (lf < 0) return input.length;
    const raw = this.line.length === 1 ? this.line[0]! : Buffer.concat(this.line);
    this.line = [];
    this.lineBytes = 0;
    if (raw.length === 0 || raw[raw.length - 1] !== 0x0d) {
      throw this.state === 'header'
        ? malformed('chunk header not terminated by CRLF')
        : new S3Error('MalformedTrailerError', 'A trailer line is not terminated by CRLF.');
    }
    const text = raw.toString('latin1', 0, raw.length - 1);
    if (this.state === 'header') this.onHeader(text);
    else this.onTrailerLine(text);
    return lf + 1;
  }

  private onHeader(text: string): void {
    const parts = text.split(';');
    const size = parts[0]!;
    if (!HEX_SIZE.test(size)) throw malformed(`invalid chunk size "${size.slice(0, 32)}"`);
    let signature: string | undefined;
    for (const ext of parts.slice(1)) {
      const eq = ext.indexOf('=');
      if (eq > 0 && ext.slice(0, eq) === 'chunk-signature') signature = ext.slice(eq + 1);
    }
    this.chunkSize = Number.parseInt(size, 16);
    this.sink.chunkHeader(this.chunkSize, signature);
    if (this.chunkSize === 0) {
      this.sink.chunkEnd(0);
      this.state = 'trailer';
    } else {
      this.remaining = this.chunkSize;
      this.state = 'data';
    }
  }

  private onTrailerLine(text: string): void {
    if (text === '') {
      this.state = this.expectTrailers && !this.trailerSeen ? 'maybe-done' : 'done';
      this.trailerSeen = true;
      if (this.state === 'done') this.sink.end();
      return;
    }
    const m = TRAILER_LINE.exec(text);
    if (!m) throw new S3Error('MalformedTrailerError', `Malformed trailer line "${text.slice(0, 64)}".`);
    if (++this.trailerCount > 32) throw new S3Error('MalformedTrailerError', 'Too many trailers.');
    this.trailerSeen = true;
    this.sink.trailer(m[1]!.toLowerCase(), m[2]!);
  }

  /**
   * The input has ended. Throws IncompleteBody when it ended inside a chunk or before the last
   * chunk. Lenient about the end of the trailer section only: a missing final empty line, or
   * a last trailer line without its CRLF, is accepted (signatures and checksums still apply).
   */
  finish(): void {
    if (this.state === 'done') return;
    if (this.state === 'maybe-done') {
      this.state = 'done';
      this.sink.end();
      return;
    }
    if (this.state === 'trailer') {
      if (this.line.length > 0) {
        const text = Buffer.concat(this.line).toString('latin1').replace(/\r$/, '');
        this.line = [];
        if (text !== '') this.onTrailerLine(text);
      }
      this.state = 'done';
      this.sink.end();
      return;
    }
    throw new S3Error('IncompleteBody', 'The aws-chunked body ended before its last (zero-length) chunk.');
  }
}
