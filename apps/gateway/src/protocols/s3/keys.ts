import { S3Error } from './deps.ts';

/** S3's limit on a key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;
/** One path component (NAME_MAX of the namespace). */
export const MAX_SEGMENT_BYTES = 255;

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IPV4_RE = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/**
 * S3 bucket naming rules (general purpose buckets): 3–63 characters of lowercase letters,
 * digits, dots and hyphens; begins and ends with a letter or digit; no two adjacent dots;
 * not an IPv4 address; not the reserved prefixes/suffixes (xn--, sthree-, -s3alias, --ol-s3).
 */
export function isValidBucketName(name: string): boolean {
  if (validBuckets.has(name)) return true;
  if (!followsBucketRules(name)) return false;
  if (validBuckets.size >= VALID_BUCKETS_MAX) validBuckets.clear();
  validBuckets.add(name);
  return true;
}

/** Names found valid (a request names its bucket each time; the rules' regexes run once). */
const validBuckets = new Set<string>();
const VALID_BUCKETS_MAX = 1024;

function followsBucketRules(name: string): boolean {
  if (!BUCKET_RE.test(name)) return false;
  if (name.includes('..') || name.includes('.-') || name.includes('-.')) return false;
  if (IPV4_RE.test(name)) return false;
  if (name.startsWith('xn--') || name.startsWith('sthree-') || name.startsWith('amzn-s3-demo-')) return false;
  if (
    name.endsWith('-s3alias') ||
    name.endsWith('--ol-s3') ||
    name.endsWith('.mrap') ||
    name.endsWith('--x-s3')
  )
    return false;
  return true;
}

export function checkBucketName(name: string): void {
  if (!isValidBucketName(name)) {
    throw new S3Error('InvalidBucketName', 'The specified bucket is not valid.', {
      BucketName: name.slice(0, 255),
    });
  }
}

/** Where a key lives in the bucket's directory tree. */
export interface KeyPath {
  /** Directories above the object, outermost first. */
  dirs: string[];
  /** The final component: a file name, or the directory name of a marker key (`a/b/`). */
  name: string;
  /** The key ends in `/`: a directory marker. */
  marker: boolean;
}

/**
 * Maps a key onto the tree: `a/b/c` is directories `a`, `b` and file `c`; `a/b/` is directory
 * `b` marked as an object. Keys the tree cannot hold faithfully — empty, `.`/`..` segments,
 * empty segments (`a//b`, a leading `/`), NUL — are refused with InvalidArgument.
 */
export function keyPath(key: string): KeyPath {
  const kp = mapKey(key);
  if (kp instanceof S3Error) throw kp;
  return kp;
}

/**
 * keyPath, or undefined for a key the tree cannot hold, which therefore names no object: a
 * read of it is NoSuchKey and a delete of it has nothing to do, as S3 answers for any key that
 * is not there (AWS stores `a//b` as it is; a client listing, reading or deleting keys of its
 * own must not fail on one). An empty key, or one over S3's 1,024 bytes, is still refused.
 */
export function heldKeyPath(key: string): KeyPath | undefined {
  const kp = mapKey(key);
  return kp instanceof S3Error ? undefined : kp;
}

/** The key's place in the tree, or the error that says why the tree cannot hold it. */
function mapKey(key: string): KeyPath | S3Error {
  if (key.length === 0) throw new S3Error('InvalidArgument', 'The key must not be empty.');
  // A UTF-16 code unit is at most 3 bytes of UTF-8 (a surrogate pair, two units, is 4): short
  // keys and segments need no byte count.
  if (key.length * 3 > MAX_KEY_BYTES && Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new S3Error('KeyTooLongError', 'Your key is too long', { MaxSizeAllowed: String(MAX_KEY_BYTES) });
  }
  if (key.includes('\0')) return invalidKey('the key contains NUL');
  const marker = key.endsWith('/');
  const parts = (marker ? key.slice(0, -1) : key).split('/');
  for (const p of parts) {
    if (p === '') return invalidKey('the key has an empty path segment');
    if (p === '.' || p === '..') return invalidKey('the key has a "." or ".." path segment');
    if (p.length * 3 > MAX_SEGMENT_BYTES && Buffer.byteLength(p, 'utf8') > MAX_SEGMENT_BYTES) {
      return new S3Error(
        'KeyTooLongError',
        `A path segment of the key is longer than ${MAX_SEGMENT_BYTES} bytes`,
        {
          MaxSizeAllowed: String(MAX_SEGMENT_BYTES),
        },
      );
    }
  }
  const name = parts.pop()!;
  return { dirs: parts, name, marker };
}

function invalidKey(why: string): S3Error {
  return new S3Error('InvalidArgument', `Object key not supported by this gateway: ${why}.`, {
    ArgumentName: 'key',
  });
}

/** UTF-8 byte order, as S3 sorts keys (JS string order differs above U+FFFF). */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  // Fast path: both strings without surrogates compare the same in UTF-16 and UTF-8 order
  // except where one has a char in U+E000..U+FFFF against a surrogate; check cheaply.
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs === ys) return x < y ? -1 : 1;
    // A surrogate (code point ≥ U+10000) sorts after any BMP character in UTF-8.
    return xs ? 1 : -1;
  }
  return a.length - b.length;
}
