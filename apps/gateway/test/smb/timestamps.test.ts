import { equal, notEqual, ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CMD } from '../../src/protocols/smb/constants.ts';
import {
  closeBody,
  connectedClient,
  flushBody,
  openOk,
  outputBuffer,
  queryInfoBody,
  setInfoBody,
  type TestClient,
  writeBody,
} from './client.ts';
import { type SmbGateway, startSmbGateway } from './fixture.ts';

/**
 * When a file's LastWriteTime moves, as Windows Server 2019 and later move it (and Samba's
 * smb2.timestamps "modern write time" tests describe): every write, end-of-file and allocation
 * change moves it at once; FLUSH and CLOSE never do; a time set through a handle (or frozen with
 * -1) stays through that handle's changes until -2 thaws it, while other handles' changes still
 * move it. Copy tools rely on this: they set the source's time and then write or close.
 */

const FILE_BASIC = 4;
const FILE_ALLOCATION = 19;
const FILE_END_OF_FILE = 20;
const CLOSE_POSTQUERY = 1;
const READ_ATTRIBUTES = 0x80;
const FREEZE = -1n;
const THAW = -2n;

const PASSWORD = 'Times-pw-123';

/** The clock moves between steps (timestamps are in 100 ns units; this is not a timing check). */
const tick = () => sleep(20);

function ntStatus(r: { status: number }, what: string): void {
  equal(r.status, 0, `${what}: status 0x${r.status.toString(16)}`);
}

/** LastWriteTime and ChangeTime (FILETIMEs) through an open handle, from FileBasicInformation. */
async function basicTimes(c: TestClient, fid: Buffer): Promise<{ write: bigint; change: bigint }> {
  const r = await c.request({ command: CMD.QUERY_INFO, body: queryInfoBody(fid, 1, FILE_BASIC) });
  ntStatus(r, 'QUERY_INFO basic');
  const info = outputBuffer(r);
  return { write: info.readBigUInt64LE(16), change: info.readBigUInt64LE(24) };
}

const writeTimeOf = async (c: TestClient, fid: Buffer) => (await basicTimes(c, fid)).write;
const changeTimeOf = async (c: TestClient, fid: Buffer) => (await basicTimes(c, fid)).change;

/** LastWriteTime as a new open of the path sees it (what Explorer or robocopy would read). */
async function pathWriteTime(c: TestClient, name: string): Promise<bigint> {
  const fid = await openOk(c, name, { access: READ_ATTRIBUTES, disposition: 1 });
  try {
    return await writeTimeOf(c, fid);
  } finally {
    await c.request({ command: CMD.CLOSE, body: closeBody(fid) });
  }
}

/** Both views agree; their value. */
async function timeOf(c: TestClient, fid: Buffer, name: string): Promise<bigint> {
  const handle = await writeTimeOf(c, fid);
  equal(await pathWriteTime(c, name), handle, 'the path and the handle report the same LastWriteTime');
  return handle;
}

function basicInfo(o: { write?: bigint; change?: bigint; creation?: bigint } = {}): Buffer {
  const b = Buffer.alloc(40);
  b.writeBigInt64LE(o.creation ?? 0n, 0);
  b.writeBigInt64LE(o.write ?? 0n, 16);
  b.writeBigInt64LE(o.change ?? 0n, 24);
  return b;
}

function u64(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return b;
}

async function setInfo(c: TestClient, fid: Buffer, cls: number, buf: Buffer): Promise<void> {
  ntStatus(await c.request({ command: CMD.SET_INFO, body: setInfoBody(fid, cls, buf) }), `SET_INFO ${cls}`);
}

async function write(c: TestClient, fid: Buffer, at = 0n): Promise<void> {
  ntStatus(await c.request({ command: CMD.WRITE, body: writeBody(fid, at, Buffer.from('1')) }), 'WRITE');
}

/** A FILETIME a day from now, on a whole second (as a copy tool sets its source's time). */
function tomorrow(): bigint {
  return (BigInt(Math.floor(Date.now() / 1000) + 86_400) + 11_644_473_600n) * 10_000_000n;
}

describe('SMB LastWriteTime: moved by changes, kept by a handle that set it', () => {
  let g: SmbGateway;
  let c1: TestClient;
  let c2: TestClient;
  let n = 0;
  /** A new file open on both connections (as two applications would hold it). */
  const twoHandles = async (): Promise<{ name: string; h1: Buffer; h2: Buffer }> => {
    const name = `times-${++n}.dat`;
    const h1 = await openOk(c1, name, { disposition: 2 });
    const h2 = await openOk(c2, name, { disposition: 1 });
    return { name, h1, h2 };
  };

  before(async () => {
    g = await startSmbGateway();
    await g.user('tina', PASSWORD);
    c1 = await connectedClient(g.port, 'tina', PASSWORD);
    c2 = await connectedClient(g.port, 'tina', PASSWORD);
  });
  after(async () => {
    c1?.close();
    c2?.close();
    await g?.stop();
  });

  test('1 every write moves it; FLUSH and CLOSE leave it where the last write put it', async () => {
    const { name, h1, h2 } = await twoHandles();
    await c2.request({ command: CMD.CLOSE, body: closeBody(h2) });
    const created = await timeOf(c1, h1, name);
    await tick();
    await write(c1, h1);
    const first = await timeOf(c1, h1, name);
    ok(first > created, 'the first write moved LastWriteTime');
    await tick();
    await write(c1, h1);
    const second = await timeOf(c1, h1, name);
    ok(second > first, 'the second write moved it again');
    await tick();
    ntStatus(await c1.request({ command: CMD.FLUSH, body: flushBody(h1) }), 'FLUSH');
    equal(await timeOf(c1, h1, name), second, 'FLUSH left it');
    await tick();
    const closed = await c1.request({ command: CMD.CLOSE, body: closeBody(h1, CLOSE_POSTQUERY) });
    ntStatus(closed, 'CLOSE');
    equal(closed.body.readBigUInt64LE(24), second, 'CLOSE reports the last write’s time');
    equal(await pathWriteTime(c1, name), second, 'and left it there');
  });

  test('2 a time set through a handle stays through its writes; another handle’s write moves it', async () => {
    const { name, h1, h2 } = await twoHandles();
    await tick();
    await write(c1, h1);
    const written = await timeOf(c1, h1, name);
    equal(await timeOf(c2, h2, name), written, 'both handles see the write');
    const sticky = tomorrow();
    await setInfo(c1, h1, FILE_BASIC, basicInfo({ write: sticky }));
    equal(await timeOf(c2, h2, name), sticky, 'the time set is what everyone sees');
    await tick();
    await write(c1, h1);
    equal(await timeOf(c1, h1, name), sticky, 'a write through the handle that set it keeps it');
    await tick();
    await write(c2, h2);
    const moved = await timeOf(c2, h2, name);
    notEqual(moved, sticky, 'a write through another handle moves it');
    await tick();
    await write(c1, h1);
    equal(await timeOf(c1, h1, name), moved, 'the first handle’s writes still leave it');
    await c1.request({ command: CMD.CLOSE, body: closeBody(h1) });
    await c2.request({ command: CMD.CLOSE, body: closeBody(h2) });
    equal(await pathWriteTime(c1, name), moved, 'closing both handles leaves it');
  });

  test('3 end of file (the same size too) and allocation move it, except through the handle that set it', async () => {
    const { name, h1, h2 } = await twoHandles();
    let last = await timeOf(c1, h1, name);
    for (const [what, cls, value] of [
      ['end of file at the same size', FILE_END_OF_FILE, 0n],
      ['allocation of 0', FILE_ALLOCATION, 0n],
      ['end of file 1', FILE_END_OF_FILE, 1n],
      ['allocation of 4096', FILE_ALLOCATION, 4096n],
    ] as const) {
      await tick();
      await setInfo(c1, h1, cls, u64(value));
      const now = await timeOf(c1, h1, name);
      ok(now > last, `${what} moved LastWriteTime`);
      last = now;
    }
    const sticky = tomorrow();
    await setInfo(c1, h1, FILE_BASIC, basicInfo({ write: sticky }));
    await tick();
    await setInfo(c1, h1, FILE_END_OF_FILE, u64(2n));
    await setInfo(c1, h1, FILE_ALLOCATION, u64(8192n));
    equal(
      await timeOf(c1, h1, name),
      sticky,
      'the handle that set the time changes the size without moving it',
    );
    await tick();
    await setInfo(c2, h2, FILE_END_OF_FILE, u64(3n));
    const moved = await timeOf(c2, h2, name);
    ok(moved > last && moved !== sticky, 'another handle’s end of file moves it');
    await c1.request({ command: CMD.CLOSE, body: closeBody(h1) });
    await c2.request({ command: CMD.CLOSE, body: closeBody(h2) });
  });

  test('4 -1 freezes it on a handle and -2 thaws it; zeros change nothing', async () => {
    const { name, h1, h2 } = await twoHandles();
    await c2.request({ command: CMD.CLOSE, body: closeBody(h2) });
    await tick();
    await write(c1, h1);
    const before = await timeOf(c1, h1, name);
    await setInfo(c1, h1, FILE_BASIC, basicInfo());
    equal(await timeOf(c1, h1, name), before, 'all-zero times set nothing');
    await setInfo(c1, h1, FILE_BASIC, basicInfo({ write: FREEZE }));
    equal(await timeOf(c1, h1, name), before, '-1 does not change the time');
    await tick();
    await write(c1, h1);
    equal(await timeOf(c1, h1, name), before, 'a write through the frozen handle leaves it');
    await setInfo(c1, h1, FILE_BASIC, basicInfo({ write: THAW }));
    equal(await timeOf(c1, h1, name), before, '-2 does not change the time');
    await tick();
    await write(c1, h1);
    ok((await timeOf(c1, h1, name)) > before, 'after -2 a write moves it again');
    await c1.request({ command: CMD.CLOSE, body: closeBody(h1) });
  });

  test('4b ChangeTime: -1 freezes it through the handle’s writes, -2 thaws it', async () => {
    const { h1, h2 } = await twoHandles();
    await c2.request({ command: CMD.CLOSE, body: closeBody(h2) });
    await tick();
    await write(c1, h1);
    const before = await changeTimeOf(c1, h1);
    await setInfo(c1, h1, FILE_BASIC, basicInfo({ change: FREEZE }));
    await tick();
    await write(c1, h1);
    equal(await changeTimeOf(c1, h1), before, 'a write through the frozen handle leaves ChangeTime');
    await setInfo(c1, h1, FILE_BASIC, basicInfo({ change: THAW }));
    await tick();
    await write(c1, h1);
    ok((await changeTimeOf(c1, h1)) > before, 'after -2 a write moves ChangeTime again');
    await c1.request({ command: CMD.CLOSE, body: closeBody(h1) });
  });

  test('5 a time set through one handle survives the close of another that wrote', async () => {
    const { name, h1, h2 } = await twoHandles();
    await tick();
    await write(c1, h1);
    const set = tomorrow();
    await setInfo(c2, h2, FILE_BASIC, basicInfo({ write: set }));
    await c2.request({ command: CMD.CLOSE, body: closeBody(h2) });
    const closed = await c1.request({ command: CMD.CLOSE, body: closeBody(h1, CLOSE_POSTQUERY) });
    equal(closed.body.readBigUInt64LE(24), set, 'the writer’s CLOSE reports the time set');
    equal(await pathWriteTime(c1, name), set, 'and keeps it');
  });
});
