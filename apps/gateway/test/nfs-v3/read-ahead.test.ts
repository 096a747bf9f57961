import { deepEqual, equal, ok } from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ReadAhead } from '../../src/protocols/nfs/v3/read-ahead.ts';
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

describe('read-ahead bookkeeping', () => {
  /** Records each range read ahead and whether its buffer went back. */
  function reader() {
    const started: bigint[] = [];
    const released: bigint[] = [];
    const read = (offset: bigint) => {
      started.push(offset);
      return Promise.resolve({ data: Buffer.alloc(4), eof: false, release: () => released.push(offset) });
    };
    return { started, released, read };
  }

  test('1 a sequential reader has the next two ranges on their way; a jump drops them and gives their buffers back', async () => {
    const ra = new ReadAhead();
    const r = reader();
    ra.served(1n, 'u', 0n, 4n, 4, 1n, r.read);
    deepEqual(r.started, [4n, 8n]);
    ok(ra.take(1n, 'u', 4n, 4, 1n), 'the next READ is served from read-ahead');
    ra.served(1n, 'u', 4n, 8n, 4, 1n, r.read);
    deepEqual(r.started, [4n, 8n, 12n], 'only the range not yet on its way is started');
    equal(ra.take(1n, 'u', 100n, 4, 1n), undefined, 'a random READ takes nothing');
    await new Promise((resolve) => setImmediate(resolve));
    deepEqual(
      r.released.sort((a, b) => Number(a - b)),
      [8n, 12n],
    );
  });

  test('2 another caller or a changed file gets nothing read ahead for someone else', () => {
    const ra = new ReadAhead();
    const r = reader();
    ra.served(2n, 'u', 0n, 4n, 4, 1n, r.read);
    equal(ra.take(2n, 'v', 4n, 4, 1n), undefined);
    ra.served(2n, 'u', 0n, 4n, 4, 1n, r.read);
    equal(ra.take(2n, 'u', 4n, 4, 2n), undefined);
  });

  test('3 bytes held ahead are bounded across files', () => {
    const ra = new ReadAhead(1000);
    const r = reader();
    const big = 8 * MiB;
    for (let ino = 1n; ino <= 10n; ino++) ra.served(ino, 'u', 0n, BigInt(big), big, 1n, r.read);
    ok(r.started.length * big <= 64 * MiB, `${r.started.length} ranges of 8 MiB started`);
  });
});
