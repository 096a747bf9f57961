import { parseSize } from '../util/units.ts';
import { InvalidValue } from './invalid-value.ts';

/**
 * The `transport` keys for an `s3://bucket/prefix` data store; `cache_size` and `inline_max`
 * apply to a `file://` one too.
 * Sizes as operators write them elsewhere (`8MiB`), durations too (`10s`).
 */
export const OBJECT_STORE_DEFAULTS = {
  region: 'us-east-1',
  chunkSize: '8MiB',
  cacheSize: '256MiB',
  writeBufferSize: '256MiB',
  inlineMax: '16KiB',
  requestTimeout: '10s',
} as const;

const KiB = 1024;
const MiB = 1024 * KiB;
const CHUNK_MIN = 4 * KiB;
/** Larger chunks go up as multipart uploads of 8 MiB parts; 64 MiB keeps a chunk's RAM bounded. */
const CHUNK_MAX = 64 * MiB;

/** `http://store-1:7002` or `https://s3.example.net`: scheme, host, optional port, nothing else. */
export function parseStoreEndpoint(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidValue(`'${text}' is not a URL: write e.g. http://store-1:7002`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidValue(`endpoint '${text}' must start with http:// or https://`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new InvalidValue(
      'endpoint must not carry credentials: use access_key_id and secret_access_key_file',
    );
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    throw new InvalidValue(
      `endpoint '${text}' must be just scheme, host and port (the bucket is in transport.url)`,
    );
  }
  return `${url.protocol}//${url.host}`;
}

/** Access key ids are printable ASCII without spaces (AWS: 16–128 letters and digits). */
export function parseAccessKeyId(text: string): string {
  if (!/^[\x21-\x7e]{1,128}$/.test(text)) {
    throw new InvalidValue('access_key_id must be 1 to 128 printable characters without spaces');
  }
  return text;
}

/** A bytes count that fits a JavaScript number exactly (sizes in the store are numbers). */
export function parseByteCount(text: string): number {
  const bytes = parseSize(text).bytes;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw new InvalidValue(`size '${text}' is too large`);
  return Number(bytes);
}

/** The largest file kept inline in the metadata database (`transport.inline_max`). */
export const INLINE_MAX_LIMIT = 256 * KiB;

export function parseInlineMax(text: string): number {
  const bytes = parseByteCount(text);
  if (bytes > INLINE_MAX_LIMIT) {
    throw new InvalidValue(
      `inline size '${text}' must be at most 256KiB (0 keeps every file in its own blob)`,
    );
  }
  return bytes;
}

export function parseChunkSize(text: string): number {
  const bytes = parseByteCount(text);
  if (bytes < CHUNK_MIN || bytes > CHUNK_MAX) {
    throw new InvalidValue(`chunk size '${text}' must be between 4KiB and 64MiB`);
  }
  return bytes;
}
