import { deepEqual, equal, notDeepEqual, ok } from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Harness } from './harness.ts';
import { A, R } from './wire.ts';

const OK = 0;
const UNSTABLE = 0;

test('1 the write verifier is stable within a server instance and changes on restart', async () => {
  const h = await Harness.open();
  try {
    const root = await h.root();
    const f = (await h.call(8, A.create(root, 'v', 'guarded'), R.newObject)).fh!;
    const w1 = await h.call(7, A.write(f, 0n, Buffer.from('a'), UNSTABLE), R.write);
    const w2 = await h.call(7, A.write(f, 1n, Buffer.from('b'), 2), R.write);
    const c1 = await h.call(21, A.commit(f), R.commit);
    deepEqual(w1.verf, w2.verf);
    deepEqual(c1.verf, w1.verf);
    h.restart();
    const c2 = await h.call(21, A.commit(f), R.commit);
    notDeepEqual(c2.verf, w1.verf, 'a client re-sends its uncommitted writes after a restart');
    const w3 = await h.call(7, A.write(f, 2n, Buffer.from('c'), UNSTABLE), R.write);
    deepEqual(w3.verf, c2.verf);
  } finally {
    await h.close();
  }
});

test('2 COMMIT after UNSTABLE writes: the bytes are there after the namespace is reopened', async () => {
  const h = await Harness.open();
  try {
    const root = await h.root();
    const f = (await h.call(8, A.create(root, 'unstable.bin', 'guarded'), R.newObject)).fh!;
    const data = randomBytes(5 * 256 * 1024 + 17);
    const chunk = 256 * 1024;
    // Out of order, as concurrent client writes arrive.
    const offsets = [4, 0, 2, 1, 3, 5].map((i) => i * chunk);
    const verfs = new Set<string>();
    for (const off of offsets) {
      const part = data.subarray(off, off + chunk);
      const w = await h.call(7, A.write(f, BigInt(off), part, UNSTABLE), R.write);
      equal(w.status, OK);
      equal(w.committed, UNSTABLE);
      verfs.add(w.verf!.toString('hex'));
    }
    const c = await h.call(21, A.commit(f, 0n, 0), R.commit);
    equal(c.status, OK);
    equal(verfs.size, 1);
    equal(c.verf!.toString('hex'), [...verfs][0]);
    equal(c.wcc.after!.size, BigInt(data.length));
    await h.reopen();
    const got: Buffer[] = [];
    for (let off = 0; off < data.length; off += 1 << 20) {
      const r = await h.call(6, A.read(f, BigInt(off), 1 << 20), R.read);
      equal(r.status, OK);
      got.push(r.data!);
    }
    ok(Buffer.concat(got).equals(data));
  } finally {
    await h.close();
  }
});

test('3 an EXCLUSIVE create retransmitted after a restart still finds its verifier', async () => {
  const h = await Harness.open();
  try {
    const root = await h.root();
    const verf = randomBytes(8);
    const a = await h.call(8, A.create(root, 'excl', verf), R.newObject);
    equal(a.status, OK);
    await h.reopen();
    const b = await h.call(8, A.create(root, 'excl', verf), R.newObject);
    equal(b.status, OK);
    deepEqual(b.fh, a.fh);
    // The client then sets the attributes it wanted (RFC 1813 §3.3.8).
    const s = await h.call(2, A.setattr(b.fh!, { mode: 0o600, mtime: [1_700_000_000, 0] }), R.wccOnly);
    equal(s.status, OK);
    equal(s.wcc.after!.mode, 0o600);
  } finally {
    await h.close();
  }
});
