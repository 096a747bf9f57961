import { deepEqual, equal, ok } from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { STREAM_CHUNK, STREAM_XATTR_PREFIX, streamChunkKey } from '../../src/storage/annotations.ts';
import type { LocalBlobStore } from '../../src/storage/data/local-blobs.ts';
import { LOOP_WRITE_WAITING_MS, LoopWrites } from '../../src/storage/data/loop-writes.ts';
import { fsError } from '../../src/storage/errors.ts';
import type { LedgerGate } from '../../src/storage/ledger-gate.ts';
import { openNamespace } from '../../src/storage/open.ts';
import { type Attributes, ROOT } from '../../src/storage/types.ts';
import { holdNextCall, signal } from '../support/signal.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { waitFor } from '../support/wait.ts';
import { ALICE, BOB, type Fixture, openFixture, rejectsWith } from './fixture.ts';

function blobCount(dir: string): number {
  let n = 0;
  for (const shard of readdirSync(join(dir, 'data'))) n += readdirSync(join(dir, 'data', shard)).length;
  return n;
}

describe('file data', () => {
  let fx: Fixture;
  let exp: bigint;
  let limitBytes = 1n << 62n;
  /** Refuses the charges it returns true for (after the limit's check). */
  let refuse: ((addBytes: bigint) => boolean) | undefined;
  const gate: LedgerGate = {
    check(c) {
      const u = c.usage('uid', c.uid);
      if (u.bytes + c.addBytes > limitBytes || refuse?.(c.addBytes))
        throw fsError('EDQUOT', 'hard quota exceeded');
    },
  };
  before(async () => {
    fx = await openFixture({ gate });
    exp = (await fx.ns.ensureDirectory('/export', 0o1777)).ino;
  });
  after(() => fx.ns.close());

  test('1 writes at any offset; holes read as zeros; eof is reported', async () => {
    const f = await fx.ns.create(ALICE, exp, 'sparse', 0o644);
    await fx.ns.write(ALICE, f.ino, 1_000_000n, Buffer.from('tail'));
    const a = await fx.ns.getattr(f.ino);
    equal(a.size, 1_000_004n);
    const head = await fx.ns.read(ALICE, f.ino, 0n, 16);
    deepEqual(head.data, Buffer.alloc(16));
    equal(head.eof, false);
    const tail = await fx.ns.read(ALICE, f.ino, 999_998n, 100);
    deepEqual(tail.data, Buffer.concat([Buffer.alloc(2), Buffer.from('tail')]));
    equal(tail.eof, true);
    const past = await fx.ns.read(ALICE, f.ino, 5_000_000n, 10);
    equal(past.data.length, 0);
    equal(past.eof, true);
  });

  test('2 truncate shrinks, then extending reads zeros where the old bytes were', async () => {
    const f = await fx.ns.create(ALICE, exp, 'trunc', 0o644);
    await fx.ns.write(ALICE, f.ino, 0n, Buffer.from('abcdefghij'));
    await fx.ns.setattr(ALICE, f.ino, { size: 3n });
    await fx.ns.setattr(ALICE, f.ino, { size: 8n });
    deepEqual((await fx.ns.read(ALICE, f.ino, 0n, 100)).data, Buffer.from('abc\0\0\0\0\0'));
    await fx.ns.write(ALICE, f.ino, 10n, Buffer.from('Z'));
    deepEqual((await fx.ns.read(ALICE, f.ino, 0n, 100)).data, Buffer.from('abc\0\0\0\0\0\0\0Z'));
  });

  const badIo: Array<[number, string, () => Promise<unknown>, string]> = [
    [1, 'negative write offset', () => fx.ns.write(ALICE, ino, -1n, Buffer.from('x')), 'EINVAL'],
    [2, 'negative read offset', () => fx.ns.read(ALICE, ino, -5n, 1), 'EINVAL'],
    [
      3,
      'write past the maximum file size',
      () => fx.ns.write(ALICE, ino, (1n << 44n) - 1n, Buffer.from('xy')),
      'EFBIG',
    ],
    [4, 'truncate past the maximum file size', () => fx.ns.setattr(ALICE, ino, { size: 1n << 50n }), 'EFBIG'],
    [5, 'negative size', () => fx.ns.setattr(ALICE, ino, { size: -1n }), 'EINVAL'],
    [6, 'read of a directory', () => fx.ns.read(ALICE, exp, 0n, 1), 'EISDIR'],
    [7, 'write to a directory', () => fx.ns.write(ALICE, exp, 0n, Buffer.from('x')), 'EISDIR'],
    [8, 'huge read length', () => fx.ns.read(ALICE, ino, 0n, 2 ** 31), 'EINVAL'],
  ];
  let ino = 0n;
  for (const [row, what, call, code] of badIo) {
    test(`3.${row} ${what} is ${code} and changes nothing`, async () => {
      if (ino === 0n) {
        ino = (await fx.ns.create(ALICE, exp, 'victim', 0o644)).ino;
        await fx.ns.write(ALICE, ino, 0n, Buffer.from('intact'));
      }
      await rejectsWith(call(), code);
      const a = await fx.ns.getattr(ino);
      equal(a.size, 6n);
      equal((await fx.ns.read(ALICE, ino, 0n, 100)).data.toString(), 'intact');
    });
  }

  test('4 the ledger follows writes, truncates, chown and removal per uid and gid', async () => {
    const before = await fx.ns.quotaUsage('uid', 4000);
    equal(before.bytes, 0n);
    const f = await fx.ns.create({ uid: 4000, gid: 4001, gids: [] }, exp, 'ledger', 0o644);
    await fx.ns.write(ROOT, f.ino, 0n, Buffer.alloc(1000));
    await fx.ns.write(ROOT, f.ino, 500n, Buffer.alloc(100));
    deepEqual(await fx.ns.quotaUsage('uid', 4000), { kind: 'uid', id: 4000, bytes: 1000n, inodes: 1n });
    deepEqual(await fx.ns.quotaUsage('gid', 4001), { kind: 'gid', id: 4001, bytes: 1000n, inodes: 1n });
    await fx.ns.setattr(ROOT, f.ino, { size: 400n });
    equal((await fx.ns.quotaUsage('uid', 4000)).bytes, 400n);
    await fx.ns.setattr(ROOT, f.ino, { uid: 4002 });
    deepEqual(await fx.ns.quotaUsage('uid', 4000), { kind: 'uid', id: 4000, bytes: 0n, inodes: 0n });
    equal((await fx.ns.quotaUsage('uid', 4002)).bytes, 400n);
    await fx.ns.remove(ROOT, exp, 'ledger');
    deepEqual(await fx.ns.quotaUsage('uid', 4002), { kind: 'uid', id: 4002, bytes: 0n, inodes: 0n });
    equal((await fx.ns.quotaUsage('gid', 4001)).inodes, 0n);
  });

  test('5 a refused charge (EDQUOT) writes nothing: size, bytes and ledger unchanged', async () => {
    const f = await fx.ns.create(ALICE, exp, 'quota', 0o644);
    await fx.ns.write(ALICE, f.ino, 0n, Buffer.from('0123456789'));
    const used = (await fx.ns.quotaUsage('uid', 1000)).bytes;
    limitBytes = used + 5n;
    try {
      await rejectsWith(fx.ns.write(ALICE, f.ino, 10n, Buffer.alloc(100, 1)), 'EDQUOT');
      await rejectsWith(fx.ns.setattr(ALICE, f.ino, { size: 1000n }), 'EDQUOT');
      equal((await fx.ns.getattr(f.ino)).size, 10n);
      equal((await fx.ns.quotaUsage('uid', 1000)).bytes, used);
      // Overwriting inside the file needs no new bytes, so it is allowed.
      await fx.ns.write(ALICE, f.ino, 0n, Buffer.from('ABC'));
      // Extending afterwards must not reveal anything of the refused write.
      limitBytes = 1n << 62n;
      await fx.ns.setattr(ALICE, f.ino, { size: 20n });
      deepEqual(
        (await fx.ns.read(ALICE, f.ino, 0n, 100)).data,
        Buffer.concat([Buffer.from('ABC3456789'), Buffer.alloc(10)]),
      );
    } finally {
      limitBytes = 1n << 62n;
    }
  });

  test('5a a write refused while others are in flight: its bytes past the end are cleared once they end', async () => {
    const f = await fx.ns.create(ALICE, exp, 'refused-among-others', 0o644);
    await fx.ns.write(ALICE, f.ino, 0n, Buffer.alloc(64 * 1024, 0x2e));
    // The far write's charge passes its pre-check and is refused when the write is recorded.
    let asked = 0;
    refuse = (addBytes) => addBytes === 100_000n && ++asked === 2;
    try {
      const near = (i: number) => fx.ns.write(ALICE, f.ino, BigInt(i * 8192), Buffer.alloc(8192, 0x41 + i));
      const results = await Promise.allSettled([
        near(0),
        near(1),
        near(2),
        fx.ns.write(ALICE, f.ino, 65_536n + 100_000n - 4096n, Buffer.alloc(4096, 0x66)),
        near(3),
        near(4),
        near(5),
      ]);
      deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled'],
      );
    } finally {
      refuse = undefined;
    }
    equal((await fx.ns.getattr(f.ino)).size, 65_536n);
    await fx.ns.setattr(ALICE, f.ino, { size: 200_000n });
    const seen = (await fx.ns.read(ALICE, f.ino, 0n, 200_000)).data;
    for (let i = 0; i < 6; i++)
      deepEqual(seen.subarray(i * 8192, (i + 1) * 8192), Buffer.alloc(8192, 0x41 + i));
    deepEqual(seen.subarray(6 * 8192, 65_536), Buffer.alloc(65_536 - 6 * 8192, 0x2e));
    deepEqual(seen.subarray(65_536), Buffer.alloc(200_000 - 65_536), 'nothing of the refused write');
  });

  test('5b a truncate while a write past its new end is in flight: the file ends as one order or the other, never the write’s size with zeros', async () => {
    const f = await fx.ns.create(ALICE, exp, 'truncated-under-a-write', 0o644);
    await fx.ns.write(ALICE, f.ino, 0n, Buffer.alloc(64 * 1024, 0x2e));
    // The write's bytes are in the blob; its record waits until the truncate went as far as it can.
    const recording = holdNextCall(fx.ns.meta, 'recordWrite');
    const tail = Buffer.alloc(4096, 0x77);
    const write = fx.ns.write(ALICE, f.ino, 100_000n, tail, 'file');
    await recording.reached;
    const truncate = fx.ns.setattr(ALICE, f.ino, { size: 10n });
    // Done, or waiting for the write: given time either way, never asserted on.
    await Promise.race([truncate, new Promise((r) => setTimeout(r, 300))]);
    recording.release();
    await Promise.all([write, truncate]);
    const { size } = await fx.ns.getattr(f.ino);
    const seen = (await fx.ns.read(ALICE, f.ino, 0n, 200_000)).data;
    if (size === 10n) deepEqual(seen, Buffer.alloc(10, 0x2e), 'the write, then the truncate');
    else {
      equal(size, 104_096n, 'the truncate, then the write');
      deepEqual(seen.subarray(0, 10), Buffer.alloc(10, 0x2e));
      deepEqual(seen.subarray(10, 100_000), Buffer.alloc(100_000 - 10));
      deepEqual(seen.subarray(100_000), tail, 'the write’s bytes');
    }
  });

  test('5c a write waiting on another write’s clearing that fails checks again itself: it is not handed the other’s error', async () => {
    const f = await fx.ns.create(ALICE, exp, 'cleared-under-a-write', 0o644);
    await fx.ns.write(ALICE, f.ino, 0n, Buffer.from('kept'));
    const data = fx.ns.data as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const [write, prepareWrite] = [data.write!, data.prepareWrite!];
    const ioError = () => Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO', errno: -5 });
    // The first write's bytes fail to reach the disk; the clearing after it fails too, once
    // the second write is waiting for it.
    const clearing = signal();
    const failClearing = signal();
    data.write = async () => {
      data.write = write;
      throw ioError();
    };
    data.prepareWrite = async () => {
      data.prepareWrite = prepareWrite;
      clearing.fire();
      await failClearing.promise;
      throw ioError();
    };
    try {
      await rejectsWith(fx.ns.write(ALICE, f.ino, 4n, Buffer.from('lost')), 'EIO');
      await clearing.promise;
      const second = fx.ns.write(ALICE, f.ino, 4n, Buffer.from('+new'));
      // Given time to reach the clearing and wait on it; never asserted on.
      await new Promise((r) => setTimeout(r, 50));
      failClearing.fire();
      equal((await second).size, 8n, 'the second write is done, not failed with the first’s EIO');
    } finally {
      Object.assign(data, { write, prepareWrite });
    }
    equal((await fx.ns.read(ALICE, f.ino, 0n, 64)).data.toString(), 'kept+new');
  });

  test('6 removing the last link deletes the blob file', async () => {
    const f = await fx.ns.create(ALICE, exp, 'blobbed', 0o644);
    await fx.ns.write(ALICE, f.ino, 0n, Buffer.from('data'));
    const path = (fx.ns.data as LocalBlobStore).pathOf(f.ino);
    ok(existsSync(path));
    await fx.ns.remove(ALICE, exp, 'blobbed');
    await fx.ns.close();
    ok(!existsSync(path));
    await fx.reopen();
  });

  test('6b a blob whose deletion failed (the data store out of reach) is deleted again once it answers, without a restart', async () => {
    const f = await fx.ns.create(ALICE, exp, 'retried', 0o644);
    await fx.ns.write(ALICE, f.ino, 0n, Buffer.from('data'));
    const data = fx.ns.data as LocalBlobStore;
    const path = data.pathOf(f.ino);
    const { remove } = data;
    let refused = 0;
    Object.assign(data, {
      remove: () => {
        refused++;
        return Promise.reject(fsError('EIO', 'injected: the data store is out of reach'));
      },
    });
    try {
      await fx.ns.remove(ALICE, exp, 'retried');
      await waitFor(() => refused > 0, 'the deletion to be tried', 5_000);
      deepEqual(await fx.ns.meta.pendingGc(), [f.ino], 'queued, not forgotten');
      ok(existsSync(path));
    } finally {
      Object.assign(data, { remove });
    }
    // Tried again on its own (5 s after the failure), not at the next start.
    await waitFor(
      async () => (await fx.ns.meta.pendingGc()).length === 0,
      'the queued blob to be deleted',
      20_000,
    );
    ok(!existsSync(path), 'the blob file is gone');
  });

  test('7 detached upload + compose: the new file is the parts in order, no bytes copied, linked atomically over the old', async () => {
    const ns = fx.ns;
    const blobsBefore = blobCount(fx.dir);
    const parts: bigint[] = [];
    const chunks = ['first-', 'second-', 'third'];
    for (const c of chunks) {
      const p = await ns.createDetached(ALICE, 0o644, 'multipart');
      await ns.write(ALICE, p.ino, 0n, Buffer.from(c));
      parts.push(p.ino);
    }
    equal(blobCount(fx.dir), blobsBefore + 3);
    const old = await ns.create(ALICE, exp, 'object', 0o644);
    await ns.write(ALICE, old.ino, 0n, Buffer.from('previous'));
    const composed = await ns.compose(ALICE, parts, 'upload');
    equal(composed.size, BigInt(chunks.join('').length));
    const linked = await ns.linkDetached(ALICE, composed.ino, exp, 'object', true);
    equal((await ns.lookup(ALICE, exp, 'object')).ino, linked.ino);
    equal((await ns.read(ALICE, linked.ino, 0n, 100)).data.toString(), 'first-second-third');
    equal((await ns.read(ALICE, linked.ino, 4n, 6)).data.toString(), 't-seco');
    // The three part blobs are the object's data now; the old object's blob is gone.
    await ns.close();
    equal(blobCount(fx.dir), blobsBefore + 3);
    const again = await fx.reopen();
    // Overwriting the middle of a composed file and truncating it keep the layout coherent.
    await again.write(ALICE, linked.ino, 3n, Buffer.from('ST'));
    equal((await again.read(ALICE, linked.ino, 0n, 100)).data.toString(), 'firST-second-third');
    await again.setattr(ALICE, linked.ino, { size: 8n });
    await again.setattr(ALICE, linked.ino, { size: 10n });
    deepEqual((await again.read(ALICE, linked.ino, 0n, 100)).data, Buffer.from('firST-se\0\0'));
    equal((await again.quotaUsage('uid', 1000)).inodes > 0n, true);
  });

  test('8 an upload never linked is gone after a restart (on a shared store: once an hour old)', async () => {
    const p = await fx.ns.createDetached(ALICE, 0o644, 'upload');
    await fx.ns.write(ALICE, p.ino, 0n, Buffer.from('half an upload'));
    const ns = await fx.reopen();
    if (ns.meta.kind === 'sqlite') {
      await rejectsWith(ns.getattr(p.ino), 'ESTALE');
      return;
    }
    // Another gateway node may be writing a fresh upload: a restart leaves it alone.
    equal((await ns.getattr(p.ino)).size, 14n);
    ok(ns.staleDetachedBefore() < BigInt(Date.now() - 3_000_000) * 1_000_000n);
  });

  test('9 unstable writes become durable on commit; statfs reports the data disk', async () => {
    const f = await fx.ns.create(ALICE, exp, 'unstable', 0o644);
    await fx.ns.write(ALICE, f.ino, 0n, Buffer.from('u'), 'unstable');
    await fx.ns.commit(f.ino);
    equal((await fx.ns.read(ALICE, f.ino, 0n, 1)).data.toString(), 'u');
    const s = await fx.ns.statfs();
    ok(s.totalBytes > 0n && s.availBytes <= s.totalBytes);
    ok(s.freeFiles > 0n);
  });

  test('10 write-behind: past 16 MiB written since the last flush, one starts in the background; commit waits for it and the rest', async () => {
    const store = fx.ns.data as LocalBlobStore;
    const f = await fx.ns.create(ALICE, exp, 'large', 0o644);
    // 2 MiB writes go through the page cache (from 4 MiB they may go direct: direct-io.ts).
    const chunk = Buffer.alloc(2 << 20, 0x6c);
    const before = store.writeBehindFlushes;
    for (let i = 0; i < 6; i++) await fx.ns.write(ALICE, f.ino, BigInt(i * chunk.length), chunk, 'unstable');
    equal(store.writeBehindFlushes, before, '12 MiB written: nothing flushed yet');
    for (let i = 6; i < 12; i++) await fx.ns.write(ALICE, f.ino, BigInt(i * chunk.length), chunk, 'unstable');
    equal(store.writeBehindFlushes, before + 1, '24 MiB written: one background flush');
    await fx.ns.commit(f.ino);
    const back = await fx.ns.read(ALICE, f.ino, 20n << 20n, 16);
    equal(back.data.toString(), 'l'.repeat(16));
    equal((await fx.ns.getattr(f.ino)).size, 24n << 20n);
  });

  test('10b appends of up to 1 MiB are written from the event loop, other writes on the pool; every byte reads back', async () => {
    const store = fx.ns.data as LocalBlobStore;
    const kept = store.loopWrites;
    // A clock that stands still: no write counts as slow, whatever this machine's load.
    store.loopWrites = new LoopWrites(true, () => 0);
    try {
      // Above inline_max: the file has its own blob from the first write.
      const f = await fx.ns.create(ALICE, exp, 'loop-writes', 0o644);
      const before = { ...store.loopWrites.counts };
      const pieces = [64 << 10, 1 << 20, 5000, 1 << 20].map((n, i) => Buffer.alloc(n, 0x61 + i));
      let at = 0;
      for (const p of pieces) {
        await fx.ns.write(ALICE, f.ino, BigInt(at), p, 'unstable');
        at += p.length;
      }
      equal(store.loopWrites.counts.loop - before.loop, 4, 'four appends from the loop');
      // Part of a page in the middle of the file (its old bytes may have to be read): the pool.
      await fx.ns.write(ALICE, f.ino, 100n, Buffer.from('middle'), 'unstable');
      // More than 1 MiB: the pool.
      const big = Buffer.alloc((1 << 20) + 4096, 0x7a);
      await fx.ns.write(ALICE, f.ino, BigInt(at), big, 'unstable');
      equal(store.loopWrites.counts.pool - before.pool, 2, 'two writes on the pool');
      await fx.ns.commit(f.ino);
      const expected = Buffer.concat([...pieces, big]);
      expected.write('middle', 100);
      const back = await fx.ns.read(ALICE, f.ino, 0n, expected.length + 10);
      equal(back.data.length, expected.length);
      equal(back.data.equals(expected), true, 'the file is every write in place');
    } finally {
      store.loopWrites = kept;
    }
  });

  test('10b2 while a data-store call has waited over a second (a disk that may not answer), writes go to the pool: the event loop is never held by a hung disk', async () => {
    const dir = makeTempDir('loop-hung');
    const ns = await openNamespace({
      metadataUrl: `sqlite://${dir}/meta.db`,
      transportUrl: `file://${dir}/data`,
      breaker: { failureThreshold: 5, resetTimeoutMs: 60_000, slowCallMs: 60_000 },
    });
    const store = ns.data as LocalBlobStore;
    // A clock that stands still (no write counts as slow), asking what open.ts wired.
    const w = new LoopWrites(true, () => 0);
    w.backendAnswers = store.loopWrites.backendAnswers;
    store.loopWrites = w;
    try {
      const top = (await ns.resolvePath(ROOT, '/')).ino;
      const f = await ns.create(ROOT, top, 'appended', 0o644);
      const piece = Buffer.alloc(64 << 10, 0x61);
      let at = 0n;
      const append = async (): Promise<{ loop: number; pool: number }> => {
        const before = { ...w.counts };
        await ns.write(ROOT, f.ino, at, piece, 'unstable');
        at += BigInt(piece.length);
        return { loop: w.counts.loop - before.loop, pool: w.counts.pool - before.pool };
      };
      deepEqual(await append(), { loop: 1, pool: 0 }, 'the disk answers: from the loop');
      // A call of the data store that does not answer, as on a frozen file system.
      let answer = (): void => {};
      const hung = ns.breakers.transport.run(() => new Promise<void>((r) => (answer = r)));
      await new Promise((r) => setTimeout(r, LOOP_WRITE_WAITING_MS + 100));
      deepEqual(await append(), { loop: 0, pool: 1 }, 'a call waiting over a second: on the pool');
      answer();
      await hung;
      deepEqual(await append(), { loop: 1, pool: 0 }, 'answered: from the loop again');
      equal((await ns.getattr(f.ino)).size, at);
    } finally {
      await ns.close();
    }
  });

  test('10c a write after a write to the same file asks the metadata store nothing first, and still refuses whom it must', async () => {
    const f = await fx.ns.create(ALICE, exp, 'rewritten', 0o644);
    await fx.ns.write(ALICE, f.ino, 0n, Buffer.alloc(64 << 10, 0x31), 'unstable');
    // SQLite: cached as that write's commit left it, so no content annotation can be current,
    // and an overwrite grows nothing the quota gate would have to see. (PostgreSQL commits
    // concurrently: the cache drops what a commit touched, and the store is asked.)
    const cachedByCommit = fx.ns.meta.kind === 'sqlite';
    let before = fx.ns.meta.statements;
    await fx.ns.write(ALICE, f.ino, 4096n, Buffer.alloc(4096, 0x32), 'unstable');
    if (cachedByCommit) {
      equal(fx.ns.meta.statements - before, 2, 'only the accounting: its row, locked, and its update');
    }
    // Another user, without write permission, is refused from the same cached attributes.
    before = fx.ns.meta.statements;
    await rejectsWith(fx.ns.write(BOB, f.ino, 0n, Buffer.from('bob')), 'EACCES');
    if (cachedByCommit) equal(fx.ns.meta.statements, before, 'refused before anything was asked or written');
    const back = (await fx.ns.read(ALICE, f.ino, 0n, 64 << 10)).data;
    equal(back.subarray(0, 4096).toString(), '1'.repeat(4096));
    equal(back.subarray(4096, 8192).toString(), '2'.repeat(4096));
    equal(back.length, 64 << 10);
  });

  test('11 small files are served from memory once read; every write, truncate, removal and change by another node is seen', async () => {
    const store = fx.ns.data as LocalBlobStore;
    const read = async (ino: bigint) => (await fx.ns.read(ALICE, ino, 0n, 1 << 20)).data.toString();
    const f = await fx.ns.create(ALICE, exp, 'small', 0o644);
    await fx.ns.write(ALICE, f.ino, 0n, Buffer.from('hello'));
    const held = store.smallFiles.bytes;
    const { hits, misses } = store.smallFiles;
    equal(await read(f.ino), 'hello');
    equal(store.smallFiles.bytes, held + 5, 'the 5 bytes are held after the first read');
    equal(store.smallFiles.misses, misses + 1, 'the first read went to the disk');
    equal(await read(f.ino), 'hello');
    equal(store.smallFiles.hits, hits + 1, 'the second came from memory');
    // What a caller does to the bytes it got is not served back to the next reader.
    (await fx.ns.read(ALICE, f.ino, 0n, 5)).data.fill(0x78);
    equal(await read(f.ino), 'hello');
    await fx.ns.write(ALICE, f.ino, 1n, Buffer.from('E'));
    equal(await read(f.ino), 'hEllo');
    await fx.ns.setattr(ALICE, f.ino, { size: 2n });
    equal(await read(f.ino), 'hE');
    // A read while the store's write is under way (its pwrite on the thread pool) may see old
    // or new bytes; one after it sees the write. A file written in place has its inode's blob.
    await fx.ns.write(ALICE, f.ino, 2n, Buffer.from('llo!'));
    const writing = store.write(f.ino, 5, Buffer.from('?'));
    ok(['hEllo!', 'hEllo?'].includes((await store.read(f.ino, 0, 6)).toString()), 'old or new bytes');
    await writing;
    equal((await store.read(f.ino, 0, 6)).toString(), 'hEllo?');
    await fx.ns.write(ALICE, f.ino, 5n, Buffer.from('!'));
    equal(await read(f.ino), 'hEllo!');
    equal(store.smallFiles.bytes, held + 6);
    await fx.ns.remove(ALICE, exp, 'small');
    // The blob goes once the removal is durable, a moment after the call returns.
    for (const until = Date.now() + 10_000; store.smallFiles.bytes !== held && Date.now() < until; )
      await new Promise((r) => setTimeout(r, 10));
    equal(store.smallFiles.bytes, held, 'nothing held for a removed file');
    // Another node sharing the data directory rewrote a blob: told so, the store forgets it.
    const shared = await fx.ns.create(ALICE, exp, 'shared', 0o644);
    await fx.ns.write(ALICE, shared.ino, 0n, Buffer.from('mine'));
    equal((await store.read(shared.ino, 0, 100)).toString(), 'mine');
    writeFileSync(store.pathOf(shared.ino), 'theirs, longer');
    equal((await store.read(shared.ino, 0, 100)).toString(), 'mine', 'held until told');
    store.invalidate(shared.ino);
    equal((await store.read(shared.ino, 0, 100)).toString(), 'theirs, longer');
    store.invalidate();
    equal(store.smallFiles.bytes, 0, 'invalidating everything drops every copy');
    // Files over 1 MiB are read from the disk each time.
    const big = await fx.ns.create(ALICE, exp, 'not-small', 0o644);
    await fx.ns.write(ALICE, big.ino, 0n, Buffer.alloc((1 << 20) + 1, 0x62));
    equal((await read(big.ino)).length, 1 << 20);
    equal(store.smallFiles.bytes, 0);
  });

  test('12 files up to 1 MiB are held too: read once for concurrent readers, handed out uncopied to a shared read, a change during the read not kept', async () => {
    const store = fx.ns.data as LocalBlobStore;
    store.invalidate();
    const f = await fx.ns.create(ALICE, exp, 'one-mib', 0o644);
    const bytes = Buffer.alloc(1 << 20, 0x31);
    await fx.ns.write(ALICE, f.ino, 0n, bytes);
    const { misses } = store.smallFiles;
    // Two readers of the cold file: one read from the disk (on the thread pool) serves both —
    // the second joins it, or on a loaded machine finds its copy already held (a hit).
    const [a, b] = await Promise.all([
      fx.ns.read(ALICE, f.ino, 0n, 1 << 20, { shared: true }),
      fx.ns.read(ALICE, f.ino, 0n, 1 << 20, { shared: true }),
    ]);
    ok(a.data.equals(bytes) && b.data.equals(bytes));
    equal(store.smallFiles.misses, misses + 1, 'one read from the disk');
    equal(store.smallFiles.bytes, 1 << 20);
    const { hits } = store.smallFiles;
    const c = await fx.ns.read(ALICE, f.ino, 10n, 100, { shared: true });
    equal(store.smallFiles.hits, hits + 1, 'served from the held copy');
    equal(c.data.buffer, a.data.buffer, 'a shared read is a view of the held copy');
    equal(c.data.byteOffset, a.data.byteOffset + 10);
    // A read that copies gives the caller its own bytes.
    const own = await fx.ns.read(ALICE, f.ino, 0n, 16);
    own.data.fill(0x78);
    equal((await fx.ns.read(ALICE, f.ino, 0n, 16, { shared: true })).data.toString(), '1'.repeat(16));
    // A write drops the copy; the view a reader already holds keeps the bytes it was given.
    await fx.ns.write(ALICE, f.ino, 0n, Buffer.from('22'));
    equal(c.data.subarray(0, 2).toString(), '11');
    equal((await fx.ns.read(ALICE, f.ino, 0n, 3, { shared: true })).data.toString(), '221');
    // A write while the file is being read whole: the read's copy is not kept (it may be old).
    store.invalidate();
    const reading = store.readShared(f.ino, 0, 4);
    const writing = store.write(f.ino, 0, Buffer.from('3333'));
    ok(['2211', '3333'].includes((await reading).toString()), 'old or new bytes');
    await writing;
    equal((await store.readShared(f.ino, 0, 4)).toString(), '3333');
    // Past the file's blob (a hole at its end) reads as zeros, shared or not.
    await fx.ns.setattr(ALICE, f.ino, { size: (1n << 20n) + 8n });
    const tail = await fx.ns.read(ALICE, f.ino, (1n << 20n) - 2n, 10, { shared: true });
    deepEqual([...tail.data], [0x31, 0x31, 0, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describe('file data held in memory, bounded', () => {
  test('1 transport.cache_size bounds the copies held: the least recently read go first', async () => {
    const { LocalBlobStore } = await import('../../src/storage/data/local-blobs.ts');
    const dir = makeTempDir('blobs');
    const store = await LocalBlobStore.open(dir, { cacheBytes: 3 << 20 });
    try {
      const mib = (i: number) => Buffer.alloc(1 << 20, 0x61 + i);
      for (let i = 0; i < 4; i++) await store.write(BigInt(i + 1), 0, mib(i));
      for (let i = 0; i < 3; i++) equal((await store.readShared(BigInt(i + 1), 0, 1)).toString(), 'abc'[i]);
      equal(store.smallFiles.bytes, 3 << 20);
      equal(
        (await store.readShared(1n, 0, 1)).toString(),
        'a',
        'the first is read again: now the most recent',
      );
      equal((await store.readShared(4n, 0, 1)).toString(), 'd');
      equal(store.smallFiles.bytes, 3 << 20, 'still 3 MiB: the second (least recently read) went');
      const { misses } = store.smallFiles;
      for (const i of [1n, 3n, 4n]) await store.readShared(i, 0, 1);
      equal(store.smallFiles.misses, misses, '1, 3 and 4 held');
      await store.readShared(2n, 0, 1);
      equal(store.smallFiles.misses, misses + 1, '2 read from the disk again');
    } finally {
      await store.close();
    }
    const none = await LocalBlobStore.open(dir, { cacheBytes: 0 });
    try {
      equal((await none.readShared(1n, 0, 2)).toString(), 'aa');
      equal(none.smallFiles.bytes, 0, 'cache_size 0: nothing held');
    } finally {
      await none.close();
    }
  });
});

describe('blob descriptors, bounded', () => {
  const openFds = () => readdirSync('/proc/self/fd').length;

  test('1 new blobs never written (every new file with transport.inline_max 0) do not keep a descriptor each; one reopened and written still has its folder flushed by its sync', async () => {
    const { LocalBlobStore } = await import('../../src/storage/data/local-blobs.ts');
    const store = await LocalBlobStore.open(makeTempDir('blobs'));
    const shardFlushes = (blob: bigint) =>
      (store as unknown as { shardSync: Array<{ flushes: number }> }).shardSync[Number(blob & 0xffn)]!
        .flushes;
    try {
      const before = openFds();
      // 520 readied blobs: the 8 least recently used are closed, too few to flush their folders.
      for (let i = 1n; i <= 520n; i++) await store.prepareWrite(i, 0);
      ok(openFds() - before <= 512 + 8, `${openFds() - before} descriptors for 520 blobs`);
      equal(store.unflushedNameCount, 8);
      const flushed = shardFlushes(1n);
      await store.write(1n, 0, Buffer.from('one'));
      await store.sync(1n);
      equal(
        shardFlushes(1n),
        flushed + 1,
        'blob 1, closed before its entry was flushed: its sync flushes the folder',
      );
      equal(store.unflushedNameCount, 8, 'blob 1 open again; blob 9, the least recently used, closed for it');

      for (let i = 521n; i <= 3000n; i++) await store.prepareWrite(i, 0);
      const held = openFds() - before;
      // 512 blobs and the 256 shard folders' descriptors, kept for their flushes.
      ok(held <= 512 + 256 + 8, `${held} descriptors for 3,000 blobs (were 3,000)`);
      await new Promise((r) => setTimeout(r, 200));
      ok(
        store.unflushedNameCount < 256,
        `${store.unflushedNameCount} remembered: their folders were flushed in the background`,
      );
      equal((await store.read(1n, 0, 3)).toString(), 'one');
    } finally {
      await store.close();
    }
  });
});

describe('emptying a large file', () => {
  test('1 a file of 64 MiB or more emptied (SMB overwrite, NFS O_TRUNC) gets a new, empty blob file under the same name; writes after it land there and survive a restart', async () => {
    const { LocalBlobStore } = await import('../../src/storage/data/local-blobs.ts');
    const { statSync } = await import('node:fs');
    const dir = makeTempDir('blobs');
    const store = await LocalBlobStore.open(dir);
    const big = 7n;
    const small = 8n;
    try {
      // 64 MiB and one byte, sparse; and a small file beside it, emptied by ftruncate as before.
      await store.write(big, 64 << 20, Buffer.from('x'));
      await store.write(small, 0, Buffer.from('small'));
      await store.sync(big);
      const before = statSync(store.pathOf(big)).ino;
      const smallBefore = statSync(store.pathOf(small)).ino;
      await store.truncate(big, 0);
      await store.truncate(small, 0);
      // The old file's blocks go with its descriptor, in the background, not in truncate().
      ok(statSync(store.pathOf(big)).ino !== before, 'another file holds the name');
      equal(statSync(store.pathOf(small)).ino, smallBefore, 'a small file is truncated in place');
      equal(statSync(store.pathOf(big)).size, 0);
      equal(await store.physicalSize(big), 0);
      equal((await store.read(big, 0, 16)).length, 0, 'nothing of the old bytes is read');
      await store.write(big, 0, Buffer.from('new bytes'));
      await store.sync(big);
      deepEqual(readdirSync(join(dir, '07')), ['000000000007'], 'no spare file left beside it');
    } finally {
      await store.close();
    }
    const reopened = await LocalBlobStore.open(dir);
    try {
      equal((await reopened.read(big, 0, 64)).toString(), 'new bytes');
      equal(await reopened.physicalSize(big), 9);
    } finally {
      await reopened.close();
    }
  });

  test('2 through the namespace: emptied, the file reads empty and takes new bytes', async () => {
    const fx = await openFixture();
    try {
      const exp = (await fx.ns.ensureDirectory('/export', 0o777)).ino;
      const f = await fx.ns.create(ALICE, exp, 'image.bin', 0o644);
      await fx.ns.write(ALICE, f.ino, 64n << 20n, Buffer.from('tail'));
      await fx.ns.commit(f.ino);
      await fx.ns.setattr(ALICE, f.ino, { size: 0n });
      equal((await fx.ns.getattr(f.ino)).size, 0n);
      equal((await fx.ns.read(ALICE, f.ino, 0n, 100)).data.length, 0);
      await fx.ns.write(ALICE, f.ino, 0n, Buffer.from('again'));
      await fx.ns.setattr(ALICE, f.ino, { size: 8n });
      deepEqual((await fx.ns.read(ALICE, f.ino, 0n, 100)).data, Buffer.from('again\0\0\0'));
    } finally {
      await fx.ns.close();
    }
  });
});

describe('blob lifetime', () => {
  test('1 an extent file written, truncated below its writes, then removed leaves no blob behind', async () => {
    const fx = await openFixture();
    try {
      const exp = (await fx.ns.ensureDirectory('/export', 0o777)).ino;
      const part = await fx.ns.createDetached(ALICE, 0o644, 'multipart');
      await fx.ns.write(ALICE, part.ino, 0n, Buffer.from('part-data'));
      const c = await fx.ns.compose(ALICE, [part.ino], 'upload');
      await fx.ns.linkDetached(ALICE, c.ino, exp, 'composed', false);
      await fx.ns.write(ALICE, c.ino, 20n, Buffer.from('own blob bytes'));
      await fx.ns.setattr(ALICE, c.ino, { size: 4n });
      await fx.ns.remove(ALICE, exp, 'composed');
      await fx.ns.close();
      equal(blobCount(fx.dir), 0);
      await fx.reopen();
    } finally {
      await fx.ns.close();
    }
  });

  test('1b files created and removed at once, written or not, leave no blob behind', async () => {
    const fx = await openFixture();
    try {
      const exp = (await fx.ns.ensureDirectory('/export', 0o777)).ino;
      const store = fx.ns.data as LocalBlobStore;
      // The namespace makes a new file's blob as it creates the file (without waiting for it).
      await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const f = await fx.ns.create(ALICE, exp, `gone-${i}`, 0o644);
          if (i % 2 === 0) await fx.ns.write(ALICE, f.ino, 0n, Buffer.from('x'));
          await fx.ns.remove(ALICE, exp, `gone-${i}`);
        }),
      );
      const kept = await fx.ns.create(ALICE, exp, 'kept', 0o644);
      await fx.ns.close();
      equal(blobCount(fx.dir), 1, "only the kept file's (empty) blob remains");
      ok(existsSync(store.pathOf(kept.ino)));
      await fx.reopen();
    } finally {
      await fx.ns.close();
    }
  });

  test('1c tail checks are remembered for a bounded number of files: one forgotten is checked again before it grows, and its untouched blob still goes with it', async () => {
    const fx = await openFixture();
    try {
      fx.ns.tailChecksMax = 10;
      const exp = (await fx.ns.ensureDirectory('/export', 0o777)).ino;
      const store = fx.ns.data as LocalBlobStore;
      const files: Attributes[] = [];
      for (let i = 0; i < 30; i++) files.push(await fx.ns.create(ALICE, exp, `f${i}`, 0o644));
      // Each new file's blob was readied (a tail check): the oldest are forgotten.
      await new Promise((r) => setTimeout(r, 100));
      ok(fx.ns.tailChecksHeld <= 10, `${fx.ns.tailChecksHeld} remembered`);
      const [first, second] = files as [Attributes, Attributes];
      // What a crash would leave: bytes past the file's recorded end (size 0), unseen by this
      // process (its descriptor closed).
      store.invalidate(first.ino);
      writeFileSync(store.pathOf(first.ino), 'left by a crash');
      await fx.ns.write(ALICE, first.ino, 20n, Buffer.from('new'));
      deepEqual(
        (await fx.ns.read(ALICE, first.ino, 0n, 23)).data,
        Buffer.concat([Buffer.alloc(20), Buffer.from('new')]),
        'checked again before the write: the leftover bytes were cut, zeros before the write',
      );
      ok(existsSync(store.pathOf(second.ino)), 'the second file has its (readied, empty) blob');
      await fx.ns.remove(ALICE, exp, 'f1');
      await fx.ns.close();
      ok(!existsSync(store.pathOf(second.ino)), 'removed untouched, its blob went with it');
      await fx.reopen();
    } finally {
      await fx.ns.close();
    }
  });

  test('2 quiet xattrs change neither ctime nor the change id', async () => {
    const fx = await openFixture();
    try {
      const exp = (await fx.ns.ensureDirectory('/export', 0o777)).ino;
      const f = await fx.ns.create(ALICE, exp, 'etag', 0o644);
      await fx.ns.setXattrs(ALICE, f.ino, { 's3.etag-md5': Buffer.from('abc') }, { quiet: true });
      const after = await fx.ns.getattr(f.ino);
      equal(after.changeId, f.changeId);
      equal(after.ctimeNs, f.ctimeNs);
      await fx.ns.setXattrs(ALICE, f.ino, { 'user.x': Buffer.from('1') });
      ok((await fx.ns.getattr(f.ino)).changeId > f.changeId);
    } finally {
      await fx.ns.close();
    }
  });

  test('2b several attributes set and removed in one call: each name holds its own value, the removed are gone, the rest untouched; a large value beside small ones too', async () => {
    const fx = await openFixture();
    try {
      const exp = (await fx.ns.ensureDirectory('/export', 0o777)).ino;
      const f = await fx.ns.create(ALICE, exp, 'many', 0o644);
      const binary = Buffer.from([0, 255, 1, 254, 0x27, 0x22]);
      await fx.ns.setXattrs(ALICE, f.ino, {
        'user.keep': Buffer.from('kept'),
        'user.a': Buffer.from('1'),
        'user.b': Buffer.from('2'),
        "user.quote'd": binary,
      });
      await fx.ns.setXattrs(ALICE, f.ino, {
        'user.a': Buffer.from('one'),
        'user.c': Buffer.alloc(0),
        'user.b': undefined,
        "user.quote'd": undefined,
      });
      const held = Object.fromEntries(
        [...(await fx.ns.listXattrs(f.ino))].map(([k, v]) => [k, v.toString()]),
      );
      deepEqual(held, { 'user.a': 'one', 'user.c': '', 'user.keep': 'kept' });
      const large = Buffer.alloc(40_000, 7);
      await fx.ns.setXattrs(ALICE, f.ino, { 'user.large': large, 'user.small': binary });
      deepEqual(await fx.ns.getXattr(f.ino, 'user.large'), large);
      deepEqual(await fx.ns.getXattr(f.ino, 'user.small'), binary);
    } finally {
      await fx.ns.close();
    }
  });

  test('3 named streams: listed by name and size, read one at a time, never among the cached xattrs, gone with the file', async () => {
    const fx = await openFixture();
    try {
      const exp = (await fx.ns.ensureDirectory('/export', 0o777)).ino;
      const f = await fx.ns.create(ALICE, exp, 'photo.jpg', 0o644);
      const used = async () => (await fx.ns.quotaUsage('uid', ALICE.uid)).bytes;
      const before = await used();
      const big = Buffer.alloc(300_000, 7);
      await fx.ns.setXattrs(ALICE, f.ino, {
        'user.tag': Buffer.from('x'),
        [`${STREAM_XATTR_PREFIX}Zone.Identifier`]: Buffer.from('ZoneId=3'),
        [`${STREAM_XATTR_PREFIX}thumb`]: big,
      });
      deepEqual([...(await fx.ns.listXattrs(f.ino)).keys()], ['user.tag']);
      deepEqual([...(fx.ns.cachedXattrs(f.ino)?.keys() ?? [])], ['user.tag']);
      deepEqual(await fx.ns.listStreams(f.ino), [
        { name: 'Zone.Identifier', size: 8 },
        { name: 'thumb', size: 300_000 },
      ]);
      ok((await fx.ns.getXattr(f.ino, `${STREAM_XATTR_PREFIX}thumb`))?.equals(big));
      equal(await used(), before + 300_008n, "the streams count against the owner's quota");
      await fx.ns.setXattrs(ALICE, f.ino, { [`${STREAM_XATTR_PREFIX}thumb`]: Buffer.from('small') });
      equal((await fx.ns.getXattr(f.ino, `${STREAM_XATTR_PREFIX}thumb`))?.toString(), 'small');
      equal(await used(), before + 13n);
      // A new owner takes the streams' bytes with the file.
      const bobBefore = (await fx.ns.quotaUsage('uid', BOB.uid)).bytes;
      await fx.ns.setattr(ROOT, f.ino, { uid: BOB.uid });
      equal(await used(), before);
      equal((await fx.ns.quotaUsage('uid', BOB.uid)).bytes, bobBefore + 13n);
      await fx.ns.setattr(ROOT, f.ino, { uid: ALICE.uid });
      await fx.ns.remove(ALICE, exp, 'photo.jpg');
      equal(await used(), before, 'the file took its streams’ bytes with it');
      const again = await fx.ns.create(ALICE, exp, 'photo.jpg', 0o644);
      deepEqual(await fx.ns.listStreams(again.ino), []);
      deepEqual(await fx.ns.listStreams(f.ino).catch((e: NodeJS.ErrnoException) => e.code), 'ESTALE');
    } finally {
      await fx.ns.close();
    }
  });

  test('3b a stream kept in chunks is listed once, its size the furthest byte a chunk holds, holes uncharged', async () => {
    const fx = await openFixture();
    try {
      const exp = (await fx.ns.ensureDirectory('/export', 0o777)).ino;
      const f = await fx.ns.create(ALICE, exp, 'song.aiff', 0o644);
      const used = async () => (await fx.ns.quotaUsage('uid', ALICE.uid)).bytes;
      const before = await used();
      await fx.ns.setXattrs(ALICE, f.ino, {
        [streamChunkKey('AFP_Resource', 0)]: Buffer.alloc(STREAM_CHUNK, 1),
        [streamChunkKey('AFP_Resource', 1)]: Buffer.alloc(100, 2),
        // Chunks 2 to 11 are a hole; chunk 12 is the stream's last.
        [streamChunkKey('AFP_Resource', 12)]: Buffer.alloc(10, 3),
        [streamChunkKey('far', 3)]: Buffer.alloc(5, 4),
        [streamChunkKey('a:b', 0)]: Buffer.from('not a chunk number'),
      });
      deepEqual(await fx.ns.listStreams(f.ino), [
        { name: 'AFP_Resource', size: 12 * STREAM_CHUNK + 10 },
        { name: 'a:b', size: 18 },
        { name: 'far', size: 3 * STREAM_CHUNK + 5 },
      ]);
      equal(await used(), before + BigInt(STREAM_CHUNK + 100 + 10 + 5 + 18));
      deepEqual([...(await fx.ns.listXattrs(f.ino)).keys()], []);
    } finally {
      await fx.ns.close();
    }
  });
});
