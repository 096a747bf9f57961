import { deepEqual, equal, ok, rejects, throws } from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { parseClientMatch } from '../../src/config/address.ts';
import { NFS3_TABLE } from '../../src/protocols/nfs/v3/dispatch.ts';
import type { NfsStatusError } from '../../src/protocols/nfs/v3/errors.ts';
import { effectiveCredential } from '../../src/protocols/nfs/v3/exports-view.ts';
import { HANDLE_BYTES, NfsHandles } from '../../src/protocols/nfs/v3/handle.ts';
import { XdrError } from '../../src/protocols/xdr/errors.ts';
import { ROOT } from '../../src/storage/types.ts';
import { ALICE, BOB, Harness, nfsExport, ROOT_CRED } from './harness.ts';
import { A, type Args, encode, R } from './wire.ts';

const OK = 0;
const ACCES = 13;
const ROFS = 30;
const STALE = 70;
const BADHANDLE = 10001;

describe('file handles', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.open({ exports: [nfsExport({ path: '/a' }), nfsExport({ path: '/b' })] });
  });
  after(() => h.close());

  test('1 a handle is opaque, at most 64 bytes, and survives a restart of the program and namespace', async () => {
    const root = await h.root(0);
    ok(root.length <= 64);
    equal(root.length, HANDLE_BYTES);
    const f = await h.call(8, A.create(root, 'keep', 'guarded'), R.newObject);
    await h.reopen();
    const again = await h.call(1, A.getattr(f.fh!), R.getattr);
    equal(again.status, OK);
    equal(again.attrs!.fileid, f.attrs!.fileid);
  });

  test('2 changing any byte of a handle makes it STALE (MAC) or BADHANDLE (layout)', async () => {
    const root = await h.root(0);
    const statuses = new Set<number>();
    for (let i = 0; i < root.length; i++) {
      const forged = Buffer.from(root);
      forged[i] = forged[i]! ^ 0x01;
      const r = await h.call(1, A.getattr(forged), R.getattr);
      ok(r.status === STALE || r.status === BADHANDLE, `byte ${i}: ${r.status}`);
      if (i >= 4) equal(r.status, STALE, `byte ${i} is MAC-covered content`);
      statuses.add(r.status);
      // The genuine handle, just verified and kept (handle.ts keeps recent ones), still is.
      equal((await h.call(1, A.getattr(root), R.getattr)).status, OK, `the genuine handle after byte ${i}`);
    }
    deepEqual([...statuses].sort(), [STALE, BADHANDLE].sort());
  });

  test('3 a handle re-pointed to another export or inode without the key is STALE', async () => {
    const a = await h.root(0);
    const bRoot = await h.ns.resolvePath(ROOT, '/b');
    // Export id of /b in a handle of /a, MAC recomputed with a wrong key.
    const forged = Buffer.from(a);
    (await h.root(1)).copy(forged, 4, 4, 12);
    forged.writeBigUInt64BE(bRoot.ino, 12);
    forged.writeUInt32BE(bRoot.generation, 20);
    createHmac('sha256', Buffer.alloc(32, 7)).update(forged.subarray(0, 24)).digest().copy(forged, 24, 0, 16);
    equal((await h.call(1, A.getattr(forged), R.getattr)).status, STALE);
    // /b's export id spliced into a genuine handle of /a: the MAC no longer verifies.
    const spliced = Buffer.from(a);
    (await h.root(1)).copy(spliced, 4, 4, 12);
    equal((await h.call(1, A.getattr(spliced), R.getattr)).status, STALE);
  });

  test('4 a wrong-length handle is BADHANDLE; one over 64 bytes is not NFS at all (XdrError)', async () => {
    equal((await h.call(1, A.getattr(Buffer.alloc(39)), R.getattr)).status, BADHANDLE);
    equal((await h.call(1, A.getattr(Buffer.alloc(0)), R.getattr)).status, BADHANDLE);
    equal((await h.call(1, A.getattr(Buffer.alloc(64)), R.getattr)).status, BADHANDLE);
    await rejects(h.raw(1, encode(A.getattr(Buffer.alloc(65)))), XdrError);
  });

  test('5 handles of an export removed from the configuration are STALE', async () => {
    const handles = new NfsHandles(h.key, h.ns, [nfsExport({ path: '/b' })]);
    const aRoot = await h.root(0);
    throws(
      () => handles.decodeHandle(aRoot),
      (e: NfsStatusError) => e.status === STALE,
    );
    const bRoot = await h.root(1);
    equal(handles.decodeHandle(bRoot).exportIndex, 0, 'reordered exports keep their handles');
  });

  test('5b a reload keeps each export path in its slot: removed is STALE at once, re-added valid again', async () => {
    const handles = new NfsHandles(h.key, h.ns, [nfsExport({ path: '/a' }), nfsExport({ path: '/b' })]);
    const aRoot = await handles.encodeRootHandle(0);
    const bRoot = await handles.encodeRootHandle(1);
    equal(handles.decodeHandle(aRoot).exportIndex, 0);
    handles.reconfigure([nfsExport({ path: '/b', access: 'ro' }), nfsExport({ path: '/c' })]);
    deepEqual(
      handles.exports.map((e) => e && [e.path, e.access]),
      [undefined, ['/b', 'ro'], ['/c', 'rw']],
    );
    // Verified a moment ago, and still refused: the caches start over.
    throws(
      () => handles.decodeHandle(aRoot),
      (e: NfsStatusError) => e.status === STALE,
    );
    throws(
      () => handles.exportAt(0),
      (e: NfsStatusError) => e.status === STALE,
    );
    const b = handles.decodeHandle(bRoot);
    equal(b.exportIndex, 1);
    equal(handles.exportAt(b.exportIndex).access, 'ro', 'the new settings for the same handle');
    handles.reconfigure([nfsExport({ path: '/a' })]);
    equal(handles.decodeHandle(aRoot).exportIndex, 0, 'served again in its old slot');
    throws(
      () => handles.decodeHandle(bRoot),
      (e: NfsStatusError) => e.status === STALE,
    );
  });

  test('6 LOOKUP .. at an export root stays at the root; a directory moved out of the export is cut off', async () => {
    const a = await h.root(0);
    const up = await h.call(3, A.lookup(a, '..'), R.lookup);
    equal(up.status, OK);
    deepEqual(up.fh, a);
    const dot = await h.call(3, A.lookup(a, '.'), R.lookup);
    deepEqual(dot.fh, a);
    const d = await h.call(9, A.mkdir(a, 'wander'), R.newObject);
    const inner = await h.call(9, A.mkdir(d.fh!, 'inner'), R.newObject);
    const upInner = await h.call(3, A.lookup(inner.fh!, '..'), R.lookup);
    deepEqual(upInner.fh, d.fh);
    // Another protocol moves the directory to /b: from /a's handle, its parent is out of reach.
    const aDir = await h.ns.resolvePath(ROOT, '/a');
    const bDir = await h.ns.resolvePath(ROOT, '/b');
    await h.ns.rename(ROOT, aDir.ino, 'wander', bDir.ino, 'wander');
    equal((await h.call(3, A.lookup(d.fh!, '..'), R.lookup)).status, ACCES);
    const plus = await h.call(17, A.readdirplus(d.fh!, 0n, Buffer.alloc(8), 4096, 8192), R.readdirplus);
    equal(plus.status, OK);
    const dotdot = plus.entries.find((e) => e.name === '..')!;
    deepEqual(dotdot.fh, d.fh, 'READDIRPLUS lists the cut-off parent as the directory itself');
    const inA = await h.call(17, A.readdirplus(a, 0n, Buffer.alloc(8), 4096, 8192), R.readdirplus);
    deepEqual(inA.entries.find((e) => e.name === '..')!.fh, a, '.. of the export root is the root');
  });
});

test('6b files removed over NFS leave no handle kept: their handles are STALE, a file with another name still answers', async () => {
  const h = await Harness.open({ exports: [nfsExport({ path: '/a', squash: 'none' })] });
  try {
    const a = await h.root(0);
    const d = await h.call(9, A.mkdir(a, 'churn'), R.newObject);
    const kept = h.program.handles.mintedHandles;
    const gone: Buffer[] = [];
    for (let i = 0; i < 300; i++) {
      const f = await h.call(8, A.create(d.fh!, `f${i}`, 'guarded'), R.newObject, { cred: ROOT_CRED });
      equal((await h.call(1, A.getattr(f.fh!), R.getattr)).status, OK);
      // REMOVE, RMDIR and RENAME onto an existing name each drop the object they take away.
      if (i % 3 === 0) {
        equal((await h.call(12, A.remove(d.fh!, `f${i}`), R.wccOnly, { cred: ROOT_CRED })).status, OK);
      } else if (i % 3 === 1) {
        const sub = await h.call(9, A.mkdir(d.fh!, `d${i}`), R.newObject, { cred: ROOT_CRED });
        equal((await h.call(13, A.rmdir(d.fh!, `d${i}`), R.wccOnly, { cred: ROOT_CRED })).status, OK);
        gone.push(sub.fh!);
        equal((await h.call(12, A.remove(d.fh!, `f${i}`), R.wccOnly, { cred: ROOT_CRED })).status, OK);
      } else {
        const other = await h.call(8, A.create(d.fh!, `g${i}`, 'guarded'), R.newObject, { cred: ROOT_CRED });
        equal(
          (await h.call(14, A.rename(d.fh!, `g${i}`, d.fh!, `f${i}`), R.rename, { cred: ROOT_CRED })).status,
          OK,
        );
        equal((await h.call(12, A.remove(d.fh!, `f${i}`), R.wccOnly, { cred: ROOT_CRED })).status, OK);
        equal((await h.call(1, A.getattr(other.fh!), R.getattr)).status, STALE);
      }
      gone.push(f.fh!);
    }
    equal(h.program.handles.mintedHandles, kept, 'no handle kept for a removed file or directory');
    for (const fh of gone) equal((await h.call(1, A.getattr(fh), R.getattr)).status, STALE);
    // Removing one of two names: the file lives on, and its handle still answers.
    const x = await h.call(8, A.create(d.fh!, 'x', 'guarded'), R.newObject, { cred: ROOT_CRED });
    equal((await h.call(15, A.link(x.fh!, d.fh!, 'y'), R.link, { cred: ROOT_CRED })).status, OK);
    equal((await h.call(12, A.remove(d.fh!, 'x'), R.wccOnly, { cred: ROOT_CRED })).status, OK);
    const still = await h.call(1, A.getattr(x.fh!), R.getattr);
    equal(still.status, OK);
    equal(still.attrs!.nlink, 1);
  } finally {
    await h.close();
  }
});

describe('read-only exports, squash and clients', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.open({
      exports: [
        nfsExport({ path: '/rw', squash: 'root' }),
        nfsExport({ path: '/ro', access: 'ro' }),
        nfsExport({ path: '/all', squash: 'all', anonUid: 5000, anonGid: 5001 }),
        nfsExport({ path: '/none', squash: 'none' }),
        nfsExport({ path: '/lan', clients: [parseClientMatch('10.1.0.0/16'), parseClientMatch('fd00::/8')] }),
      ],
    });
    const ro = await h.ns.resolvePath(ROOT, '/ro');
    const f = await h.ns.create(ROOT, ro.ino, 'file', 0o666);
    await h.ns.write(ROOT, f.ino, 0n, Buffer.from('read me'));
    await h.ns.mkdir(ROOT, ro.ino, 'dir', 0o777);
  });
  after(() => h.close());

  test('7 every mutating procedure of the table is ROFS on a read-only export, with its failure body', async () => {
    const ro = await h.root(1);
    const file = (await h.call(3, A.lookup(ro, 'file'), R.lookup)).fh!;
    const mutating: Record<string, [Args, (r: never) => { status: number }]> = {
      SETATTR: [A.setattr(file, { mode: 0o600 }), R.wccOnly],
      WRITE: [A.write(file, 0n, Buffer.from('x')), R.write],
      CREATE: [A.create(ro, 'n', 'guarded'), R.newObject],
      MKDIR: [A.mkdir(ro, 'n'), R.newObject],
      SYMLINK: [A.symlink(ro, 'n', 't'), R.newObject],
      MKNOD: [A.mknod(ro, 'n', 7), R.newObject],
      REMOVE: [A.remove(ro, 'file'), R.wccOnly],
      RMDIR: [A.rmdir(ro, 'dir'), R.wccOnly],
      RENAME: [A.rename(ro, 'file', ro, 'moved'), R.rename],
      LINK: [A.link(file, ro, 'again'), R.link],
    };
    const rows = NFS3_TABLE.filter((r) => r.mutates);
    deepEqual(rows.map((r) => r.name).sort(), Object.keys(mutating).sort());
    for (const row of rows) {
      const [args, dec] = mutating[row.name]!;
      const res = (await h.call(row.proc, args, dec as never)) as { status: number };
      equal(res.status, ROFS, row.name);
    }
    const wr = await h.call(7, A.write(file, 0n, Buffer.from('x')), R.write);
    ok(wr.wcc.before && wr.wcc.after, 'ROFS still carries wcc');
    const read = await h.call(6, A.read(file, 0n, 100), R.read);
    equal(read.data!.toString(), 'read me');
    const acc = await h.call(4, A.access(ro, 0x3f), R.access, { cred: ALICE });
    equal(acc.access! & (0x04 | 0x08 | 0x10), 0, 'ACCESS grants nothing writable on a read-only export');
    equal((await h.call(21, A.commit(file), R.commit)).status, OK, 'COMMIT is harmless');
  });

  test('8 root squash: uid 0 creates as the anonymous id; squash none keeps root', async () => {
    const rw = await h.root(0);
    const c = await h.call(8, A.create(rw, 'by-root', 'guarded'), R.newObject, { cred: ROOT_CRED });
    deepEqual([c.attrs!.uid, c.attrs!.gid], [65534, 65534]);
    const none = await h.root(3);
    const n = await h.call(8, A.create(none, 'by-root', 'guarded'), R.newObject, { cred: ROOT_CRED });
    deepEqual([n.attrs!.uid, n.attrs!.gid], [0, 0]);
    const a = await h.call(8, A.create(rw, 'by-alice', 'guarded'), R.newObject, { cred: ALICE });
    deepEqual([a.attrs!.uid, a.attrs!.gid], [1000, 1000]);
    // Squashed root cannot chown what it does not own.
    const chown = await h.call(2, A.setattr(a.fh!, { uid: 0 }), R.wccOnly, { cred: ROOT_CRED });
    equal(chown.status, 1);
  });

  test('9 squash all and AUTH_NONE map every caller to the anonymous ids', async () => {
    const all = await h.root(2);
    const c = await h.call(8, A.create(all, 'x', 'guarded'), R.newObject, { cred: BOB });
    deepEqual([c.attrs!.uid, c.attrs!.gid], [5000, 5001]);
    const rw = await h.root(0);
    const anon = await h.call(8, A.create(rw, 'anon', 'guarded'), R.newObject, { cred: { flavor: 'none' } });
    deepEqual([anon.attrs!.uid, anon.attrs!.gid], [65534, 65534]);
    const exp = nfsExport({ path: '/x', squash: 'root', anonUid: 7, anonGid: 8 });
    deepEqual(effectiveCredential(exp, { ...ROOT_CRED, gid: 5, gids: [0, 9] }), {
      uid: 7,
      gid: 5,
      gids: [8, 9],
    });
    deepEqual(effectiveCredential(exp, { ...ALICE, gid: 0 }), { uid: 1000, gid: 8, gids: [] });
  });

  test('10 an address outside the export client list is ACCES on every call', async () => {
    const lan = await h.root(4);
    equal((await h.call(1, A.getattr(lan), R.getattr, { address: '10.1.2.3' })).status, OK);
    equal((await h.call(1, A.getattr(lan), R.getattr, { address: '::ffff:10.1.200.9' })).status, OK);
    equal((await h.call(1, A.getattr(lan), R.getattr, { address: 'fd12::1' })).status, OK);
    equal((await h.call(1, A.getattr(lan), R.getattr, { address: '10.2.0.1' })).status, ACCES);
    equal((await h.call(1, A.getattr(lan), R.getattr, { address: '127.0.0.1' })).status, ACCES);
    const c = await h.call(8, A.create(lan, 'x', 'guarded'), R.newObject, { address: '192.168.0.1' });
    equal(c.status, ACCES);
  });
});

test("11 a ClientCheck given to the program (MOUNT's ClientAccess) decides every call", async () => {
  const asked: string[] = [];
  const h = await Harness.open({
    clients: {
      allowed: async (exp, address) => {
        asked.push(`${exp.path} ${address}`);
        return address === '10.9.9.9';
      },
    },
  });
  try {
    const root = await h.root();
    equal((await h.call(1, A.getattr(root), R.getattr, { address: '10.9.9.9' })).status, OK);
    equal((await h.call(1, A.getattr(root), R.getattr, { address: '10.9.9.8' })).status, ACCES);
    deepEqual(asked, ['/export 10.9.9.9', '/export 10.9.9.8']);
  } finally {
    await h.close();
  }
});
