import { deepEqual, equal, notEqual, ok } from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CMD } from '../../src/protocols/smb/constants.ts';
import type { SmbServer } from '../../src/protocols/smb/server.ts';
import { NT_STATUS as S } from '../../src/protocols/smb/status/index.ts';
import {
  closeBody,
  connectedClient,
  createBody,
  createContexts,
  fileIdOf,
  lockBody,
  openOk,
  outputBuffer,
  queryInfoBody,
  type Reply,
  readBody,
  responseContexts,
  setInfoBody,
  type TestClient,
  writeBody,
} from './client.ts';
import { type SmbGateway, startSmbGateway } from './fixture.ts';
import { oplockAck } from './lease-wire.ts';

const BATCH = 0x09;
const LEASE = 0xff;
const POSITION_CLASS = 14;
const DELETE_ON_CLOSE = 0x1000;
const RW = 0x0012019f;
const DELETE = 0x10000;
const EXCLUSIVE_NOW = 0x2 | 0x10;
/** The SMB 2.x / 3.0.x dialects the raw client can negotiate (3.1.1 needs negotiate contexts). */
const SMB3 = [0x0202, 0x0210, 0x0300, 0x0302];
const SMB21 = [0x0202, 0x0210];
const BREAK_MID = 0xffff_ffff_ffff_ffffn;

const dh2q = (guid: Buffer, timeoutMs = 0) => {
  const data = Buffer.alloc(32);
  data.writeUInt32LE(timeoutMs, 0);
  guid.copy(data, 16);
  return { name: 'DH2Q', data };
};
const dh2c = (fileId: Buffer, guid: Buffer) => ({
  name: 'DH2C',
  data: Buffer.concat([fileId, guid, Buffer.alloc(4)]),
});
const dhnq = () => ({ name: 'DHnQ', data: Buffer.alloc(16) });
const dhnc = (fileId: Buffer) => ({ name: 'DHnC', data: Buffer.from(fileId) });
const lease = () => ({ name: 'RqLs', data: Buffer.alloc(32, 7) });

const persistentOf = (fid: Buffer) => fid.readBigUInt64LE(0);
const volatileOf = (fid: Buffer) => fid.readBigUInt64LE(8);
const hex = (s: number) => `0x${s.toString(16)}`;

async function create(c: TestClient, name: string, o: Parameters<typeof createBody>[1] = {}): Promise<Reply> {
  return c.request({ command: CMD.CREATE, body: createBody(name, o) });
}

/** A CREATE asking for a batch oplock and a v2 durable handle. */
async function durableOpen(
  c: TestClient,
  name: string,
  guid: Buffer,
  o: Parameters<typeof createBody>[1] = {},
) {
  const r = await create(c, name, {
    access: RW,
    disposition: 5,
    oplock: BATCH,
    contexts: createContexts([dh2q(guid)]),
    ...o,
  });
  equal(r.status, 0, `durable CREATE ${name}: ${hex(r.status)}`);
  return { reply: r, fid: fileIdOf(r) };
}

/** Drops the TCP connection, as a network failure would. */
async function drop(c: TestClient): Promise<void> {
  c.close();
  await c.closedPromise;
}

/** A reconnect CREATE (DHnC / DH2C contexts; a batch oplock asked for, as the open had). */
async function reconnect(
  c: TestClient,
  name: string,
  ctx: Array<{ name: string; data: Buffer }>,
  oplock = BATCH,
) {
  return create(c, name, { access: RW, disposition: 1, oplock, contexts: createContexts(ctx) });
}

/**
 * Waits until the server has seen the dropped connection: until then a reconnect is "still
 * connected" (OBJECT_NAME_NOT_FOUND); after, `probe` answers otherwise. Generous, not timed.
 */
async function whenDisconnected(probe: () => Promise<Reply>): Promise<Reply> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await probe();
    if (r.status !== S.STATUS_OBJECT_NAME_NOT_FOUND || Date.now() > deadline) return r;
    await new Promise((res) => setTimeout(res, 50));
  }
}

async function readAll(c: TestClient, name: string): Promise<string> {
  const fid = await openOk(c, name, { access: 0x120089, disposition: 1 });
  const r = await c.request({ command: CMD.READ, body: readBody(fid, 0n, 4096) });
  await c.request({ command: CMD.CLOSE, body: closeBody(fid) });
  if (r.status !== 0) throw new Error(`READ ${name}: ${hex(r.status)}`);
  return r.body.subarray(r.body[2]! - 64, r.body[2]! - 64 + r.body.readUInt32LE(4)).toString();
}

describe('durable handles (MS-SMB2 3.3.5.9.6/7/10/12)', () => {
  let g: SmbGateway;
  const clients: TestClient[] = [];
  before(async () => {
    g = await startSmbGateway();
    await g.user('alice', 'Wonder-land1');
    await g.user('bob', 'Builder-2');
  });
  after(async () => {
    for (const c of clients) c.close();
    await g?.stop();
  });
  async function session(user = 'alice', dialects = SMB3): Promise<TestClient> {
    const c = await connectedClient(g.port, user, user === 'alice' ? 'Wonder-land1' : 'Builder-2', {
      dialects,
    });
    clients.push(c);
    return c;
  }

  test('1 a v2 durable open survives a dropped connection: reconnected on a new session it keeps its FileId, position and lock, and writing goes on', async () => {
    const c1 = await session();
    const guid = randomBytes(16);
    const { reply, fid } = await durableOpen(c1, 'durable.txt', guid);
    equal(reply.body[2], BATCH, 'a batch oplock comes with the durable handle');
    const granted = responseContexts(reply).get('DH2Q');
    ok(granted, 'the DH2Q response context');
    deepEqual(
      [granted.readUInt32LE(0), granted.readUInt32LE(4)],
      [60_000, 0],
      'the default timeout, not persistent',
    );
    equal(
      (await c1.request({ command: CMD.WRITE, body: writeBody(fid, 0n, Buffer.from('hello ')) })).status,
      0,
    );
    const pos = Buffer.alloc(8);
    pos.writeBigUInt64LE(6n);
    equal(
      (await c1.request({ command: CMD.SET_INFO, body: setInfoBody(fid, POSITION_CLASS, pos) })).status,
      0,
    );
    const lock = lockBody(fid, [{ offset: 100n, length: 10n, flags: EXCLUSIVE_NOW }]);
    equal((await c1.request({ command: CMD.LOCK, body: lock })).status, 0);
    await drop(c1);

    const c2 = await session();
    const r = await whenDisconnected(() => reconnect(c2, 'durable.txt', [dh2c(fid, guid)]));
    equal(r.status, 0, `DH2C: ${hex(r.status)}`);
    const again = fileIdOf(r);
    equal(persistentOf(again), persistentOf(fid), 'the same persistent FileId');
    notEqual(volatileOf(again), volatileOf(fid), 'a new volatile FileId');
    equal(r.body[2], BATCH);
    const q = await c2.request({ command: CMD.QUERY_INFO, body: queryInfoBody(again, 1, POSITION_CLASS) });
    equal(outputBuffer(q).readBigUInt64LE(0), 6n, 'the same position');
    equal(
      (await c2.request({ command: CMD.WRITE, body: writeBody(again, 6n, Buffer.from('world')) })).status,
      0,
    );

    // The lock went along: another client meets it (once the batch oplock is broken and acknowledged).
    const c3 = await session();
    const pending = c3.build({
      command: CMD.CREATE,
      body: createBody('durable.txt', { access: RW, disposition: 1 }),
    });
    const opened = c3.wait(pending.messageId, false, 30_000);
    c3.sendFrame(pending.msg);
    const brk = await c2.wait(BREAK_MID, false, 30_000);
    equal(brk.command, CMD.OPLOCK_BREAK);
    equal(brk.body[2], 1, 'broken to level II (the other open reads and writes the file)');
    deepEqual(brk.body.subarray(8, 24), again, 'the break names the reconnected FileId');
    const ack = await c2.request({ command: CMD.OPLOCK_BREAK, body: oplockAck(again, 0) });
    equal(ack.status, 0, `ack: ${hex(ack.status)}`);
    const other = await opened;
    equal(other.status, 0);
    equal(other.body[2], 0, 'no oplock for the second open');
    const write = await c3.request({
      command: CMD.WRITE,
      body: writeBody(fileIdOf(other), 100n, Buffer.from('x')),
    });
    equal(write.status, S.STATUS_FILE_LOCK_CONFLICT);
    await c3.request({ command: CMD.CLOSE, body: closeBody(fileIdOf(other)) });

    equal((await c2.request({ command: CMD.CLOSE, body: closeBody(again) })).status, 0);
    equal(await readAll(c2, 'durable.txt'), 'hello world');
  });

  test('2 reconnect mismatches: another user ACCESS_DENIED; wrong CreateGuid, unknown FileId, a lease, an open still connected OBJECT_NAME_NOT_FOUND; DH2C with DH2Q INVALID_PARAMETER', async () => {
    const c1 = await session();
    const guid = randomBytes(16);
    const { fid } = await durableOpen(c1, 'mismatch.txt', guid);
    const still = await session();
    equal(
      (await create(still, 'mismatch.txt', { contexts: createContexts([dh2c(fid, guid)]) })).status,
      S.STATUS_OBJECT_NAME_NOT_FOUND,
      'still connected',
    );
    await drop(c1);

    const bob = await session('bob');
    const denied = await whenDisconnected(() => reconnect(bob, 'mismatch.txt', [dh2c(fid, guid)]));
    equal(denied.status, S.STATUS_ACCESS_DENIED);
    const smb = g.gw.servers.find((s) => s.protocol === 'smb') as SmbServer;
    ok(
      smb
        .status()
        .openFiles.some((o) => o.session === 'disconnected (durable)' && o.path === 'export\\mismatch.txt'),
      './cfs smb status shows the open waiting for its client',
    );
    const c2 = await session();
    equal(
      (await reconnect(c2, 'mismatch.txt', [dh2c(fid, randomBytes(16))])).status,
      S.STATUS_OBJECT_NAME_NOT_FOUND,
    );
    const unknown = Buffer.from(fid);
    unknown.writeBigUInt64LE(persistentOf(fid) + 1000n);
    equal(
      (await reconnect(c2, 'mismatch.txt', [dh2c(unknown, guid)])).status,
      S.STATUS_OBJECT_NAME_NOT_FOUND,
    );
    equal(
      (await reconnect(c2, 'mismatch.txt', [dh2c(fid, guid), lease()], LEASE)).status,
      S.STATUS_OBJECT_NAME_NOT_FOUND,
    );
    equal(
      (await reconnect(c2, 'mismatch.txt', [dh2c(fid, guid), dh2q(guid)])).status,
      S.STATUS_INVALID_PARAMETER,
    );
    const r = await reconnect(c2, 'mismatch.txt', [dh2c(fid, guid)]);
    equal(r.status, 0, 'the owner, with the right CreateGuid');
    equal(
      (
        await create(c2, 'other.txt', {
          disposition: 5,
          oplock: BATCH,
          contexts: createContexts([dh2q(guid)]),
        })
      ).status,
      S.STATUS_DUPLICATE_OBJECTID,
      'a CreateGuid still in use',
    );
    await c2.request({ command: CMD.CLOSE, body: closeBody(fileIdOf(r)) });
  });

  test('3 v1 (SMB 2.1): DHnQ with a batch oplock request is granted and DHnC reconnects; without one, neither oplock nor durability', async () => {
    const c1 = await session('alice', SMB21);
    const plain = await create(c1, 'v1-plain.txt', {
      access: RW,
      disposition: 5,
      contexts: createContexts([dhnq()]),
    });
    equal(plain.status, 0);
    equal(plain.body[2], 0);
    equal(responseContexts(plain).has('DHnQ'), false);
    const r = await create(c1, 'v1.txt', {
      access: RW,
      disposition: 5,
      oplock: BATCH,
      contexts: createContexts([dhnq()]),
    });
    equal(r.status, 0);
    equal(r.body[2], BATCH);
    deepEqual(responseContexts(r).get('DHnQ'), Buffer.alloc(8));
    const fid = fileIdOf(r);
    equal(
      (await c1.request({ command: CMD.WRITE, body: writeBody(fid, 0n, Buffer.from('v1 data')) })).status,
      0,
    );
    await drop(c1);
    const c2 = await session('alice', SMB21);
    const again = await whenDisconnected(() => reconnect(c2, 'v1.txt', [dhnc(fid)]));
    equal(again.status, 0, `DHnC: ${hex(again.status)}`);
    equal(persistentOf(fileIdOf(again)), persistentOf(fid));
    await c2.request({ command: CMD.CLOSE, body: closeBody(fileIdOf(again)) });
    equal(await readAll(c2, 'v1.txt'), 'v1 data');
  });

  test('4 a v1 lease asked for on a file nobody has open is granted as asked (RWH); a stat open does not break a batch oplock', async () => {
    const c1 = await session();
    const r = await create(c1, 'leased.txt', {
      disposition: 5,
      oplock: LEASE,
      contexts: createContexts([lease()]),
    });
    equal(r.status, 0);
    equal(r.body[2], LEASE);
    const granted = responseContexts(r).get('RqLs');
    deepEqual(granted?.subarray(0, 16), Buffer.alloc(16, 7), 'the lease key');
    equal(granted?.readUInt32LE(16), 7, 'read, handle and write caching');
    const { fid } = await durableOpen(c1, 'stat.txt', randomBytes(16));
    const c2 = await session();
    const stat = await create(c2, 'stat.txt', { access: 0x80, disposition: 1 });
    equal(stat.status, 0, 'answered at once, with no break');
    equal(c1.repliesFor(BREAK_MID).length, 0);
    await c2.request({ command: CMD.CLOSE, body: closeBody(fileIdOf(stat)) });
    await c1.request({ command: CMD.CLOSE, body: closeBody(fid) });
  });

  test('5 a durable open whose client is gone loses to a conflicting open: the open proceeds, the handle cannot come back', async () => {
    const c1 = await session();
    const guid = randomBytes(16);
    const { fid } = await durableOpen(c1, 'lost.txt', guid, { share: 0 });
    await drop(c1);
    const bob = await session('bob');
    equal(
      (await whenDisconnected(() => reconnect(bob, 'lost.txt', [dh2c(fid, guid)]))).status,
      S.STATUS_ACCESS_DENIED,
    );
    const c2 = await session();
    const other = await create(c2, 'lost.txt', { access: RW, disposition: 1, share: 0 });
    equal(other.status, 0, `the conflicting open: ${hex(other.status)}`);
    await c2.request({ command: CMD.CLOSE, body: closeBody(fileIdOf(other)) });
    equal((await reconnect(c2, 'lost.txt', [dh2c(fid, guid)])).status, S.STATUS_OBJECT_NAME_NOT_FOUND);
  });
});

describe('oplock breaks inside a compound', () => {
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

  test('1 a compound CREATE+CLOSE meeting a batch oplock waits for the break to be acknowledged, then completes', async () => {
    const c1 = await connectedClient(g.port, 'alice', 'Wonder-land1', { dialects: SMB3 });
    const c2 = await connectedClient(g.port, 'alice', 'Wonder-land1', { dialects: SMB3 });
    clients.push(c1, c2);
    const { fid } = await durableOpen(c1, 'compound.txt', randomBytes(16));
    const replies = c2.compound([
      { command: CMD.CREATE, body: createBody('compound.txt', { access: RW, disposition: 1 }) },
      { command: CMD.CLOSE, body: closeBody(Buffer.alloc(16, 0xff)), related: true },
    ]);
    const brk = await c1.wait(BREAK_MID, false, 30_000);
    deepEqual(brk.body.subarray(8, 24), fid);
    equal((await c1.request({ command: CMD.OPLOCK_BREAK, body: oplockAck(fid, 0) })).status, 0);
    const [opened, closed] = await replies;
    equal(opened?.status, 0);
    equal(closed?.status, 0);
  });
});

describe('durable handles past their timeout', () => {
  let g: SmbGateway;
  const clients: TestClient[] = [];
  before(async () => {
    g = await startSmbGateway({ smbExtra: 'durable_handle_timeout: 2s' });
    await g.user('alice', 'Wonder-land1');
    await g.user('bob', 'Builder-2');
  });
  after(async () => {
    for (const c of clients) c.close();
    await g?.stop();
  });

  test('1 at the timeout the open is closed: its lock is released, delete-on-close happens, and a reconnect finds nothing', async () => {
    const c1 = await connectedClient(g.port, 'alice', 'Wonder-land1', { dialects: SMB3 });
    clients.push(c1);
    const guid = randomBytes(16);
    const { reply, fid } = await durableOpen(c1, 'expires.txt', guid);
    equal(responseContexts(reply).get('DH2Q')?.readUInt32LE(0), 2000, 'the configured timeout');
    const lock = lockBody(fid, [{ offset: 0n, length: 10n, flags: EXCLUSIVE_NOW }]);
    equal((await c1.request({ command: CMD.LOCK, body: lock })).status, 0);
    const doc = await durableOpen(c1, 'doomed.txt', randomBytes(16), {
      access: RW | DELETE,
      options: DELETE_ON_CLOSE,
    });
    ok(doc.fid);
    await drop(c1);

    // Bob cannot take the handle; once the timeout closed it, there is no handle to refuse him.
    const bob = await connectedClient(g.port, 'bob', 'Builder-2', { dialects: SMB3 });
    clients.push(bob);
    const deadline = Date.now() + 30_000;
    let status = -1;
    while (Date.now() < deadline) {
      status = (await create(bob, 'expires.txt', { contexts: createContexts([dh2c(fid, guid)]) })).status;
      if (status === S.STATUS_OBJECT_NAME_NOT_FOUND) break;
      equal(status, S.STATUS_ACCESS_DENIED, 'the open is still kept for alice');
      await new Promise((r) => setTimeout(r, 200));
    }
    equal(status, S.STATUS_OBJECT_NAME_NOT_FOUND, 'the open is gone');

    const c2 = await connectedClient(g.port, 'alice', 'Wonder-land1', { dialects: SMB3 });
    clients.push(c2);
    equal((await reconnect(c2, 'expires.txt', [dh2c(fid, guid)])).status, S.STATUS_OBJECT_NAME_NOT_FOUND);
    const mine = await openOk(c2, 'expires.txt', { access: RW, disposition: 1 });
    const taken = await c2.request({
      command: CMD.LOCK,
      body: lockBody(mine, [{ offset: 0n, length: 10n, flags: EXCLUSIVE_NOW }]),
    });
    equal(taken.status, 0, 'the lock was released');
    await c2.request({ command: CMD.CLOSE, body: closeBody(mine) });
    equal(
      (await create(c2, 'doomed.txt', { disposition: 1 })).status,
      S.STATUS_OBJECT_NAME_NOT_FOUND,
      'deleted on close',
    );
  });

  test('2 a reconnect that came while the process stood still (3 s, past the 2-s timeout) gets the open back: the timeout counts only time the gateway ran', async () => {
    const c1 = await connectedClient(g.port, 'alice', 'Wonder-land1', { dialects: SMB3 });
    const c2 = await connectedClient(g.port, 'alice', 'Wonder-land1', { dialects: SMB3 });
    const bob = await connectedClient(g.port, 'bob', 'Builder-2', { dialects: SMB3 });
    clients.push(c1, c2, bob);
    const guid = randomBytes(16);
    const { fid } = await durableOpen(c1, 'paused.txt', guid);
    await drop(c1);
    const kept = await whenDisconnected(() => reconnect(bob, 'paused.txt', [dh2c(fid, guid)]));
    equal(kept.status, S.STATUS_ACCESS_DENIED, 'the server has seen the drop and keeps the open for alice');

    const pending = c2.build({
      command: CMD.CREATE,
      body: createBody('paused.txt', {
        access: RW,
        disposition: 1,
        oplock: BATCH,
        contexts: createContexts([dh2c(fid, guid)]),
      }),
    });
    const answered = c2.wait(pending.messageId, false, 30_000);
    c2.sendFrame(pending.msg);
    // The reconnect is in the gateway's socket; now the whole process stands still, as under a
    // VM pause, past the handle's timeout.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
    const r = await answered;
    equal(r.status, 0, `reconnect: ${hex(r.status)}`);
    equal(persistentOf(fileIdOf(r)), persistentOf(fid), 'the same open');
    await c2.request({ command: CMD.CLOSE, body: closeBody(fileIdOf(r)) });
  });
});
