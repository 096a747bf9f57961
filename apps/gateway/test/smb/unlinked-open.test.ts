/**
 * An SMB client's open file whose last name is removed by another protocol — an NFS REMOVE,
 * an S3 DELETE or a PUT that replaces it — stays the client's to read and write until it closes
 * it, as a POSIX server keeps an unlinked open file (smbd on Linux does exactly that): the open
 * did not die with the name. At its last close the file goes, with its space.
 */
import { deepEqual, equal } from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Proc, statusName } from '../../src/protocols/nfs/v3/constants.ts';
import { CMD, DISPOSITION, OPTION } from '../../src/protocols/smb/constants.ts';
import { ntStatusName } from '../../src/protocols/smb/deps.ts';
import { OPEN_UNLINKED } from '../../src/storage/meta/model.ts';
import { ROOT } from '../../src/storage/types.ts';
import { bucketClients, smbFile } from '../faults/bucket-clients.ts';
import { A, R } from '../nfs-v3/wire.ts';
import { closeBody, createBody, fileIdOf, readBody, writeBody } from './client.ts';

const BUCKET = 'held';
const smbName = (status: number) => (status === 0 ? 'STATUS_SUCCESS' : ntStatusName(status));

describe('an SMB open outlives its file’s last name, removed or replaced over NFS or S3', () => {
  const on = bucketClients(BUCKET);

  const smbCreate = async (name: string, text: string) => {
    const fid = await smbFile(on, BUCKET, name, DISPOSITION.CREATE);
    equal(await smbWrite(fid, 0n, text), 'STATUS_SUCCESS');
    return fid;
  };
  const smbWrite = async (fid: Buffer, at: bigint, text: string) =>
    smbName(
      (await on.smb.request({ command: CMD.WRITE, body: writeBody(fid, at, Buffer.from(text)) })).status,
    );
  const smbRead = async (fid: Buffer) => {
    const r = await on.smb.request({ command: CMD.READ, body: readBody(fid, 0n, 1 << 16) });
    if (r.status !== 0) return smbName(r.status);
    const at = r.body[2]!;
    return r.raw.subarray(at, at + r.body.readUInt32LE(4)).toString();
  };
  const smbClose = async (fid: Buffer) =>
    smbName((await on.smb.request({ command: CMD.CLOSE, body: closeBody(fid) })).status);
  const s3Get = async (Key: string) => {
    try {
      const r = await on.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key }));
      return await r.Body!.transformToString();
    } catch (e) {
      return (e as { name: string }).name;
    }
  };
  const inoOf = async (name: string) =>
    (await on.rig.gw.ns.resolvePath(ROOT, `/export/${BUCKET}/${name}`)).ino;
  const unlinkedHeld = async () =>
    (await on.rig.gw.ns.meta.detached()).filter((d) => d.purpose === OPEN_UNLINKED).map((d) => d.ino);
  const gone = async (ino: bigint) =>
    on.rig.gw.ns.getattr(ino).then(
      () => false,
      (e: { code?: string }) => e.code === 'ESTALE',
    );

  test('1 removed over NFS: the open still reads and writes it; the name is free; at the close the file goes', async () => {
    const fid = await smbCreate('report.txt', 'held bytes');
    const ino = await inoOf('report.txt');
    equal(
      statusName((await on.nfs.call(Proc.REMOVE, A.remove(on.bucketFh, 'report.txt'), R.wccOnly)).status),
      'NFS3_OK',
    );
    equal(await s3Get('report.txt'), 'NoSuchKey', 'the name is gone for everyone');
    deepEqual(await unlinkedHeld(), [ino], 'kept, with no name, for the open');

    equal(await smbRead(fid), 'held bytes');
    equal(await smbWrite(fid, 5n, 'BYTES'), 'STATUS_SUCCESS');
    equal(await smbRead(fid), 'held BYTES');
    // A new file takes the name; the held one is not it.
    await on.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'report.txt', Body: 'a new report' }));
    equal(await smbRead(fid), 'held BYTES');
    equal(await s3Get('report.txt'), 'a new report');

    equal(await smbClose(fid), 'STATUS_SUCCESS');
    equal(await gone(ino), true, 'gone at its last close');
    deepEqual(await unlinkedHeld(), []);
    equal(await s3Get('report.txt'), 'a new report', 'the new file is untouched');
  });

  test('2 replaced by an S3 PUT, then the new one deleted over S3: each open keeps the file it opened', async () => {
    const oldFid = await smbCreate('data.csv', 'old,1');
    const oldIno = await inoOf('data.csv');
    await on.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'data.csv', Body: 'new,2' }));
    equal(await smbRead(oldFid), 'old,1', 'the replaced file, through the open taken before');
    equal(await s3Get('data.csv'), 'new,2');

    const c = await on.smb.request({
      command: CMD.CREATE,
      body: createBody(`${BUCKET}\\data.csv`, {
        disposition: DISPOSITION.OPEN,
        options: OPTION.NON_DIRECTORY_FILE,
      }),
    });
    const newFid = fileIdOf(c);
    const newIno = await inoOf('data.csv');
    await on.s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'data.csv' }));
    equal(await smbRead(newFid), 'new,2');
    deepEqual((await unlinkedHeld()).sort(), [oldIno, newIno].sort());

    equal(await smbClose(oldFid), 'STATUS_SUCCESS');
    equal(await gone(oldIno), true);
    equal(await smbRead(newFid), 'new,2', 'the other open is not affected');
    equal(await smbClose(newFid), 'STATUS_SUCCESS');
    equal(await gone(newIno), true);
    deepEqual(await unlinkedHeld(), []);
  });

  test('3 a file no one holds open goes at once when its last name is removed', async () => {
    const fid = await smbCreate('brief.txt', 'brief');
    equal(await smbClose(fid), 'STATUS_SUCCESS');
    const ino = await inoOf('brief.txt');
    equal(
      statusName((await on.nfs.call(Proc.REMOVE, A.remove(on.bucketFh, 'brief.txt'), R.wccOnly)).status),
      'NFS3_OK',
    );
    equal(await gone(ino), true);
    deepEqual(await unlinkedHeld(), []);
  });
});
