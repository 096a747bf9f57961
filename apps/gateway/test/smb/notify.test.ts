import { deepEqual, equal } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { MountProc } from '../../src/protocols/mount/codec.ts';
import { RpcClient } from '../../src/protocols/rpc/client.ts';
import { AcceptStat } from '../../src/protocols/rpc/constants.ts';
import type { RpcCred } from '../../src/protocols/rpc/program.ts';
import { CMD } from '../../src/protocols/smb/constants.ts';
import { NOTIFY_ACTION as ACT } from '../../src/protocols/smb/notify.ts';
import { SmbServer } from '../../src/protocols/smb/server.ts';
import { NT_STATUS } from '../../src/protocols/smb/status/index.ts';
import type { XdrReader } from '../../src/protocols/xdr/reader.ts';
import { XdrWriter } from '../../src/protocols/xdr/writer.ts';
import { A, type Args, encode, R } from '../nfs-v3/wire.ts';
import {
  closeBody,
  connectedClient,
  notifyBody,
  openOk,
  outputBuffer,
  type Reply,
  setInfoBody,
  type TestClient,
  writeBody,
} from './client.ts';
import { type SmbGateway, s3ClientOf, startSmbGateway } from './fixture.ts';

const FILE_NAME = 0x1;
const DIR_NAME = 0x2;
const SIZE = 0x8;
const LAST_WRITE = 0x10;
/** FILE_RENAME_INFORMATION through SET_INFO. */
const RENAME_CLASS = 10;

type Change = [action: number, name: string];

/** FILE_NOTIFY_INFORMATION entries of a CHANGE_NOTIFY reply (MS-FSCC §2.7.1). */
function changesOf(r: Reply): Change[] {
  equal(r.status, 0, `CHANGE_NOTIFY: 0x${r.status.toString(16)}`);
  const buf = outputBuffer(r);
  const out: Change[] = [];
  for (let at = 0; buf.length > 0; ) {
    const next = buf.readUInt32LE(at);
    const len = buf.readUInt32LE(at + 8);
    out.push([buf.readUInt32LE(at + 4), buf.subarray(at + 12, at + 12 + len).toString('utf16le')]);
    if (next === 0) break;
    at += next;
  }
  return out;
}

describe('CHANGE_NOTIFY reports changes made over S3 and NFS, and SMB changes once', () => {
  let g: SmbGateway;
  let s3: S3Client;
  let mount: RpcClient;
  let nfs: RpcClient;
  let exportFh: Buffer;
  let nfsCred: RpcCred;
  const clients: TestClient[] = [];

  before(async () => {
    g = await startSmbGateway({ protocols: ['smb', 's3', 'nfs'] });
    const alice = await g.user('alice', 'Wonder-land1');
    nfsCred = { flavor: 'sys', stamp: 1, machine: 'tester', uid: alice.uid, gid: alice.gid, gids: [] };
    s3 = await s3ClientOf(g, 'alice');
    mount = await RpcClient.connect('127.0.0.1', g.mountPort);
    nfs = await RpcClient.connect('127.0.0.1', g.nfsPort);
    const mnt = results(
      await mount.call({
        prog: 100005,
        vers: 3,
        proc: MountProc.MNT,
        cred: nfsCred,
        args: new XdrWriter().string('/export').toBuffer(),
      }),
    );
    equal(mnt.uint32('status'), 0);
    exportFh = Buffer.from(mnt.opaque(64, 'fh'));
  });
  after(async () => {
    for (const c of clients) c.close();
    mount?.close();
    nfs?.close();
    s3?.destroy();
    await g?.stop();
  });

  function results(r: Awaited<ReturnType<RpcClient['call']>>): XdrReader {
    if (r.status !== 'accepted' || r.stat !== AcceptStat.SUCCESS) throw new Error(JSON.stringify(r));
    return r.results;
  }

  /** One NFSv3 call over TCP, decoded (the whole body). */
  async function nfsCall<T>(proc: number, args: Args, dec: (r: XdrReader) => T): Promise<T> {
    const r = results(await nfs.call({ prog: 100003, vers: 3, proc, cred: nfsCred, args: encode(args) }));
    const out = dec(r);
    r.end('reply');
    return out;
  }

  async function session(): Promise<TestClient> {
    const c = await connectedClient(g.port, 'alice', 'Wonder-land1');
    clients.push(c);
    return c;
  }
  const open = openOk;

  /** A directory made over SMB and watched: `next()` sends a CHANGE_NOTIFY and waits until it is pending. */
  async function watch(dir: string, filter: number, recursive = false) {
    const c = await session();
    const fid = await open(c, dir, { access: 0x1, disposition: 3, options: 1 });
    return {
      /** Resolves once the request is pending (or answered): `.reply` is its final reply. */
      async next(): Promise<{ reply: Promise<Reply> }> {
        const n = c.build({ command: CMD.CHANGE_NOTIFY, body: notifyBody(fid, filter, recursive) });
        const interim = c.wait(n.messageId, true, 30_000);
        const final = c.wait(n.messageId, false, 30_000);
        c.sendFrame(n.msg);
        const first = await interim;
        return { reply: first.status === NT_STATUS.STATUS_PENDING ? final : Promise.resolve(first) };
      },
    };
  }

  test('1 an S3 PUT of a new key completes a pending notify with ADDED; an overwrite is MODIFIED, a DELETE REMOVED', async () => {
    const w = await watch('bucket1', FILE_NAME | SIZE | LAST_WRITE);
    let pending = await w.next();
    await s3.send(new PutObjectCommand({ Bucket: 'bucket1', Key: 'obj.txt', Body: 'first' }));
    deepEqual(changesOf(await pending.reply)[0], [ACT.ADDED, 'obj.txt']);

    pending = await w.next();
    await s3.send(new PutObjectCommand({ Bucket: 'bucket1', Key: 'obj.txt', Body: 'second version' }));
    const overwritten = changesOf(await pending.reply);
    deepEqual(overwritten[0], [ACT.MODIFIED, 'obj.txt'], JSON.stringify(overwritten));

    // Whatever the overwrite queued after the reply, then the deletion.
    let removed: Change[] = [];
    for (let i = 0; i < 3 && !removed.some(([a]) => a === ACT.REMOVED); i++) {
      pending = await w.next();
      if (i === 0) await s3.send(new DeleteObjectCommand({ Bucket: 'bucket1', Key: 'obj.txt' }));
      removed = changesOf(await pending.reply);
    }
    deepEqual(removed.at(-1), [ACT.REMOVED, 'obj.txt']);
  });

  test('2 NFS CREATE, WRITE, RENAME and REMOVE in the watched directory: ADDED, MODIFIED, OLD/NEW name, REMOVED', async () => {
    const w = await watch('nfsdir', FILE_NAME | LAST_WRITE);
    const dir = await nfsCall(3, A.lookup(exportFh, 'nfsdir'), R.lookup);
    equal(dir.status, 0);

    let pending = await w.next();
    const made = await nfsCall(8, A.create(dir.fh!, 'a.txt', 'guarded', { mode: 0o644 }), R.newObject);
    equal(made.status, 0);
    deepEqual(changesOf(await pending.reply), [[ACT.ADDED, 'a.txt']]);

    pending = await w.next();
    equal((await nfsCall(7, A.write(made.fh!, 0n, Buffer.from('over nfs')), R.write)).status, 0);
    deepEqual(changesOf(await pending.reply), [[ACT.MODIFIED, 'a.txt']]);

    pending = await w.next();
    equal((await nfsCall(14, A.rename(dir.fh!, 'a.txt', dir.fh!, 'b.txt'), R.rename)).status, 0);
    deepEqual(changesOf(await pending.reply), [
      [ACT.RENAMED_OLD_NAME, 'a.txt'],
      [ACT.RENAMED_NEW_NAME, 'b.txt'],
    ]);

    pending = await w.next();
    equal((await nfsCall(12, A.remove(dir.fh!, 'b.txt'), R.wccOnly)).status, 0);
    deepEqual(changesOf(await pending.reply), [[ACT.REMOVED, 'b.txt']]);
  });

  test('3 WATCH_TREE: an NFS mkdir and create below the watched directory are named by their path from it', async () => {
    const w = await watch('tree', FILE_NAME | DIR_NAME, true);
    const top = await nfsCall(3, A.lookup(exportFh, 'tree'), R.lookup);
    let pending = await w.next();
    const sub = await nfsCall(9, A.mkdir(top.fh!, 'sub', { mode: 0o755 }), R.newObject);
    equal(sub.status, 0);
    deepEqual(changesOf(await pending.reply), [[ACT.ADDED, 'sub']]);
    pending = await w.next();
    equal((await nfsCall(8, A.create(sub.fh!, 'deep.txt', 'guarded'), R.newObject)).status, 0);
    deepEqual(changesOf(await pending.reply), [[ACT.ADDED, 'sub\\deep.txt']]);
  });

  test('4 a change made over SMB is reported once: create, write, rename and delete of one file', async () => {
    const w = await watch('smbdir', FILE_NAME | LAST_WRITE);
    const c = await session();
    const first = await w.next();
    const f = await open(c, 'smbdir\\f.txt', { disposition: 2, access: 0x12019f | 0x10000 });
    equal((await c.request({ command: CMD.WRITE, body: writeBody(f, 0n, Buffer.from('data')) })).status, 0);
    const to = Buffer.from('smbdir\\g.txt', 'utf16le');
    const info = Buffer.alloc(20);
    info.writeUInt32LE(to.length, 16);
    const rename = setInfoBody(f, RENAME_CLASS, Buffer.concat([info, to]));
    equal((await c.request({ command: CMD.SET_INFO, body: rename })).status, 0);
    equal((await c.request({ command: CMD.CLOSE, body: closeBody(f) })).status, 0);
    const d = await open(c, 'smbdir\\g.txt', { disposition: 1, access: 0x10080, options: 0x1000 });
    equal((await c.request({ command: CMD.CLOSE, body: closeBody(d) })).status, 0);
    const seen = changesOf(await first.reply);
    seen.push(...changesOf(await (await w.next()).reply));
    deepEqual(seen, [
      [ACT.ADDED, 'f.txt'],
      [ACT.MODIFIED, 'f.txt'],
      [ACT.RENAMED_OLD_NAME, 'f.txt'],
      [ACT.RENAMED_NEW_NAME, 'g.txt'],
      [ACT.REMOVED, 'g.txt'],
    ]);
  });

  test('5 a pending CHANGE_NOTIFY is parked, not busy: stop and drain do not wait for it', async () => {
    const smb = g.gw.servers.find((s) => s instanceof SmbServer);
    if (!smb) throw new Error('no SMB server');
    const w = await watch('bucket5', FILE_NAME);
    const pending = await w.next();
    equal(smb.busy, 0, 'a notify waiting for a change counts as work in progress');
    await s3.send(new PutObjectCommand({ Bucket: 'bucket5', Key: 'wake.txt', Body: 'x' }));
    deepEqual(changesOf(await pending.reply)[0], [ACT.ADDED, 'wake.txt']);
  });
});
