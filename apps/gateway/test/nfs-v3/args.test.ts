import { equal, ok, rejects } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { XdrError } from '../../src/protocols/xdr/errors.ts';
import { goldenArgs, Harness } from './golden.ts';
import { A, encode } from './wire.ts';

describe('argument decoding: malformed XDR is an XdrError (GARBAGE_ARGS), never a reply or a crash', () => {
  let h: Harness;
  let golden: Awaited<ReturnType<typeof goldenArgs>>;
  before(async () => {
    h = await Harness.open();
    golden = await goldenArgs(h);
  });
  after(() => h.close());

  test('1 every golden argument set is accepted and every procedure number 0–21 answers', async () => {
    const procs = new Set<number>();
    for (const g of golden) {
      const body = await h.raw(g.proc, g.args);
      ok(g.proc === 0 ? body.length === 0 : body.length >= 4, g.name);
      procs.add(g.proc);
    }
    equal(procs.size, 22);
    equal(h.program.procedures(3)!.size, 22);
    equal(h.program.procedures(2), undefined);
  });

  test('2 each strict prefix of each golden encoding is refused with an XdrError naming a field', async () => {
    let cases = 0;
    for (const g of golden) {
      for (let len = 0; len < g.args.length; len += g.args.length > 200 ? 3 : 1) {
        await rejects(h.raw(g.proc, g.args.subarray(0, len)), (e: XdrError) => {
          ok(e instanceof XdrError, `${g.name} cut at ${len}: ${String(e)}`);
          ok(e.field.length > 0);
          return true;
        });
        cases++;
      }
    }
    ok(cases > 500);
  });

  test('3 trailing bytes after any golden encoding are refused', async () => {
    for (const g of golden) {
      await rejects(h.raw(g.proc, Buffer.concat([g.args, Buffer.alloc(4)])), XdrError, g.name);
    }
  });

  const root = () => h.root();
  const cases: Array<[number, string, () => Promise<Buffer>, RegExp]> = [
    [
      8,
      'bad createmode',
      async () => encode((w) => w.opaque(Buffer.alloc(40)).string('x').uint32(3)),
      /how\.mode/,
    ],
    [
      7,
      'bad stable_how',
      async () =>
        encode((w) => w.opaque(Buffer.alloc(40)).uint64(0n).uint32(1).uint32(3).opaque(Buffer.from('x'))),
      /stable/,
    ],
    [
      2,
      'bad time_how',
      async () =>
        encode((w) => {
          w.opaque(Buffer.alloc(40)).bool(false).bool(false).bool(false).bool(false).uint32(7);
        }),
      /atime/,
    ],
    [2, 'boolean 2', async () => encode((w) => w.opaque(Buffer.alloc(40)).uint32(2)), /mode/],
    [
      11,
      'ftype 0',
      async () => encode((w) => w.opaque(Buffer.alloc(40)).string('n').uint32(0)),
      /what\.type/,
    ],
    [
      3,
      'non-zero padding in a name',
      async () => {
        const b = encode(A.lookup(await root(), 'abc'));
        b[b.length - 1] = 1;
        return b;
      },
      /name/,
    ],
    [1, 'handle longer than 64', async () => encode((w) => w.opaque(Buffer.alloc(65))), /object/],
    [
      7,
      'WRITE data over wtmax',
      async () =>
        encode((w) =>
          w
            .opaque(Buffer.alloc(40))
            .uint64(0n)
            .uint32(1)
            .uint32(0)
            .uint32(5 << 20),
        ),
      /data/,
    ],
  ];
  for (const [i, [proc, what, build, field]] of cases.entries()) {
    test(`${4 + i} ${what} is an XdrError naming the field`, async () => {
      await rejects(
        h.raw(proc, await build()),
        (e: XdrError) => e instanceof XdrError && field.test(e.message),
      );
    });
  }
});
