import { ok } from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { XdrError } from '../../src/protocols/xdr/errors.ts';
import type { XdrReader } from '../../src/protocols/xdr/reader.ts';
import { fuzzCases, fuzzSeed, runFuzz } from '../support/fuzz.ts';
import { goldenArgs, Harness } from './golden.ts';
import { decodeReply, R } from './wire.ts';

const REPLY: Record<number, (r: XdrReader) => unknown> = {
  0: () => undefined,
  1: R.getattr,
  2: R.wccOnly,
  3: R.lookup,
  4: R.access,
  5: R.readlink,
  6: R.read,
  7: R.write,
  8: R.newObject,
  9: R.newObject,
  10: R.newObject,
  11: R.newObject,
  12: R.wccOnly,
  13: R.wccOnly,
  14: R.rename,
  15: R.link,
  16: R.readdir,
  17: R.readdirplus,
  18: R.fsstat,
  19: R.fsinfo,
  20: R.pathconf,
  21: R.commit,
};

const SERVERFAULT = 10006;
const IO = 5;
const INTERESTING = [0, 1, 2, 3, 7, 8, 40, 63, 64, 65, 255, 256, 4096, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff];

type Mutation =
  | { kind: 'flip'; at: number; bits: number }
  | { kind: 'word'; at: number; value: number }
  | { kind: 'cut'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array };

/** Unbiased: fast-check favours small integers, which would pile every mutation on the first bytes. */
const position = fc.noBias(fc.nat({ max: 1 << 20 }));

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: position, bits: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('word' as const), at: position, value: fc.constantFrom(...INTERESTING) }),
  fc.record({ kind: fc.constant('cut' as const), at: position }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: position,
    bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }),
  }),
);

function apply(buf: Buffer, m: Mutation): Buffer {
  if (buf.length === 0) return m.kind === 'insert' ? Buffer.from(m.bytes) : buf;
  const at = m.at % buf.length;
  switch (m.kind) {
    case 'flip': {
      const b = Buffer.from(buf);
      b[at] = b[at]! ^ m.bits;
      return b;
    }
    case 'word': {
      const b = Buffer.from(buf);
      const word = at - (at % 4);
      if (word + 4 <= b.length) b.writeUInt32BE(m.value, word);
      return b;
    }
    case 'cut':
      return buf.subarray(0, at);
    case 'insert':
      return Buffer.concat([buf.subarray(0, at), m.bytes, buf.subarray(at)]);
  }
}

let h: Harness;
let golden: Awaited<ReturnType<typeof goldenArgs>>;

before(async () => {
  h = await Harness.open();
  golden = await goldenArgs(h);
});
after(() => h.close());

const CASES = fuzzCases(20_000);

test(`1 ${CASES} mutated golden arguments: a well-formed reply or an XdrError, nothing else`, async () => {
  let replies = 0;
  let garbage = 0;
  const statuses = new Map<number, number>();
  const seed = fuzzSeed('nfs-v3 arguments');
  await runFuzz('NFSv3 arguments', CASES, () =>
    fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.array(mutation, { minLength: 1, maxLength: 2 }),
        fc.constantFrom(undefined, { flavor: 'none' as const }),
        async (pick, mutations, cred) => {
          const g = golden[pick % golden.length]!;
          const args = mutations.reduce(apply, g.args);
          let body: Buffer;
          try {
            body = await h.raw(g.proc, args, cred ? { cred } : {});
          } catch (e) {
            if (!(e instanceof XdrError)) throw e;
            garbage++;
            return true;
          }
          decodeReply(body, REPLY[g.proc]!);
          const status = body.length >= 4 ? body.readUInt32BE(0) : 0;
          // SERVERFAULT: an exception the status table does not know. IO: a backend failure, which
          // counts toward opening a circuit — bad arguments must never reach a backend as one.
          ok(
            status !== SERVERFAULT && status !== IO,
            `${g.name} answered ${status} for ${args.toString('hex')}`,
          );
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          replies++;
          return true;
        },
      ),
      { numRuns: CASES, seed },
    ),
  );
  // Shares of the cases, as a 20,000-case run gives them (any seed): a fifth at least each.
  ok(replies > CASES / 5, `${replies} replies`);
  ok(garbage > CASES / 5, `${garbage} XdrErrors`);
  ok((statuses.get(0) ?? 0) > CASES / 40, 'many mutations still reach the namespace and succeed');
  ok(statuses.size > 8, 'the mutations reach many different statuses');
});
