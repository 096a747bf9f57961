import { deepEqual, equal, ok, rejects } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CMD } from '../../src/protocols/smb/constants.ts';
import { frameHeader } from '../../src/protocols/smb/framing.ts';
import { NT_STATUS } from '../../src/protocols/smb/status/index.ts';
import { ROOT } from '../../src/storage/types.ts';
import {
  ALL_ONES_FILE_ID,
  closeBody,
  connectedClient,
  createBody,
  echoBody,
  lockBody,
  notifyBody,
  openOk,
  queryDirectoryBody,
  queryInfoBody,
  readBody,
  TestClient,
  writeBody,
} from './client.ts';
import { type SmbGateway, startSmbGateway } from './fixture.ts';

const S = NT_STATUS;
const EXCLUSIVE = 0x2;
const SHARED = 0x1;
const UNLOCK = 0x4;
const FAIL_IMMEDIATELY = 0x10;

describe('SMB2 protocol behaviour (raw client)', () => {
  let g: SmbGateway;
  const clients: TestClient[] = [];
  before(async () => {
    g = await startSmbGateway();
    await g.user('alice', 'Wonder-land1');
  });
  after(async () => {
    for (const c of clients) c.close();
    await g?.stop();
  });

  async function session(dialects?: number[]): Promise<TestClient> {
    const c = await connectedClient(g.port, 'alice', 'Wonder-land1', { dialects });
    clients.push(c);
    return c;
  }
  const open = openOk;

  test('1 NEGOTIATE picks the highest common dialect; no common dialect is STATUS_NOT_SUPPORTED', async () => {
    const c = new TestClient(g.port);
    clients.push(c);
    await c.connect();
    const r = await c.negotiate([0x0202, 0x0210, 0x0300, 0x0302]);
    equal(r.status, 0);
    equal(r.body.readUInt16LE(4), 0x0302);
    const d = new TestClient(g.port);
    clients.push(d);
    await d.connect();
    equal((await d.negotiate([0x0201, 0x0222])).status, S.STATUS_NOT_SUPPORTED);
  });

  test('2 an SMB1 NEGOTIATE offering "SMB 2.???" gets the SMB2 wildcard answer, then SMB2 negotiates', async () => {
    const c = new TestClient(g.port);
    clients.push(c);
    await c.connect();
    const dialects = Buffer.from('\x02NT LM 0.12\x00\x02SMB 2.002\x00\x02SMB 2.???\x00', 'latin1');
    const smb1 = Buffer.alloc(35);
    smb1.writeUInt32LE(0x424d53ff, 0);
    smb1[4] = 0x72;
    smb1.writeUInt16LE(dialects.length, 33);
    const wait = c.wait(0n);
    c.sendFrame(Buffer.concat([smb1, dialects]));
    const r = await wait;
    equal(r.command, CMD.NEGOTIATE);
    equal(r.body.readUInt16LE(4), 0x02ff);
    // The client's next message id is 1.
    c.build({ command: CMD.ECHO, body: echoBody() });
    const n = await c.negotiate([0x0210, 0x0300]);
    equal(n.status, 0);
    equal(n.body.readUInt16LE(4), 0x0300);
  });

  test('3 a request past the granted credits closes the connection', async () => {
    const c = await session();
    c.build({ command: CMD.ECHO, body: echoBody(), messageId: c.nextMessageId + 100_000n });
    const far = c.build({ command: CMD.ECHO, body: echoBody(), messageId: c.nextMessageId + 100_000n });
    c.sendFrame(far.msg);
    await c.closedPromise;
    ok(c.closed);
  });

  test('3b a frame that closes the connection stops the frames behind it, even those sent in the same write', async () => {
    const c = await session();
    const far = c.build({ command: CMD.ECHO, body: echoBody(), messageId: c.nextMessageId + 100_000n });
    const create = c.build({
      command: CMD.CREATE,
      body: createBody('after-the-bad-frame.txt', { disposition: 2 }),
    });
    c.writeRaw(
      Buffer.concat([frameHeader(far.msg.length), far.msg, frameHeader(create.msg.length), create.msg]),
    );
    await c.closedPromise;
    await rejects(g.gw.ns.resolvePath(ROOT, '/export/after-the-bad-frame.txt'), /ENOENT/);
  });

  test('4 credits: what the client asks for is granted, and a large read must pay its credit charge', async () => {
    const c = await session();
    const r = await c.request({ command: CMD.ECHO, body: echoBody(), creditRequest: 100 });
    equal(r.credits, 100);
    const fid = await open(c, 'credits.bin', { access: 0x12019f, disposition: 5 });
    equal(
      (
        await c.request({
          command: CMD.WRITE,
          body: writeBody(fid, 0n, Buffer.alloc(200_000, 7)),
          creditCharge: 4,
        })
      ).status,
      0,
    );
    equal(
      (await c.request({ command: CMD.READ, body: readBody(fid, 0n, 200_000), creditCharge: 1 })).status,
      S.STATUS_INVALID_PARAMETER,
    );
    const ok4 = await c.request({ command: CMD.READ, body: readBody(fid, 0n, 200_000), creditCharge: 4 });
    equal(ok4.status, 0);
    equal(ok4.body.readUInt32LE(4), 200_000);
  });

  test('5 related compound CREATE+WRITE+READ+CLOSE works; a chain that starts related fails with INVALID_PARAMETER', async () => {
    const c = await session();
    const r = await c.compound([
      { command: CMD.CREATE, body: createBody('chain.txt', { access: 0x12019f, disposition: 5 }) },
      { command: CMD.WRITE, body: writeBody(ALL_ONES_FILE_ID, 0n, Buffer.from('compounded')), related: true },
      { command: CMD.READ, body: readBody(ALL_ONES_FILE_ID, 0n, 100), related: true },
      { command: CMD.CLOSE, body: closeBody(ALL_ONES_FILE_ID, 1), related: true },
    ]);
    deepEqual(
      r.map((x) => x.status),
      [0, 0, 0, 0],
    );
    equal(r[2]!.body.subarray(16, 16 + 10).toString(), 'compounded');
    equal(r[3]!.body.readBigUInt64LE(48), 10n, 'CLOSE with POSTQUERY_ATTRIB reports the size');
    const bad = await c.compound([
      { command: CMD.CREATE, body: createBody('x.txt'), related: true },
      { command: CMD.CLOSE, body: closeBody(ALL_ONES_FILE_ID), related: true },
      { command: CMD.CLOSE, body: closeBody(ALL_ONES_FILE_ID) },
    ]);
    deepEqual(
      bad.map((x) => x.status),
      [S.STATUS_INVALID_PARAMETER, S.STATUS_INVALID_PARAMETER, S.STATUS_FILE_CLOSED],
    );
  });

  test('6 unrelated compound requests are answered independently, in one reply frame', async () => {
    const c = await session();
    const fid = await open(c, 'unrelated.txt', { access: 0x12019f, disposition: 5 });
    const r = await c.compound([
      { command: CMD.ECHO, body: echoBody() },
      { command: CMD.QUERY_INFO, body: queryInfoBody(fid, 1, 5) },
      { command: CMD.READ, body: readBody(Buffer.alloc(16, 0x42), 0n, 1) },
    ]);
    deepEqual(
      r.map((x) => x.status),
      [0, 0, S.STATUS_FILE_CLOSED],
    );
  });

  test('7 errors carry the 9-byte error body; a bad StructureSize is STATUS_INVALID_PARAMETER', async () => {
    const c = await session();
    const r = await c.request({ command: CMD.ECHO, body: Buffer.from([5, 0, 0, 0]) });
    equal(r.status, S.STATUS_INVALID_PARAMETER);
    equal(r.body.length, 9);
    equal(r.body.readUInt16LE(0), 9);
  });

  test('8 CHANGE_NOTIFY goes async (STATUS_PENDING) and completes on a change by another client; CANCEL ends one', async () => {
    const watcher = await session();
    const other = await session();
    await open(other, 'watched', { access: 0x1f01ff, disposition: 3, options: 1 });
    const dir = await open(watcher, 'watched', { access: 0x1, disposition: 1, options: 1 });
    const n = watcher.build({ command: CMD.CHANGE_NOTIFY, body: notifyBody(dir, 0x3) });
    const interim = watcher.wait(n.messageId, true);
    const final = watcher.wait(n.messageId);
    watcher.sendFrame(n.msg);
    equal((await interim).status, S.STATUS_PENDING);
    await open(other, 'watched\\new.txt', { disposition: 2 });
    const done = await final;
    equal(done.status, 0);
    const len = done.body.readUInt32LE(4);
    const info = done.body.subarray(8, 8 + len);
    equal(info.readUInt32LE(4), 1, 'FILE_ACTION_ADDED');
    equal(info.subarray(12, 12 + info.readUInt32LE(8)).toString('utf16le'), 'new.txt');

    const n2 = watcher.build({ command: CMD.CHANGE_NOTIFY, body: notifyBody(dir, 0x3) });
    const interim2 = watcher.wait(n2.messageId, true);
    const final2 = watcher.wait(n2.messageId);
    watcher.sendFrame(n2.msg);
    const pending = await interim2;
    const cancel = watcher.build({ command: CMD.CANCEL, body: echoBody(), messageId: 0n, flags: 0x2 });
    cancel.msg.writeBigUInt64LE(pending.asyncId, 32);
    watcher.sendFrame(cancel.msg);
    equal((await final2).status, S.STATUS_CANCELLED);
  });

  test('9 a blocking LOCK waits (STATUS_PENDING) until the holder unlocks; FAIL_IMMEDIATELY gets LOCK_NOT_GRANTED', async () => {
    const a = await session();
    const b = await session();
    const fa = await open(a, 'locked.bin', { access: 0x12019f, disposition: 5 });
    equal((await a.request({ command: CMD.WRITE, body: writeBody(fa, 0n, Buffer.alloc(100, 1)) })).status, 0);
    const fb = await open(b, 'locked.bin', { access: 0x12019f, disposition: 1 });
    equal(
      (
        await a.request({
          command: CMD.LOCK,
          body: lockBody(fa, [{ offset: 0n, length: 10n, flags: EXCLUSIVE }]),
        })
      ).status,
      0,
    );
    const now = await b.request({
      command: CMD.LOCK,
      body: lockBody(fb, [{ offset: 5n, length: 1n, flags: EXCLUSIVE | FAIL_IMMEDIATELY }]),
    });
    equal(now.status, S.STATUS_LOCK_NOT_GRANTED);
    equal(
      (await b.request({ command: CMD.READ, body: readBody(fb, 0n, 10) })).status,
      S.STATUS_FILE_LOCK_CONFLICT,
    );
    equal(
      (await a.request({ command: CMD.READ, body: readBody(fa, 0n, 10) })).status,
      0,
      'the holder still reads',
    );
    const blocking = b.build({
      command: CMD.LOCK,
      body: lockBody(fb, [{ offset: 5n, length: 1n, flags: SHARED }]),
    });
    const interim = b.wait(blocking.messageId, true);
    const final = b.wait(blocking.messageId);
    b.sendFrame(blocking.msg);
    equal((await interim).status, S.STATUS_PENDING);
    const held = g.gw.ns.locks.list();
    equal(held.length, 1, 'one lock in the shared table');
    equal(held[0]!.owner.protocol, 'smb');
    equal(
      (
        await a.request({
          command: CMD.LOCK,
          body: lockBody(fa, [{ offset: 0n, length: 10n, flags: UNLOCK }]),
        })
      ).status,
      0,
    );
    equal((await final).status, 0, 'granted once released');
  });

  test('10 the lock table is shared with NFS: an NLM lock makes an SMB write conflict', async () => {
    const c = await session();
    const fid = await open(c, 'nlm.bin', { access: 0x12019f, disposition: 5 });
    const f = await g.gw.ns.resolvePath(ROOT, '/export/nlm.bin');
    const got = g.gw.ns.locks.lock({
      ino: f.ino,
      offset: 0n,
      length: 0n,
      exclusive: true,
      owner: { protocol: 'nfs', key: 'nlm:client1:1', client: 'client1' },
    });
    ok(got.granted);
    equal(
      (await c.request({ command: CMD.WRITE, body: writeBody(fid, 0n, Buffer.from('x')) })).status,
      S.STATUS_FILE_LOCK_CONFLICT,
    );
    const smbLock = await c.request({
      command: CMD.LOCK,
      body: lockBody(fid, [{ offset: 0n, length: 1n, flags: SHARED | FAIL_IMMEDIATELY }]),
    });
    equal(smbLock.status, S.STATUS_LOCK_NOT_GRANTED);
    g.gw.ns.locks.unlock(f.ino, 0n, 0n, 'nlm:client1:1');
    equal((await c.request({ command: CMD.WRITE, body: writeBody(fid, 0n, Buffer.from('x')) })).status, 0);
  });

  test('11 QUERY_DIRECTORY lists with wildcards, restarts, and ends with STATUS_NO_MORE_FILES', async () => {
    const c = await session();
    await open(c, 'listing', { access: 0x1f01ff, disposition: 3, options: 1 });
    for (const n of ['a.txt', 'b.txt', 'c.log']) await open(c, `listing\\${n}`, { disposition: 3 });
    const dir = await open(c, 'listing', { access: 0x1, disposition: 1, options: 1 });
    const names = (r: { body: Buffer }) => {
      const out: string[] = [];
      const buf = r.body.subarray(8, 8 + r.body.readUInt32LE(4));
      for (let off = 0; ; ) {
        const len = buf.readUInt32LE(off + 60);
        out.push(buf.subarray(off + 104, off + 104 + len).toString('utf16le'));
        const next = buf.readUInt32LE(off);
        if (next === 0) return out;
        off += next;
      }
    };
    const txt = await c.request({ command: CMD.QUERY_DIRECTORY, body: queryDirectoryBody(dir, '*.TXT') });
    deepEqual(names(txt).sort(), ['a.txt', 'b.txt']);
    equal(
      (await c.request({ command: CMD.QUERY_DIRECTORY, body: queryDirectoryBody(dir, '*.TXT') })).status,
      S.STATUS_NO_MORE_FILES,
    );
    const all = await c.request({
      command: CMD.QUERY_DIRECTORY,
      body: queryDirectoryBody(dir, '*', 37, 0x1),
    });
    deepEqual(names(all).sort(), ['.', '..', 'a.txt', 'b.txt', 'c.log']);
    const single = await c.request({
      command: CMD.QUERY_DIRECTORY,
      body: queryDirectoryBody(dir, '*', 37, 0x3),
    });
    equal(names(single).length, 1);
    equal(
      (await c.request({ command: CMD.QUERY_DIRECTORY, body: queryDirectoryBody(dir, 'nothing*', 37, 0x1) }))
        .status,
      S.STATUS_NO_SUCH_FILE,
    );
  });

  test('12 the security descriptor names S-1-22-1-uid and S-1-22-2-gid; a short buffer gets BUFFER_TOO_SMALL with the size', async () => {
    const c = await session();
    const fid = await open(c, 'sd.txt', { access: 0x12019f, disposition: 5 });
    const r = await c.request({ command: CMD.QUERY_INFO, body: queryInfoBody(fid, 3, 0, 4096, 0x7) });
    equal(r.status, 0);
    const sd = r.body.subarray(8, 8 + r.body.readUInt32LE(4));
    const u = await g.gw.control.users.get('alice');
    const owner = sd.subarray(sd.readUInt32LE(4));
    equal(owner[7], 22);
    equal(owner.readUInt32LE(8), 1);
    equal(owner.readUInt32LE(12), u!.uid);
    const small = await c.request({ command: CMD.QUERY_INFO, body: queryInfoBody(fid, 3, 0, 8, 0x7) });
    equal(small.status, S.STATUS_BUFFER_TOO_SMALL);
    equal(small.body.readUInt32LE(4), 4, 'ByteCount');
    equal(small.body.readUInt32LE(8), sd.length, 'ErrorData is the size needed');
  });

  test('13 delete-on-close removes the file at the last close; CREATE while delete is pending is DELETE_PENDING', async () => {
    const a = await session();
    const b = await session();
    const fa = await open(a, 'doomed.txt', { access: 0x1f01ff, disposition: 5 });
    const fb = await open(b, 'doomed.txt', { access: 0x10080 | 0x10000, disposition: 1, options: 0x1000 });
    equal((await b.request({ command: CMD.CLOSE, body: closeBody(fb) })).status, 0);
    equal(
      (await b.request({ command: CMD.CREATE, body: createBody('doomed.txt', { disposition: 1 }) })).status,
      S.STATUS_DELETE_PENDING,
    );
    equal((await a.request({ command: CMD.CLOSE, body: closeBody(fa) })).status, 0);
    equal(
      (await b.request({ command: CMD.CREATE, body: createBody('doomed.txt', { disposition: 1 }) })).status,
      S.STATUS_OBJECT_NAME_NOT_FOUND,
    );
  });

  test('14 requests before NEGOTIATE, and frames that are not SMB2, close the connection', async () => {
    const c = new TestClient(g.port);
    clients.push(c);
    await c.connect();
    c.sendFrame(c.build({ command: CMD.ECHO, body: echoBody() }).msg);
    await c.closedPromise;
    const d = new TestClient(g.port);
    clients.push(d);
    await d.connect();
    d.sendFrame(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    await d.closedPromise;
    const e = new TestClient(g.port);
    clients.push(e);
    await e.connect();
    e.writeRaw(Buffer.from([0, 0xff, 0xff, 0xff]));
    await e.closedPromise;
  });
});
