import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { test } from 'node:test';
import { AckLedger, judge, type NameRecord, type Pending, versionBytes } from './ledger.ts';

const A = versionBytes('t.a', 100);
const B = versionBytes('t.b', 60);
const W = versionBytes('t.w', 30);

const object = (acked: Buffer | null, pending: Pending[] = []): NameRecord => ({
  key: 's3/k',
  protocol: 's3',
  acked,
  pending,
});
const file = (acked: Buffer | null, pending: Pending[] = []): NameRecord => ({
  key: 'nfs/f',
  protocol: 'nfs',
  acked,
  pending,
});

const withByte = (b: Buffer, at: number, value: number): Buffer => {
  const c = Buffer.from(b);
  c[at] = value;
  return c;
};
/** A with W written at 90: bytes 90..119, size 120. */
const extended = Buffer.concat([A.subarray(0, 90), W]);

test('1 the rules a name must satisfy after a crash, row by row', () => {
  const rows: Array<[number, string, NameRecord, Buffer | null, RegExp | undefined]> = [
    [1, 'object as acknowledged', object(A), A, undefined],
    [2, 'acknowledged object lost', object(A), null, /acknowledged .* is gone/],
    [
      23,
      'acknowledged object lost while overwriting',
      object(A, [{ op: 'put', data: B }]),
      null,
      /acknowledged object .* is gone/,
    ],
    [3, 'pending PUT applied', object(A, [{ op: 'put', data: B }]), B, undefined],
    [4, 'pending PUT not applied', object(A, [{ op: 'put', data: B }]), A, undefined],
    [5, 'pending PUT half visible', object(A, [{ op: 'put', data: B }]), B.subarray(0, 30), /holds 30 B/],
    [
      6,
      'object mixing old and new',
      object(A, [{ op: 'put', data: B }]),
      withByte(B, 40, A[40]!),
      /at byte 40/,
    ],
    [7, 'pending DELETE applied', object(A, [{ op: 'delete' }]), null, undefined],
    [8, 'first PUT not applied', object(null, [{ op: 'put', data: B }]), null, undefined],
    [9, 'file as acknowledged', file(A), A, undefined],
    [10, 'acknowledged file lost', file(A), null, /acknowledged file .* is gone/],
    [11, 'acknowledged file shortened', file(A), A.subarray(0, 64), /size 64 is neither/],
    [12, 'a flipped byte', file(A), withByte(A, 50, A[50]! ^ 1), /byte 50 .* not the acknowledged/],
    [13, 'pending write applied', file(A, [{ op: 'write', offset: 90, data: W }]), extended, undefined],
    [
      14,
      'pending write partly applied (first half)',
      file(A, [{ op: 'write', offset: 90, data: W }]),
      Buffer.concat([A.subarray(0, 90), W.subarray(0, 15), Buffer.alloc(15)]),
      undefined,
    ],
    [
      15,
      'foreign byte inside a pending write',
      file(A, [{ op: 'write', offset: 90, data: W }]),
      withByte(extended, 100, W[10]! ^ 0x55),
      /byte 100 .* nor from a write in flight/,
    ],
    [16, 'pending remove applied', file(A, [{ op: 'delete' }]), null, undefined],
    [
      17,
      'pending create applied, nothing written',
      file(null, [{ op: 'create' }]),
      Buffer.alloc(0),
      undefined,
    ],
    [18, 'a file nobody created', file(null), B, /nobody acknowledged or began to create/],
    [
      19,
      'truncate then rewrite, only the second piece there (a hole of zeros)',
      file(A, [
        { op: 'truncate', size: 0 },
        { op: 'write', offset: 0, data: B.subarray(0, 30) },
        { op: 'write', offset: 30, data: B.subarray(30) },
      ]),
      Buffer.concat([Buffer.alloc(30), B.subarray(30)]),
      undefined,
    ],
    [
      20,
      'the file shrank, so the truncate was applied: no old byte survives it',
      file(A, [
        { op: 'truncate', size: 0 },
        { op: 'write', offset: 0, data: B },
      ]),
      Buffer.concat([B.subarray(0, 50), A.subarray(50, 60)]),
      /byte 50 .* not the zero/,
    ],
    [
      22,
      'truncate and rewrite not applied at all',
      file(A, [
        { op: 'truncate', size: 0 },
        { op: 'write', offset: 0, data: B },
      ]),
      A,
      undefined,
    ],
    [
      21,
      'a size no operation sets',
      file(A, [{ op: 'write', offset: 90, data: W }]),
      A.subarray(0, 95),
      /size 95/,
    ],
  ];
  for (const [row, what, rec, seen, expected] of rows) {
    const why = judge(rec, seen);
    if (expected === undefined) equal(why, undefined, `row ${row} (${what}): ${why}`);
    else {
      ok(why !== undefined, `row ${row} (${what}) passed`);
      match(why, expected, `row ${row} (${what})`);
    }
  }
});

test('2 a rename is judged on both names: done or not done, never half', () => {
  const setup = () => {
    const l = new AckLedger();
    for (const [key, data] of [
      ['nfs/a', A],
      ['nfs/b', B],
    ] as const) {
      l.begin(key, 'nfs', { op: 'create' });
      l.begin(key, 'nfs', { op: 'write', offset: 0, data });
      l.ack(key);
    }
    l.beginRename('nfs/a', 'nfs/b', 'nfs');
    return l;
  };
  const cases: Array<[number, Buffer | null, Buffer | null, RegExp | undefined]> = [
    [1, null, A, undefined],
    [2, A, B, undefined],
    [3, null, B, /half done: the source is gone but the target holds 60 B/],
    [4, A, A, /nfs\/b \(rename from nfs\/a not applied\)/],
    [5, null, null, /half done/],
  ];
  for (const [row, a, b, expected] of cases) {
    const problems = setup().judgeAll(
      new Map([
        ['nfs/a', a],
        ['nfs/b', b],
      ]),
    );
    if (expected === undefined) deepEqual(problems, [], `row ${row}`);
    else
      ok(
        problems.some((p) => expected.test(p)),
        `row ${row}: ${problems.join('; ')}`,
      );
  }
});

test('3 the ledger folds acknowledged operations, counts acknowledgements, and settles on what was seen', () => {
  const l = new AckLedger();
  l.begin('smb/f', 'smb', { op: 'create' });
  l.begin('smb/f', 'smb', { op: 'write', offset: 0, data: W });
  equal(l.current('smb/f'), null, 'nothing durable before the FLUSH');
  equal(l.inFlight(), 1);
  l.ack('smb/f');
  deepEqual(l.current('smb/f'), W);
  l.ack('smb/f');
  deepEqual(l.acks, { s3: 0, nfs: 0, smb: 1 }, 'a CLOSE with nothing pending is no new acknowledgement');
  l.begin('smb/f', 'smb', { op: 'write', offset: 30, data: W });
  deepEqual(l.judgeAll(new Map([['smb/f', W]])), []);
  l.settle(new Map([['smb/f', W]]));
  equal(l.inFlight(), 0);
  deepEqual(l.acks, { s3: 0, nfs: 0, smb: 0 });
  deepEqual(l.current('smb/f'), W);
});

test('4 version bytes name their version and are the same for the same tag', () => {
  const v = versionBytes('nfs.w1.s7', 4096);
  equal(v.subarray(0, v.indexOf(0x0a)).toString(), 'cfs-crash nfs.w1.s7 4096');
  ok(v.equals(versionBytes('nfs.w1.s7', 4096)));
  ok(!v.equals(versionBytes('nfs.w1.s8', 4096)));
  equal(versionBytes('x', 5).length, 5);
});
