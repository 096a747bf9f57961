import { deepEqual, equal, ok, rejects } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { exportIdOf } from '../../src/protocols/nfs/v3/handle.ts';
import { XdrError } from '../../src/protocols/xdr/errors.ts';
import { fsError } from '../../src/storage/errors.ts';
import { ROOT } from '../../src/storage/types.ts';
import { ALICE, BOB, Harness, nfsExport } from './harness.ts';
import { A, decodeReply, encode, R } from './wire.ts';

const OK = 0;
const NOENT = 2;
const EXIST = 17;
const XDEV = 18;
const NOTDIR = 20;
const ISDIR = 21;
const INVAL = 22;
const NOTEMPTY = 66;
const DQUOT = 69;
const STALE = 70;
const PERM = 1;
const ACCES = 13;

/** An nfstime3 ([seconds, nanoseconds]) in nanoseconds: arrays compare as text otherwise. */
const nsOf = ([s, n]: readonly [number, number]): bigint => BigInt(s) * 1_000_000_000n + BigInt(n);
const NOT_SYNC = 10002;
const NOTSUPP = 10004;
const BADTYPE = 10007;
const JUKEBOX = 10008;

const P = {
  NULL: 0,
  GETATTR: 1,
  SETATTR: 2,
  LOOKUP: 3,
  ACCESS: 4,
  READLINK: 5,
  READ: 6,
  WRITE: 7,
  CREATE: 8,
  MKDIR: 9,
  SYMLINK: 10,
  MKNOD: 11,
  REMOVE: 12,
  RMDIR: 13,
  RENAME: 14,
  LINK: 15,
  READDIR: 16,
  READDIRPLUS: 17,
  FSSTAT: 18,
  FSINFO: 19,
  PATHCONF: 20,
  COMMIT: 21,
} as const;

let h: Harness;
let root: Buffer;
let n = 0;
const fresh = (p: string) => `${p}-${++n}`;

async function mkfile(name = fresh('f'), mode = 0o644): Promise<Buffer> {
  const r = await h.call(P.CREATE, A.create(root, name, 'guarded', { mode }), R.newObject);
  equal(r.status, OK);
  return r.fh!;
}

describe('NFSv3 procedures through the RpcProgram', () => {
  before(async () => {
    h = await Harness.open({
      exports: [nfsExport({ path: '/export' }), nfsExport({ path: '/other' })],
    });
    root = await h.root();
  });
  after(() => h.close());

  test('1 NULL answers an empty body; trailing argument bytes are an XdrError (GARBAGE_ARGS)', async () => {
    equal((await h.raw(P.NULL, Buffer.alloc(0))).length, 0);
    await rejects(h.raw(P.NULL, Buffer.alloc(4)), XdrError);
  });

  test('2 GETATTR of the export root: a directory with the export fsid; a removed inode is STALE', async () => {
    const r = await h.call(P.GETATTR, A.getattr(root), R.getattr);
    equal(r.status, OK);
    equal(r.attrs!.type, 2);
    equal(r.attrs!.fsid, exportIdOf('/export'));
    equal(r.attrs!.mode, 0o777);
    const f = await mkfile();
    equal((await h.call(P.REMOVE, A.remove(root, await nameOf(f)), R.wccOnly)).status, OK);
    const gone = await h.call(P.GETATTR, A.getattr(f), R.getattr);
    deepEqual(gone, { status: STALE, attrs: undefined });
  });

  test('3 LOOKUP finds a file with both attributes; a missing name is NOENT with dir attributes', async () => {
    const name = fresh('look');
    const f = await mkfile(name);
    const r = await h.call(P.LOOKUP, A.lookup(root, name), R.lookup);
    equal(r.status, OK);
    deepEqual(r.fh, f);
    equal(r.attrs!.type, 1);
    equal(r.dirAttrs!.type, 2);
    const miss = await h.call(P.LOOKUP, A.lookup(root, 'nope'), R.lookup);
    equal(miss.status, NOENT);
    equal(miss.dirAttrs!.type, 2);
    const notDir = await h.call(P.LOOKUP, A.lookup(f, 'x'), R.lookup);
    equal(notDir.status, NOTDIR);
    equal(notDir.dirAttrs!.type, 1, 'the failure carries the object it was asked about');
  });

  test('4 CREATE: GUARDED twice is EXIST with dir wcc; UNCHECKED opens (and truncates) the existing file', async () => {
    const name = fresh('c');
    const first = await h.call(P.CREATE, A.create(root, name, 'guarded', { mode: 0o640 }), R.newObject);
    equal(first.status, OK);
    equal(first.attrs!.mode, 0o640);
    equal(first.attrs!.uid, 1000);
    ok(first.dirWcc.before && first.dirWcc.after, 'dir wcc on success');
    ok(nsOf(first.dirWcc.after!.mtime) >= nsOf(first.dirWcc.before!.mtime));
    await h.call(P.WRITE, A.write(first.fh!, 0n, Buffer.from('12345')), R.write);
    const again = await h.call(P.CREATE, A.create(root, name, 'guarded'), R.newObject);
    equal(again.status, EXIST);
    ok(again.dirWcc.before, 'pre-op attributes on failure');
    ok(again.dirWcc.after, 'post-op attributes on failure');
    const un = await h.call(
      P.CREATE,
      A.create(root, name, 'unchecked', { size: 0n, mode: 0o600 }),
      R.newObject,
    );
    equal(un.status, OK);
    deepEqual(un.fh, first.fh);
    equal(un.attrs!.size, 0n);
    equal(un.attrs!.mode, 0o640, 'UNCHECKED never changes the mode of an existing file');
  });

  test('5 CREATE EXCLUSIVE: a retransmission with the same verifier succeeds, another verifier is EXIST', async () => {
    const name = fresh('x');
    const verf = Buffer.from('verifie1');
    const a = await h.call(P.CREATE, A.create(root, name, verf), R.newObject);
    equal(a.status, OK);
    const b = await h.call(P.CREATE, A.create(root, name, Buffer.from(verf)), R.newObject);
    equal(b.status, OK);
    deepEqual(b.fh, a.fh);
    equal(b.attrs!.fileid, a.attrs!.fileid);
    const c = await h.call(P.CREATE, A.create(root, name, Buffer.from('other---')), R.newObject);
    equal(c.status, EXIST);
  });

  test('6 SETATTR chmod, truncate, utimes; a stale ctime guard is NOT_SYNC and changes nothing', async () => {
    const f = await mkfile();
    await h.call(P.WRITE, A.write(f, 0n, Buffer.alloc(100, 1)), R.write);
    const r = await h.call(
      P.SETATTR,
      A.setattr(f, { mode: 0o600, size: 10n, mtime: [1_000_000, 5] }),
      R.wccOnly,
    );
    equal(r.status, OK);
    equal(r.wcc.before!.size, 100n);
    equal(r.wcc.after!.size, 10n);
    equal(r.wcc.after!.mode, 0o600);
    deepEqual(r.wcc.after!.mtime, [1_000_000, 5]);
    const ctime = r.wcc.after!.ctime;
    const stale = await h.call(P.SETATTR, A.setattr(f, { mode: 0o644 }, [ctime[0], ctime[1] + 1]), R.wccOnly);
    equal(stale.status, NOT_SYNC);
    equal(stale.wcc.after!.mode, 0o600);
    ok(stale.wcc.before);
    const good = await h.call(P.SETATTR, A.setattr(f, { mode: 0o644 }, ctime), R.wccOnly);
    equal(good.status, OK);
    equal(good.wcc.after!.mode, 0o644);
    const bob = await h.call(P.SETATTR, A.setattr(f, { mode: 0o777 }), R.wccOnly, { cred: BOB });
    equal(bob.status, PERM);
    equal(bob.wcc.after!.mode, 0o644);
    const bad = await h.call(P.SETATTR, A.setattr(f, { atime: [1, 1_000_000_000] }), R.wccOnly);
    equal(bad.status, INVAL);
  });

  test('7 WRITE FILE_SYNC / UNSTABLE and READ with eof; READ of a directory is ISDIR with attributes', async () => {
    const f = await mkfile();
    const w = await h.call(P.WRITE, A.write(f, 0n, Buffer.from('hello world')), R.write);
    equal(w.status, OK);
    equal(w.count, 11);
    equal(w.committed, 2);
    equal(w.wcc.before!.size, 0n);
    equal(w.wcc.after!.size, 11n);
    deepEqual(w.verf, h.program.writeVerifier);
    const u = await h.call(P.WRITE, A.write(f, 11n, Buffer.from('!'), 0), R.write);
    equal(u.committed, 0);
    const d = await h.call(P.WRITE, A.write(f, 12n, Buffer.from('?'), 1), R.write);
    ok(d.committed! >= 1, 'DATA_SYNC is answered at least as stable');
    const r = await h.call(P.READ, A.read(f, 6n, 100), R.read);
    equal(r.status, OK);
    equal(r.data!.toString(), 'world!?');
    equal(r.count, 7);
    equal(r.eof, true);
    const part = await h.call(P.READ, A.read(f, 0n, 5), R.read);
    equal(part.data!.toString(), 'hello');
    equal(part.eof, false);
    const dir = await h.call(P.READ, A.read(root, 0n, 5), R.read);
    equal(dir.status, ISDIR);
    equal(dir.attrs!.type, 2);
    const short = await h.call(P.WRITE, A.write(f, 0n, Buffer.from('ab'), 2, 3), R.write);
    equal(short.status, INVAL);
    ok(short.wcc.after, 'failure carries wcc');
    const wdir = await h.call(P.WRITE, A.write(root, 0n, Buffer.from('x')), R.write);
    equal(wdir.status, ISDIR);
  });

  test('8 READ and WRITE: the owner may read and write a file whatever its mode; others may not', async () => {
    const f = await mkfile(fresh('ro'), 0o000);
    equal((await h.call(P.WRITE, A.write(f, 0n, Buffer.from('mine')), R.write)).status, OK);
    equal((await h.call(P.READ, A.read(f, 0n, 10), R.read)).data!.toString(), 'mine');
    equal((await h.call(P.READ, A.read(f, 0n, 10), R.read, { cred: BOB })).status, ACCES);
    equal((await h.call(P.WRITE, A.write(f, 0n, Buffer.from('x')), R.write, { cred: BOB })).status, ACCES);
  });

  test('9 ACCESS reports what the mode bits give each caller', async () => {
    const f = await mkfile(fresh('acc'), 0o640);
    const all = 0x3f;
    const mine = await h.call(P.ACCESS, A.access(f, all), R.access);
    equal(mine.status, OK);
    equal(mine.access, 0x01 | 0x04 | 0x08);
    ok(mine.attrs);
    const bob = await h.call(P.ACCESS, A.access(f, all), R.access, { cred: BOB });
    equal(bob.access, 0);
    const dir = await h.call(P.ACCESS, A.access(root, all), R.access, { cred: BOB });
    equal(dir.access, 0x01 | 0x02 | 0x04 | 0x08 | 0x10);
    const asked = await h.call(P.ACCESS, A.access(root, 0x01), R.access);
    equal(asked.access, 0x01, 'only asked bits are answered');
  });

  test('10 SYMLINK and READLINK; READLINK of a file is INVAL with its attributes', async () => {
    const name = fresh('ln');
    const s = await h.call(P.SYMLINK, A.symlink(root, name, '../target/x'), R.newObject);
    equal(s.status, OK);
    equal(s.attrs!.type, 5);
    const r = await h.call(P.READLINK, A.readlink(s.fh!), R.readlink);
    deepEqual([r.status, r.target], [OK, '../target/x']);
    const f = await mkfile();
    const bad = await h.call(P.READLINK, A.readlink(f), R.readlink);
    equal(bad.status, INVAL);
    equal(bad.attrs!.type, 1);
    const dup = await h.call(P.SYMLINK, A.symlink(root, name, 'y'), R.newObject);
    equal(dup.status, EXIST);
    ok(dup.dirWcc.after);
  });

  test('11 MKDIR and RMDIR: a non-empty directory is NOTEMPTY with wcc', async () => {
    const name = fresh('d');
    const d = await h.call(P.MKDIR, A.mkdir(root, name, { mode: 0o750 }), R.newObject);
    equal(d.status, OK);
    equal(d.attrs!.type, 2);
    equal(d.attrs!.mode, 0o750);
    equal(d.dirWcc.after!.nlink, d.dirWcc.after!.nlink);
    await h.call(P.CREATE, A.create(d.fh!, 'inner', 'guarded'), R.newObject);
    const full = await h.call(P.RMDIR, A.rmdir(root, name), R.wccOnly);
    equal(full.status, NOTEMPTY);
    ok(full.wcc.before && full.wcc.after);
    equal((await h.call(P.REMOVE, A.remove(d.fh!, 'inner'), R.wccOnly)).status, OK);
    const gone = await h.call(P.RMDIR, A.rmdir(root, name), R.wccOnly);
    equal(gone.status, OK);
    ok(nsOf(gone.wcc.after!.mtime) >= nsOf(gone.wcc.before!.mtime));
    const notDir = await h.call(P.RMDIR, A.rmdir(root, await nameOf(await mkfile())), R.wccOnly);
    equal(notDir.status, NOTDIR);
  });

  test('12 MKNOD makes FIFOs and sockets; devices are NOTSUPP, other types BADTYPE', async () => {
    const fifo = await h.call(P.MKNOD, A.mknod(root, fresh('fifo'), 7, { mode: 0o600 }), R.newObject);
    equal(fifo.status, OK);
    equal(fifo.attrs!.type, 7);
    equal(fifo.attrs!.mode, 0o600);
    const sock = await h.call(P.MKNOD, A.mknod(root, fresh('sock'), 6), R.newObject);
    equal(sock.status, OK);
    equal(sock.attrs!.type, 6);
    for (const type of [3, 4]) {
      const dev = await h.call(P.MKNOD, A.mknod(root, fresh('dev'), type), R.newObject);
      equal(dev.status, NOTSUPP);
      ok(dev.dirWcc.after, 'failure carries dir wcc');
    }
    for (const type of [1, 2, 5]) {
      equal((await h.call(P.MKNOD, A.mknod(root, fresh('bad'), type), R.newObject)).status, BADTYPE);
    }
    await rejects(h.raw(P.MKNOD, encode(A.mknod(root, 'x', 9))), XdrError);
  });

  test('13 REMOVE: NOENT and ISDIR carry the directory wcc', async () => {
    const miss = await h.call(P.REMOVE, A.remove(root, 'missing'), R.wccOnly);
    equal(miss.status, NOENT);
    ok(miss.wcc.before && miss.wcc.after);
    const dir = fresh('rd');
    await h.call(P.MKDIR, A.mkdir(root, dir), R.newObject);
    equal((await h.call(P.REMOVE, A.remove(root, dir), R.wccOnly)).status, ISDIR);
  });

  test('14 RENAME within an export; across exports it is XDEV with both wcc', async () => {
    const a = fresh('ra');
    const b = fresh('rb');
    const f = await mkfile(a);
    const sub = await h.call(P.MKDIR, A.mkdir(root, fresh('rsub')), R.newObject);
    const r = await h.call(P.RENAME, A.rename(root, a, sub.fh!, b), R.rename);
    equal(r.status, OK);
    ok(r.fromWcc.before && r.fromWcc.after && r.toWcc.before && r.toWcc.after);
    const found = await h.call(P.LOOKUP, A.lookup(sub.fh!, b), R.lookup);
    deepEqual(found.fh, f);
    const miss = await h.call(P.RENAME, A.rename(root, a, root, b), R.rename);
    equal(miss.status, NOENT);
    ok(miss.fromWcc.after && miss.toWcc.after);
    const other = await h.root(1);
    const x = await h.call(P.RENAME, A.rename(sub.fh!, b, other, b), R.rename);
    equal(x.status, XDEV);
    ok(x.fromWcc.after, 'the first directory is reported');
  });

  test('15 LINK adds a name (nlink 2); a directory is PERM; across exports XDEV', async () => {
    const f = await mkfile();
    const name = fresh('hard');
    const r = await h.call(P.LINK, A.link(f, root, name), R.link);
    equal(r.status, OK);
    equal(r.attrs!.nlink, 2);
    ok(r.dirWcc.before && r.dirWcc.after);
    const dup = await h.call(P.LINK, A.link(f, root, name), R.link);
    equal(dup.status, EXIST);
    ok(dup.attrs && dup.dirWcc.after);
    equal((await h.call(P.LINK, A.link(root, root, fresh('dl')), R.link)).status, PERM);
    equal((await h.call(P.LINK, A.link(f, await h.root(1), fresh('x')), R.link)).status, XDEV);
  });

  test('16 READDIR lists . and .. first, pages by cookie, and ends with eof', async () => {
    const d = await h.call(P.MKDIR, A.mkdir(root, fresh('list')), R.newObject);
    for (const name of ['a', 'b', 'c']) await h.call(P.CREATE, A.create(d.fh!, name, 'guarded'), R.newObject);
    const zero = Buffer.alloc(8);
    const all = await h.call(P.READDIR, A.readdir(d.fh!, 0n, zero, 4096), R.readdir);
    equal(all.status, OK);
    deepEqual(
      all.entries.map((e) => e.name),
      ['.', '..', 'a', 'b', 'c'],
    );
    equal(all.eof, true);
    equal(all.entries[0]!.fileid, all.attrs!.fileid);
    const rootAttrs = (await h.call(P.GETATTR, A.getattr(root), R.getattr)).attrs!;
    equal(all.entries[1]!.fileid, rootAttrs.fileid);
    const names: string[] = [];
    let cookie = 0n;
    let verf = zero;
    for (let i = 0; i < 10; i++) {
      // 108 fixed + two 28-byte entries: two names per reply.
      const page = await h.call(P.READDIR, A.readdir(d.fh!, cookie, verf, 108 + 56), R.readdir);
      equal(page.status, OK);
      ok(page.entries.length <= 2);
      names.push(...page.entries.map((e) => e.name));
      if (page.eof) break;
      cookie = page.entries.at(-1)!.cookie;
      verf = page.verf!;
    }
    deepEqual(names, ['.', '..', 'a', 'b', 'c']);
    const f = await mkfile();
    const nd = await h.call(P.READDIR, A.readdir(f, 0n, zero, 4096), R.readdir);
    equal(nd.status, NOTDIR);
    equal(nd.attrs!.type, 1);
  });

  test('17 FSSTAT, FSINFO and PATHCONF report the advertised limits', async () => {
    const s = await h.call(P.FSSTAT, A.fsstat(root), R.fsstat);
    equal(s.status, OK);
    ok(s.tbytes! > 0n && s.fbytes! <= s.tbytes! && s.tfiles! > 0n);
    ok(s.attrs);
    const i = await h.call(P.FSINFO, A.fsinfo(root), R.fsinfo);
    equal(i.status, OK);
    ok(i.rtmax! >= 1 << 20 && i.wtmax! >= 1 << 20);
    equal(i.rtpref, 1 << 20);
    equal(i.wtpref, 1 << 20);
    ok(i.dtpref! > 0);
    equal(i.maxfilesize, 1n << 44n);
    deepEqual(i.timeDelta, [0, 1]);
    equal(i.properties, 0x1 | 0x2 | 0x8 | 0x10);
    const p = await h.call(P.PATHCONF, A.pathconf(root), R.pathconf);
    equal(p.status, OK);
    equal(p.nameMax, 255);
    equal(p.noTrunc, true);
    equal(p.chownRestricted, true);
    equal(p.caseInsensitive, false);
    equal(p.casePreserving, true);
    const bad = await h.call(P.FSINFO, A.fsinfo(Buffer.alloc(40)), R.fsinfo);
    equal(bad.status, 10001);
    equal(bad.attrs, undefined);
  });

  test('18 COMMIT answers the write verifier with the file wcc', async () => {
    const f = await mkfile();
    await h.call(P.WRITE, A.write(f, 0n, Buffer.from('abc'), 0), R.write);
    const c = await h.call(P.COMMIT, A.commit(f), R.commit);
    equal(c.status, OK);
    deepEqual(c.verf, h.program.writeVerifier);
    equal(c.wcc.after!.size, 3n);
    ok(c.wcc.before);
  });

  test('19 a long name is NAMETOOLONG; a name that is not UTF-8 is INVAL (not GARBAGE_ARGS)', async () => {
    const long = await h.call(P.CREATE, A.create(root, 'n'.repeat(256), 'guarded'), R.newObject);
    equal(long.status, 63);
    ok(long.dirWcc.after);
    const bytes = encode((w) =>
      w
        .opaque(root)
        .opaque(Buffer.from([0x66, 0xff, 0x66]))
        .uint32(1)
        .uint32(0)
        .uint32(0)
        .uint32(0)
        .uint32(0)
        .uint32(0)
        .uint32(0),
    );
    const r = await h.raw(P.CREATE, bytes);
    equal(r.readUInt32BE(0), INVAL);
  });

  test('20 a namespace object created outside NFS is visible with its owner', async () => {
    const exp = await h.ns.resolvePath(ROOT, '/export');
    await h.ns.create(ROOT, exp.ino, 'from-s3', 0o640, undefined, { uid: 4242, gid: 4343 });
    const r = await h.call(P.LOOKUP, A.lookup(root, 'from-s3'), R.lookup);
    equal(r.status, OK);
    equal(r.attrs!.uid, 4242);
    equal(r.attrs!.gid, 4343);
  });

  test('23 GETATTR of a cached file answers without a wait, with what the last change left; a stale one still gets STALE', async () => {
    const f = await mkfile();
    deepEqual(await getattrWaits(f), { waited: false, status: OK, size: 0n });
    equal((await h.call(P.WRITE, A.write(f, 0n, Buffer.from('12345'), 2), R.write)).status, OK);
    deepEqual(await getattrWaits(f), { waited: false, status: OK, size: 5n });
    // Out of the attribute cache (as after its TTL): the full path reads the row.
    h.ns.nodes.invalidate();
    deepEqual(await getattrWaits(f), { waited: true, status: OK, size: 5n });
    deepEqual(await getattrWaits(f), { waited: false, status: OK, size: 5n });
    equal((await h.call(P.REMOVE, A.remove(root, await nameOf(f)), R.wccOnly)).status, OK);
    deepEqual(await getattrWaits(f), { waited: true, status: STALE, size: undefined });
  });

  test('24 LOOKUP of a cached name (one just created, too) answers without a wait; a miss, a removed name and a caller who may not search wait for the full path', async () => {
    const dirName = fresh('d');
    const d = (await h.call(P.MKDIR, A.mkdir(root, dirName, { mode: 0o700 }), R.newObject)).fh!;
    const made = await h.call(P.CREATE, A.create(d, 'x', 'guarded', { mode: 0o644 }), R.newObject);
    equal(made.status, OK);
    // The CREATE left its new name cached (libnfs looks up each file it has just created).
    deepEqual(await lookupWaits(d, 'x'), { waited: false, status: OK, fileid: made.attrs!.fileid });
    // Out of the entry cache (as after its TTL): the full path reads the entry, and caches it.
    h.ns.entries.invalidate();
    deepEqual(await lookupWaits(d, 'x'), { waited: true, status: OK, fileid: made.attrs!.fileid });
    deepEqual(await lookupWaits(d, 'x'), { waited: false, status: OK, fileid: made.attrs!.fileid });
    // Bob may not search Alice's 0700 directory: refused, by the full path.
    deepEqual(await lookupWaits(d, 'x', BOB), { waited: true, status: ACCES, fileid: undefined });
    // Renamed, the new name is the file (its attributes read again: the rename changed its
    // ctime) and the old one is gone.
    equal((await h.call(P.RENAME, A.rename(d, 'x', d, 'y'), R.rename)).status, OK);
    equal((await lookupWaits(d, 'y')).fileid, made.attrs!.fileid);
    deepEqual(await lookupWaits(d, 'y'), { waited: false, status: OK, fileid: made.attrs!.fileid });
    deepEqual(await lookupWaits(d, 'x'), { waited: true, status: NOENT, fileid: undefined });
    equal((await h.call(P.REMOVE, A.remove(d, 'y'), R.wccOnly)).status, OK);
    deepEqual(await lookupWaits(d, 'y'), { waited: true, status: NOENT, fileid: undefined });
  });

  test('25 a symlink reports its target length as its size; a target of PATH_MAX bytes or more is NAMETOOLONG, not GARBAGE_ARGS', async () => {
    const target = 'a/'.repeat(50);
    const s = await h.call(P.SYMLINK, A.symlink(root, fresh('sz'), target), R.newObject);
    equal(s.status, OK);
    equal(s.attrs!.size, 100n, 'SYMLINK answers the target length');
    equal((await h.call(P.GETATTR, A.getattr(s.fh!), R.getattr)).attrs!.size, 100n);
    equal((await h.call(P.READLINK, A.readlink(s.fh!), R.readlink)).attrs!.size, 100n);
    const longest = await h.call(P.SYMLINK, A.symlink(root, fresh('sz'), 'x'.repeat(4095)), R.newObject);
    deepEqual([longest.status, longest.attrs?.size], [OK, 4095n]);
    for (const length of [4096, 5000]) {
      const name = fresh('sz');
      const r = await h.call(P.SYMLINK, A.symlink(root, name, 'x'.repeat(length)), R.newObject);
      equal(r.status, 63, `a ${length}-byte target`);
      ok(r.dirWcc.after, 'with the directory wcc');
      equal((await h.call(P.LOOKUP, A.lookup(root, name), R.lookup)).status, NOENT, 'nothing made');
    }
    // A symlink's mode is never used: chmod of one answers OK and leaves 0777 (knfsd, Linux).
    const chmod = await h.call(P.SETATTR, A.setattr(s.fh!, { mode: 0o600 }), R.wccOnly);
    deepEqual([chmod.status, chmod.wcc.after!.mode], [OK, 0o777]);
  });

  test('26 WRITE by anyone but root drops setuid and setgid; the owner may truncate its own read-only file, others may not', async () => {
    const modeOf = async (f: Buffer) => (await h.call(P.GETATTR, A.getattr(f), R.getattr)).attrs!.mode;
    const f = await mkfile(fresh('suid'), 0o755);
    equal((await h.call(P.SETATTR, A.setattr(f, { mode: 0o6777 }), R.wccOnly)).status, OK);
    const planted = await h.call(P.WRITE, A.write(f, 0n, Buffer.from('#!/bin/sh\n')), R.write, { cred: BOB });
    deepEqual([planted.status, planted.wcc.after!.mode], [OK, 0o777], 'the WRITE answers the mode it left');
    // The owner writing its 06555 file (allowed by the owner override) drops them too.
    await h.call(P.SETATTR, A.setattr(f, { mode: 0o6555 }), R.wccOnly);
    equal((await h.call(P.WRITE, A.write(f, 0n, Buffer.from('#')), R.write)).status, OK);
    equal(await modeOf(f), 0o555);
    // A read-only file of its own: the owner truncates it (O_CREAT 0444 then ftruncate); Bob may not.
    const ro = await mkfile(fresh('ro'), 0o444);
    await h.call(P.WRITE, A.write(ro, 0n, Buffer.from('0123456789')), R.write);
    const bob = await h.call(P.SETATTR, A.setattr(ro, { size: 1n }), R.wccOnly, { cred: BOB });
    deepEqual([bob.status, bob.wcc.after!.size], [ACCES, 10n]);
    const own = await h.call(P.SETATTR, A.setattr(ro, { size: 1n }), R.wccOnly);
    deepEqual([own.status, own.wcc.after!.size, own.wcc.after!.mode], [OK, 1n, 0o444]);
  });

  test("27 a sticky directory refuses another user's REMOVE and RENAME with PERM, as Linux does", async () => {
    const d = await h.call(P.MKDIR, A.mkdir(root, fresh('tmp'), { mode: 0o1777 }), R.newObject);
    equal(d.status, OK);
    equal((await h.call(P.CREATE, A.create(d.fh!, 'alices', 'guarded'), R.newObject)).status, OK);
    const rm = await h.call(P.REMOVE, A.remove(d.fh!, 'alices'), R.wccOnly, { cred: BOB });
    equal(rm.status, PERM);
    const mv = await h.call(P.RENAME, A.rename(d.fh!, 'alices', d.fh!, 'bobs'), R.rename, { cred: BOB });
    equal(mv.status, PERM);
    equal((await h.call(P.LOOKUP, A.lookup(d.fh!, 'alices'), R.lookup)).status, OK, 'still there');
  });

  test('28 CREATE naming another owner, or a group its caller is not in, is PERM and creates nothing', async () => {
    for (const attrs of [{ uid: 1001 }, { gid: 4242 }]) {
      const name = fresh('given');
      const r = await h.call(P.CREATE, A.create(root, name, 'unchecked', attrs), R.newObject);
      equal(r.status, PERM, JSON.stringify(attrs));
      ok(r.dirWcc.after);
      equal((await h.call(P.LOOKUP, A.lookup(root, name), R.lookup)).status, NOENT, 'nothing made');
    }
    const own = await h.call(
      P.CREATE,
      A.create(root, fresh('given'), 'unchecked', { uid: 1000, gid: 1000 }),
      R.newObject,
    );
    deepEqual([own.status, own.attrs!.uid, own.attrs!.gid], [OK, 1000, 1000], 'its own ids are fine');
  });
});

describe('NFSv3 statuses from the namespace', () => {
  test('21 a hard quota refusal (EDQUOT) is NFS3ERR_DQUOT with wcc', async () => {
    const hq = await Harness.open({
      gate: {
        check(c) {
          if (c.uid === 1000 && c.addBytes > 1000n)
            throw fsError('EDQUOT', 'Hard quota exceeded for uid=1000');
        },
      },
    });
    try {
      const r = await hq.root();
      const f = await hq.call(P.CREATE, A.create(r, 'q', 'guarded'), R.newObject);
      const w = await hq.call(P.WRITE, A.write(f.fh!, 0n, Buffer.alloc(2000)), R.write);
      equal(w.status, DQUOT);
      equal(w.wcc.after!.size, 0n, 'nothing was written');
      ok(w.wcc.before);
    } finally {
      await hq.close();
    }
  });

  test('22 an open circuit (EAGAIN) is NFS3ERR_JUKEBOX', async () => {
    const hj = await Harness.open({ breaker: { failureThreshold: 1, resetTimeoutMs: 60_000 } });
    try {
      const r = await hj.root();
      hj.ns.breakers.metadata.failed(fsError('EIO', 'disk gone'));
      equal(hj.ns.breakers.metadata.state, 'open');
      const c = await hj.call(P.CREATE, A.create(r, 'j', 'guarded'), R.newObject);
      equal(c.status, JUKEBOX);
      hj.ns.breakers.metadata.reset();
      equal((await hj.call(P.CREATE, A.create(r, 'j', 'guarded'), R.newObject)).status, OK);
    } finally {
      await hj.close();
    }
  });
});

/** LOOKUP through the program as the RPC layer calls it: whether it answered without a wait. */
async function lookupWaits(
  dir: Buffer,
  name: string,
  cred = ALICE,
): Promise<{ waited: boolean; status: number; fileid?: bigint }> {
  const { handled, reply } = h.start(P.LOOKUP, encode(A.lookup(dir, name)), { cred });
  await handled;
  const r = decodeReply(reply.toBuffer(), R.lookup);
  return { waited: handled !== undefined, status: r.status, fileid: r.attrs?.fileid };
}

/** GETATTR through the program as the RPC layer calls it: whether it answered without a wait. */
async function getattrWaits(fh: Buffer): Promise<{ waited: boolean; status: number; size?: bigint }> {
  const { handled, reply } = h.start(P.GETATTR, encode(A.getattr(fh)));
  await handled;
  const r = decodeReply(reply.toBuffer(), R.getattr);
  return { waited: handled !== undefined, status: r.status, size: r.attrs?.size };
}

async function nameOf(fh: Buffer): Promise<string> {
  const a = (await h.call(P.GETATTR, A.getattr(fh), R.getattr)).attrs!;
  let cookie = 0n;
  for (;;) {
    const page = await h.call(P.READDIR, A.readdir(root, cookie, Buffer.alloc(8), 65536), R.readdir);
    const hit = page.entries.find((e) => e.fileid === a.fileid && e.name !== '.' && e.name !== '..');
    if (hit) return hit.name;
    if (page.eof) throw new Error('not found');
    cookie = page.entries.at(-1)!.cookie;
  }
}
