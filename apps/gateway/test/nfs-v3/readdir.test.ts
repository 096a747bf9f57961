import { deepEqual, equal, ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ROOT } from '../../src/storage/types.ts';
import { Harness } from './harness.ts';
import { A, type DirEntryOut, decodeReply, encode, R } from './wire.ts';

const OK = 0;
const BAD_COOKIE = 10003;
const TOOSMALL = 10005;
const READDIR = 16;
const READDIRPLUS = 17;
const COUNT = 10_000;
const ZERO = Buffer.alloc(8);

/** XDR size of an entryplus3's directory part (fileid, name, cookie), as dircount counts it. */
const dirPart = (name: string) => 8 + 4 + ((Buffer.byteLength(name) + 3) & ~3) + 8;

describe('READDIRPLUS and READDIR over 10,000 entries', () => {
  let h: Harness;
  let dir: Buffer;
  const created: string[] = [];

  before(async () => {
    h = await Harness.open();
    const exp = await h.ns.resolvePath(ROOT, '/export');
    const big = await h.ns.mkdir(ROOT, exp.ino, 'big', 0o777);
    for (let i = 0; i < COUNT; i += 500) {
      const names = Array.from(
        { length: Math.min(500, COUNT - i) },
        (_, j) => `entry-${String(i + j).padStart(5, '0')}`,
      );
      await Promise.all(names.map((n) => h.ns.create(ROOT, big.ino, n, 0o644)));
      created.push(...names);
    }
    dir = (await h.call(3, A.lookup(await h.root(), 'big'), R.lookup)).fh!;
  });
  after(() => h.close());

  async function plus(cookie: bigint, verf: Buffer, dircount: number, maxcount: number) {
    const body = await h.raw(READDIRPLUS, encode(A.readdirplus(dir, cookie, verf, dircount, maxcount)));
    return { size: body.length, ...decodeReply(body, R.readdirplus) };
  }

  test('1 dircount and maxcount bound every reply; the rest waits for the next call; every name once', async () => {
    const dircount = 4096;
    const maxcount = 32768;
    const seen: DirEntryOut[] = [];
    let cookie = 0n;
    let verf = ZERO;
    let calls = 0;
    for (;;) {
      const r = await plus(cookie, verf, dircount, maxcount);
      calls++;
      equal(r.status, OK);
      ok(r.size <= maxcount, `reply of ${r.size} bytes exceeds maxcount`);
      const dirBytes = r.entries.reduce((s, e) => s + dirPart(e.name), 0);
      ok(dirBytes <= dircount, `directory part of ${dirBytes} bytes exceeds dircount`);
      ok(r.entries.length > 0 || r.eof);
      for (const e of r.entries) {
        ok(e.attrs && e.fh, `${e.name} has attributes and a handle`);
        equal(e.attrs!.fileid, e.fileid);
      }
      seen.push(...r.entries);
      if (r.eof) break;
      // A page stopped short: the next entry would not have fitted one of the two limits.
      ok(dirBytes + dirPart('entry-00000') > dircount || r.size + 200 > maxcount);
      cookie = r.entries.at(-1)!.cookie;
      verf = r.verf!;
    }
    ok(calls > 20, `${calls} calls: dircount limits pages to about 4 KiB of names`);
    deepEqual(
      seen.slice(0, 2).map((e) => e.name),
      ['.', '..'],
    );
    const names = seen.slice(2).map((e) => e.name);
    equal(names.length, COUNT);
    equal(new Set(names).size, COUNT);
    deepEqual([...names].sort(), [...created].sort());
    const cookies = seen.map((e) => e.cookie);
    equal(new Set(cookies).size, cookies.length, 'cookies are unique');
  });

  test('2 maxcount alone bounds the reply when dircount is large; a handle from a listing works', async () => {
    const r = await plus(0n, ZERO, 1 << 20, 8192);
    ok(r.size <= 8192);
    ok(r.entries.length > 10 && r.entries.length < 100);
    const e = r.entries[5]!;
    const g = await h.call(1, A.getattr(e.fh!), R.getattr);
    equal(g.attrs!.fileid, e.fileid);
  });

  test('3 the cookie verifier: another directory’s is BAD_COOKIE with attributes; zeros are accepted', async () => {
    const first = await plus(0n, ZERO, 4096, 32768);
    const cookie = first.entries.at(-1)!.cookie;
    const bad = await plus(cookie, Buffer.from('01234567'), 4096, 32768);
    equal(bad.status, BAD_COOKIE);
    ok(bad.attrs, 'dir attributes on failure');
    const rd = decodeReply(
      await h.raw(READDIR, encode(A.readdir(dir, cookie, Buffer.from('01234567'), 8192))),
      R.readdir,
    );
    equal(rd.status, BAD_COOKIE);
    const zero = await plus(cookie, ZERO, 4096, 32768);
    equal(zero.status, OK);
    equal(zero.entries[0]!.name, `entry-${String(first.entries.length - 2).padStart(5, '0')}`);
    const same = await plus(cookie, first.verf!, 4096, 32768);
    deepEqual(
      same.entries.map((e) => e.name),
      zero.entries.map((e) => e.name),
    );
  });

  test('4 a maxcount too small for one entry is TOOSMALL', async () => {
    const r = await plus(0n, ZERO, 4096, 120);
    equal(r.status, TOOSMALL);
    ok(r.attrs);
  });

  test('5 entries removed and added between calls: none listed twice, none of the others missed', async () => {
    const exp = await h.ns.resolvePath(ROOT, '/export/big');
    const first = await plus(0n, ZERO, 8192, 65536);
    const listed = first.entries.map((e) => e.name);
    await h.ns.remove(ROOT, exp.ino, listed[2]!);
    await h.ns.remove(ROOT, exp.ino, 'entry-09999');
    await h.ns.create(ROOT, exp.ino, 'zz-new', 0o644);
    const rest: string[] = [];
    let cookie = first.entries.at(-1)!.cookie;
    let verf = first.verf!;
    for (;;) {
      const r = await plus(cookie, verf, 8192, 65536);
      equal(r.status, OK);
      rest.push(...r.entries.map((e) => e.name));
      if (r.eof) break;
      cookie = r.entries.at(-1)!.cookie;
      verf = r.verf!;
    }
    const all = [...listed, ...rest];
    equal(new Set(all).size, all.length);
    ok(all.includes('zz-new'));
    ok(!rest.includes('entry-09999'));
    equal(all.length, COUNT + 2 + 1 - 1);
  });

  test('6 READDIR pages by count over the whole directory', async () => {
    let cookie = 0n;
    let verf = ZERO;
    let total = 0;
    for (;;) {
      const body = await h.raw(READDIR, encode(A.readdir(dir, cookie, verf, 8192)));
      ok(body.length <= 8192);
      const r = decodeReply(body, R.readdir);
      equal(r.status, OK);
      total += r.entries.length;
      if (r.eof) break;
      cookie = r.entries.at(-1)!.cookie;
      verf = r.verf!;
    }
    // Test 5 removed two entries and added one.
    equal(total, COUNT - 1 + 2);
  });
});
