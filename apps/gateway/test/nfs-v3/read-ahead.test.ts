import { deepEqual, equal, ok } from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ROOT } from '../../src/storage/types.ts';
import { ALICE, BOB, Harness } from './harness.ts';
import { A, R } from './wire.ts';

const MiB = 1 << 20;

describe('READ served from read-ahead', () => {
  let h: Harness;
  let root: Buffer;
  before(async () => {
    h = await Harness.open();
    root = await h.root();
  });
  after(() => h.close());

  async function file(name: string, data: Buffer, mode = 0o644): Promise<Buffer> {
    const c = await h.call(8, A.create(root, name, 'guarded', { mode }), R.newObject);
    for (let off = 0; off < data.length; off += MiB) {
      await h.call(7, A.write(c.fh!, BigInt(off), data.subarray(off, off + MiB)), R.write);
    }
    return c.fh!;
  }

  test('1 a front-to-back reader gets every byte, and eof on the last READ', async () => {
    const data = randomBytes(5 * MiB + 123);
    const fh = await file('seq.bin', data);
    const parts: Buffer[] = [];
    for (let off = 0, eof = false; !eof; off += MiB) {
      const r = await h.call(6, A.read(fh, BigInt(off), MiB), R.read);
      equal(r.status, 0);
      parts.push(r.data!);
      eof = r.eof!;
    }
    ok(Buffer.concat(parts).equals(data));
    equal(parts.length, 6);
  });

  test('2 bytes written (over NFS or any protocol) after the read-ahead started are what the next READ returns', async () => {
    const data = randomBytes(3 * MiB);
    const fh = await file('changing.bin', data);
    equal((await h.call(6, A.read(fh, 0n, MiB), R.read)).data!.length, MiB);
    const fresh = randomBytes(MiB);
    await h.call(7, A.write(fh, BigInt(MiB), fresh, 0), R.write);
    const next = await h.call(6, A.read(fh, BigInt(MiB), MiB), R.read);
    ok(next.data!.equals(fresh), 'a WRITE drops the read-ahead');
    // Through the namespace directly, as S3 or SMB write.
    const ino = (await h.ns.resolvePath(ROOT, '/export/changing.bin')).ino;
    const other = randomBytes(MiB);
    await h.ns.write(ROOT, ino, BigInt(2 * MiB), other);
    const last = await h.call(6, A.read(fh, BigInt(2 * MiB), MiB), R.read);
    ok(last.data!.equals(other), 'a namespace write drops the read-ahead');
    await h.ns.setattr(ROOT, ino, { size: BigInt(MiB) });
    const cut = await h.call(6, A.read(fh, 0n, MiB), R.read);
    equal(cut.eof, true);
    const past = await h.call(6, A.read(fh, BigInt(MiB), MiB), R.read);
    deepEqual([past.data!.length, past.eof], [0, true], 'a truncate drops the read-ahead');
  });

  test('3 bytes read ahead for one caller are not handed to another without the right to read them', async () => {
    const fh = await file('private.bin', randomBytes(2 * MiB), 0o600);
    equal((await h.call(6, A.read(fh, 0n, MiB), R.read, { cred: ALICE })).status, 0);
    const bob = await h.call(6, A.read(fh, BigInt(MiB), MiB), R.read, { cred: BOB });
    equal(bob.status, 13);
  });
});
