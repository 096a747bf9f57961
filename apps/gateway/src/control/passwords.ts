import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';

interface Md4Module {
  arrayBuffer(message: Uint8Array): ArrayBuffer;
}

// MD4 is not in Node 20's OpenSSL 3. js-md4's plain `md4(x)` call delegates to OpenSSL on
// Node and throws; `md4.arrayBuffer()` always runs its own JavaScript implementation.
const md4 = createRequire(import.meta.url)('js-md4') as Md4Module;

/** NTOWFv1 (MS-NLMP 3.3.1): MD4 over the UTF-16LE password, lowercase hex. */
export function ntHash(password: string): string {
  return Buffer.from(md4.arrayBuffer(Buffer.from(password, 'utf16le'))).toString('hex');
}

// Format: scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>. Parameters travel with the hash so they
// can be raised later without invalidating stored passwords.
const N = 16384;
const R = 8;
const P = 1;
const KEY_LEN = 32;

function scryptAsync(password: string, salt: Buffer, keyLen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((ok, fail) => scrypt(password, salt, keyLen, opts, (e, k) => (e ? fail(e) : ok(k))));
}

/** Runs on libuv's thread pool, not the event loop. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, KEY_LEN, { N, r: R, p: P });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

// Verified against when the account has no password, so a missing account or password costs
// the same time as a wrong one.
const DUMMY_HASH = `scrypt$${N}$${R}$${P}$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(KEY_LEN).toString('base64')}`;

/** Constant-time comparison; a null or malformed stored hash never verifies. */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const parts = (stored ?? DUMMY_HASH).split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  const salt = Buffer.from(parts[4] ?? '', 'base64');
  const want = Buffer.from(parts[5] ?? '', 'base64');
  if (!Number.isInteger(n) || !Number.isInteger(r) || !Number.isInteger(p) || want.length === 0) return false;
  const got = await scryptAsync(password, salt, want.length, {
    N: n,
    r,
    p,
    maxmem: 256 * n * r + 1024 * 1024,
  });
  return timingSafeEqual(got, want) && stored !== null;
}
