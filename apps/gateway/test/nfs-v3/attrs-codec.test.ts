import { deepEqual, equal, notDeepEqual } from 'node:assert/strict';
import { test } from 'node:test';
import { encodeFattr3, FATTR3_BYTES } from '../../src/protocols/nfs/v3/codec/attrs.ts';
import { XdrReader } from '../../src/protocols/xdr/reader.ts';
import { XdrWriter } from '../../src/protocols/xdr/writer.ts';
import type { Attributes } from '../../src/storage/types.ts';
import { fattr } from './wire.ts';

const base: Attributes = {
  ino: 4242n,
  generation: 1,
  type: 'file',
  mode: 0o644,
  nlink: 1,
  uid: 1000,
  gid: 100,
  size: 5_000_000_000n,
  used: 4096n,
  rdev: 0,
  atimeNs: 1_700_000_000_123_456_789n,
  mtimeNs: 1_700_000_001_000_000_001n,
  ctimeNs: 1_700_000_002_999_999_999n,
  btimeNs: 1_700_000_000_000_000_000n,
  immutableUntilNs: 0n,
  changeId: 7n,
  parent: 0n,
};

function encode(attrs: Attributes, fsid: bigint): Buffer {
  const w = new XdrWriter(16);
  w.uint32(0xdeadbeef); // something before, as in a reply
  encodeFattr3(w, { attrs, fsid });
  w.uint32(0xfeedface); // and after
  return Buffer.concat(w.toChunks());
}

/** The fields as a client decodes them (RFC 1813 §2.5), between the markers around them. */
function decode(bytes: Buffer) {
  const r = new XdrReader(bytes);
  equal(r.uint32('lead'), 0xdeadbeef);
  const f = fattr(r);
  equal(r.uint32('trail'), 0xfeedface);
  r.end('fattr3');
  return f;
}

test('1 fattr3: the same bytes whether encoded anew or copied from an earlier encoding of the same snapshot', () => {
  const first = encode(base, 9n);
  equal(first.length, 4 + FATTR3_BYTES + 4);
  deepEqual(decode(first), {
    type: 1,
    mode: 0o644,
    nlink: 1,
    uid: 1000,
    gid: 100,
    size: 5_000_000_000n,
    used: 4096n,
    rdev: [0, 0],
    fsid: 9n,
    fileid: 4242n,
    atime: [1_700_000_000, 123_456_789],
    mtime: [1_700_000_001, 1],
    ctime: [1_700_000_002, 999_999_999],
  });
  // Second and third sight of the same object: kept, then copied.
  deepEqual(encode(base, 9n), first);
  deepEqual(encode(base, 9n), first);
});

test('2 fattr3: a changed inode (a new snapshot) or another export (fsid) never gets a kept encoding', () => {
  encode(base, 9n);
  encode(base, 9n);
  const grown: Attributes = { ...base, size: 6n, mtimeNs: 2_000_000_000_000_000_000n };
  const g = decode(encode(grown, 9n));
  equal(g.size, 6n);
  deepEqual(g.mtime, [2_000_000_000, 0]);
  deepEqual(decode(encode(grown, 9n)), g);
  // The same snapshot through another export: its own fsid, each time.
  equal(decode(encode(base, 11n)).fsid, 11n);
  equal(decode(encode(base, 11n)).fsid, 11n);
  equal(decode(encode(base, 11n)).fsid, 11n);
  equal(decode(encode(base, 9n)).fsid, 9n);
  notDeepEqual(encode(base, 9n), encode(base, 11n));
});

test('3 copyOfLast: a copy of what was just written, none when it spans a by-reference chunk', () => {
  const w = new XdrWriter(8);
  w.uint32(1).uint32(2).uint32(3);
  const last = w.copyOfLast(8)!;
  deepEqual([...last], [0, 0, 0, 2, 0, 0, 0, 3]);
  w.uint32(4);
  deepEqual([...last], [0, 0, 0, 2, 0, 0, 0, 3], 'a copy, not a view');
  w.opaqueByRef(Buffer.from('abcd'));
  w.uint32(5);
  equal(w.copyOfLast(8), undefined);
  deepEqual([...w.copyOfLast(4)!], [0, 0, 0, 5]);
});
