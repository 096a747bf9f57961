import { deepEqual, equal, throws } from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { XdrError } from '../../src/protocols/xdr/errors.ts';
import { XdrReader } from '../../src/protocols/xdr/reader.ts';
import { XdrWriter } from '../../src/protocols/xdr/writer.ts';

test('1 every type round-trips, with padding to 4 bytes', () => {
  const w = new XdrWriter(8);
  w.uint32(0xffffffff)
    .int32(-5)
    .uint64(2n ** 64n - 1n)
    .int64(-2n)
    .bool(true)
    .string('héllo')
    .opaque(Buffer.from([1, 2, 3]));
  w.opaqueByRef(Buffer.from('by-ref!')).uint32(7);
  const buf = w.toBuffer();
  equal(buf.length % 4, 0);
  const r = new XdrReader(buf);
  equal(r.uint32('a'), 0xffffffff);
  equal(r.int32('b'), -5);
  equal(r.uint64('c'), 2n ** 64n - 1n);
  equal(r.int64('d'), -2n);
  equal(r.bool('e'), true);
  equal(r.string(255, 'f'), 'héllo');
  deepEqual(r.opaque(16, 'g'), Buffer.from([1, 2, 3]));
  deepEqual(r.opaque(16, 'h'), Buffer.from('by-ref!'));
  equal(r.uint32('i'), 7);
  r.end('message');
});

const bad: Array<[number, string, Buffer, (r: XdrReader) => unknown, RegExp]> = [
  [1, 'short buffer', Buffer.from([0, 0, 1]), (r) => r.uint32('xid'), /xid: needs 4 bytes/],
  [
    2,
    'length past the end',
    Buffer.from([0, 0, 0, 9, 1, 2, 3, 4]),
    (r) => r.opaque(64, 'name'),
    /name: needs 9 bytes/,
  ],
  [
    3,
    'length over the limit',
    Buffer.from([0, 0, 1, 0]),
    (r) => r.opaque(255, 'name'),
    /exceeds the limit 255/,
  ],
  [
    4,
    'non-zero padding',
    Buffer.from([0, 0, 0, 1, 0x61, 0, 1, 0]),
    (r) => r.string(8, 'name'),
    /non-zero padding/,
  ],
  [5, 'boolean of 2', Buffer.from([0, 0, 0, 2]), (r) => r.bool('flag'), /must be 0 or 1/],
  [
    6,
    'invalid UTF-8',
    Buffer.from([0, 0, 0, 1, 0xff, 0, 0, 0]),
    (r) => r.string(8, 'name'),
    /not valid UTF-8/,
  ],
  [
    7,
    'array count over the limit',
    Buffer.from([0, 0, 0, 5]),
    (r) => r.array(4, 'gids', () => 0),
    /count 5 exceeds/,
  ],
  [
    8,
    'trailing bytes',
    Buffer.from([0, 0, 0, 1, 0, 0, 0, 0]),
    (r) => {
      r.uint32('x');
      r.end('args');
    },
    /args: 4 trailing/,
  ],
];
for (const [row, what, bytes, read, message] of bad) {
  test(`2.${row} ${what} is an XdrError naming the field`, () => {
    throws(
      () => read(new XdrReader(bytes)),
      (e) => e instanceof XdrError && message.test(e.message),
    );
  });
}

test('3 random bytes never throw anything but XdrError (20,000 cases)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const r = new XdrReader(Buffer.from(bytes));
      try {
        r.string(16, 'a');
        r.array(4, 'b', () => r.uint64('c'));
        r.optional('d', () => r.opaque(8, 'e'));
        r.end('f');
      } catch (e) {
        if (!(e instanceof XdrError)) throw e;
      }
    }),
    { numRuns: 20_000 },
  );
});

test('4 headroom: the encoding after room for a framing header, in one buffer while contiguous', () => {
  // Grows past its first buffer (8 bytes): the headroom moves with it.
  const w = new XdrWriter(8, 4);
  w.uint32(1).uint64(2n).string('three');
  const chunks = w.toChunks();
  equal(chunks.length, 1);
  const framed = w.framed();
  equal(framed?.length, 4 + chunks[0]!.length);
  deepEqual(framed?.subarray(4), chunks[0], 'the encoding follows the headroom');
  equal(framed?.buffer, chunks[0]!.buffer, 'the same memory: no copy');
  // Data appended by reference splits the encoding: no single buffer then.
  const split = new XdrWriter(64, 4).uint32(1).opaqueByRef(Buffer.from('data'));
  split.toChunks();
  equal(split.framed(), undefined);
  equal(new XdrWriter(64).uint32(1).framed(), undefined, 'no headroom asked for');
});
