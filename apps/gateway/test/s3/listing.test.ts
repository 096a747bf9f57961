/**
 * ListObjectsV2 in key order (UTF-8 bytes) over a bucket whose directories interleave with
 * names that extend them (`a` lists as `a/`, after `a-b` and `a.txt`), paged every way a client
 * pages; and a page of a large directory reading only about the entries it returns.
 */
import { deepEqual, equal, ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Credential } from '../../src/storage/types.ts';
import { type S3Gateway, sdkClient, startS3Gateway } from './fixture.ts';

const bytewise = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Deterministic pseudo-random numbers (mulberry32), so a failure replays. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Characters on both sides of `/` (0x2f) and outside ASCII, where UTF-16 and UTF-8 orders differ. */
const ALPHABET = ['a', 'b', 'A', '-', '.', '0', ' ', '!', 'é', '\uE000', '😀'];

function keySet(n: number, rnd: () => number): string[] {
  const pick = () => ALPHABET[Math.floor(rnd() * ALPHABET.length)]!;
  // `.` and `..` cannot be path segments (the namespace's names).
  const component = (): string => {
    const c = Array.from({ length: 1 + Math.floor(rnd() * 3) }, pick).join('');
    return c === '.' || c === '..' ? component() : c;
  };
  const keys = new Set<string>();
  while (keys.size < n) {
    keys.add(Array.from({ length: 1 + Math.floor(rnd() * 3) }, component).join('/'));
  }
  // A key cannot also be a folder of another key (a file and a directory of one name).
  const all = [...keys];
  return all.filter((k) => !all.some((o) => o.startsWith(`${k}/`)));
}

async function listAll(
  c: S3Client,
  bucket: string,
  opts: { MaxKeys?: number; Prefix?: string; Delimiter?: string; StartAfter?: string },
): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  for (let pages = 0; pages < 10_000; pages++) {
    const r = await c.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token, ...opts }));
    const page = [
      ...(r.Contents ?? []).map((o) => o.Key!),
      ...(r.CommonPrefixes ?? []).map((p) => p.Prefix!),
    ];
    equal(r.KeyCount, page.length);
    ok(page.length <= (opts.MaxKeys ?? 1000));
    out.push(...page.sort(bytewise));
    if (!r.IsTruncated) return out;
    token = r.NextContinuationToken;
  }
  throw new Error('the listing did not end');
}

/** What a listing with this prefix and delimiter answers: keys and CommonPrefixes, in order. */
function expectedListing(
  keys: readonly string[],
  prefix: string,
  delimiter: string,
  startAfter = '',
): string[] {
  const out = new Set<string>();
  for (const k of keys) {
    if (!k.startsWith(prefix)) continue;
    const at = delimiter === '' ? -1 : k.indexOf(delimiter, prefix.length);
    const shown = at < 0 ? k : k.slice(0, at + delimiter.length);
    if (bytewise(shown, startAfter) > 0) out.add(shown);
  }
  return [...out].sort(bytewise);
}

describe('S3 listings in key order', () => {
  let g: S3Gateway;
  let c: S3Client;
  let keys: string[];
  let owner: Credential;
  before(async () => {
    g = await startS3Gateway();
    const key = await g.user('alice');
    owner = { uid: key.uid, gid: key.gid, gids: [] };
    c = sdkClient(g, key);
    await c.send(new CreateBucketCommand({ Bucket: 'mixed' }));
    keys = keySet(260, random(7));
    for (let i = 0; i < keys.length; i += 16) {
      await Promise.all(
        keys
          .slice(i, i + 16)
          .map((k) => c.send(new PutObjectCommand({ Bucket: 'mixed', Key: k, Body: Buffer.from(k) }))),
      );
    }
    keys.sort(bytewise);
  });
  after(() => g.stop());

  test('1 every key once, in UTF-8 order, whatever the page size', async () => {
    for (const MaxKeys of [1, 7, 1000])
      deepEqual(await listAll(c, 'mixed', { MaxKeys }), keys, `max-keys ${MaxKeys}`);
  });

  test('2 start-after any string, a key or not, lists what sorts after it', async () => {
    const rnd = random(11);
    const starts = [
      ...keys.filter((_, i) => i % 9 === 0),
      ...keys.filter((_, i) => i % 13 === 0).map((k) => k.slice(0, Math.max(1, Math.floor(k.length / 2)))),
      'a',
      'a-',
      'a/',
      'a.',
      'a0',
      'é',
      '\uFFFF',
      '😀😀',
    ];
    for (let i = 0; i < 12; i++) starts.push(ALPHABET[Math.floor(rnd() * ALPHABET.length)]! + '/');
    for (const StartAfter of starts) {
      deepEqual(
        await listAll(c, 'mixed', { StartAfter, MaxKeys: 50 }),
        keys.filter((k) => bytewise(k, StartAfter) > 0),
        `start-after ${JSON.stringify(StartAfter)}`,
      );
    }
  });

  test('3 prefixes and the / delimiter group keys into CommonPrefixes in order, page after page', async () => {
    const folders = [...new Set(keys.filter((k) => k.includes('/')).map((k) => `${k.split('/')[0]!}/`))];
    const prefixes = ['', 'a', 'a-', 'a/', 'a.', 'é', '😀', ...folders.filter((_, i) => i % 10 === 0)];
    for (const Prefix of prefixes) {
      deepEqual(
        await listAll(c, 'mixed', { Prefix, Delimiter: '/', MaxKeys: 5 }),
        expectedListing(keys, Prefix, '/'),
        `prefix ${JSON.stringify(Prefix)}`,
      );
      deepEqual(await listAll(c, 'mixed', { Prefix }), expectedListing(keys, Prefix, ''));
    }
  });

  test('4 a page of a large directory reads about the entries it returns, not the directory', async () => {
    await c.send(new CreateBucketCommand({ Bucket: 'large' }));
    const { ns } = g.gw;
    const bucket = await ns.lookup(owner, (await ns.resolvePath(owner, '/export')).ino, 'large');
    const names = Array.from({ length: 3000 }, (_, i) => `f${i}`);
    for (let i = 0; i < names.length; i += 200) {
      await Promise.all(names.slice(i, i + 200).map((n) => ns.create(owner, bucket.ino, n, 0o644)));
    }
    names.sort(bytewise);
    // Entries the namespace hands out, by whichever listing call.
    let read = 0;
    const counted = ns as unknown as Record<string, (...a: unknown[]) => Promise<{ entries: unknown[] }>>;
    const restore: Array<() => void> = [];
    for (const m of ['readdir', 'readdirPlus', 'readdirByName']) {
      const original = counted[m]!;
      counted[m] = async (...a) => {
        const page = await original.apply(ns, a);
        read += page.entries.length;
        return page;
      };
      restore.push(() => {
        counted[m] = original;
      });
    }
    try {
      for (const StartAfter of ['', 'f1500', 'f2998', 'f9']) {
        read = 0;
        const r = await c.send(new ListObjectsV2Command({ Bucket: 'large', StartAfter, MaxKeys: 10 }));
        deepEqual(
          r.Contents?.map((o) => o.Key) ?? [],
          names.filter((n) => bytewise(n, StartAfter) > 0).slice(0, 10),
        );
        ok(read <= 300, `a 10-key page after ${JSON.stringify(StartAfter)} read ${read} entries of 3,000`);
      }
    } finally {
      for (const r of restore) r();
    }
    deepEqual(await listAll(c, 'large', {}), names);
  });
});
