import { deepEqual, equal, ok, rejects } from 'node:assert/strict';
import { test } from 'node:test';
import { GroupCommit } from '../../src/storage/group-commit.ts';
import { type OpenedNamespace, openNamespace } from '../../src/storage/open.ts';
import { type Attributes, ROOT } from '../../src/storage/types.ts';
import { makeTempDir } from '../support/tmpdir.ts';

/**
 * `durability.metadata` and `group_commit_max_delay`, counted in WAL flushes (what
 * `gateway_metadata_flushes_total` shows): sync flushes before each change is answered; async
 * answers once committed and flushes when a client asks (COMMIT, a stable write, an S3 change)
 * or when the flush interval ends. The storage crash test (crash.test.ts) shows that what async
 * answered survives a SIGKILL.
 */
/** Runs `body` on a fresh namespace with a directory /d, and closes it. */
async function withNamespace(
  durability: 'sync' | 'async',
  flushIntervalMs: number,
  body: (ns: OpenedNamespace, dir: Attributes) => Promise<void>,
): Promise<void> {
  const path = makeTempDir('durability');
  const ns = await openNamespace({
    metadataUrl: `sqlite://${path}/meta.db`,
    transportUrl: `file://${path}/data`,
    durability: { metadata: durability, flushIntervalMs, groupCommitMaxDelayMs: 0 },
  });
  try {
    await body(ns, await ns.ensureDirectory('/d', 0o777));
  } finally {
    await ns.close();
  }
}

const HOURLY = 3_600_000;

/** What one NFS session does per small file, less the COMMIT: create, then an unstable write. */
async function createFiles(ns: OpenedNamespace, dir: bigint, n: number): Promise<bigint[]> {
  const inos: bigint[] = [];
  for (let i = 0; i < n; i++) {
    const a = await ns.create(ROOT, dir, `f${i}`, 0o644);
    await ns.write(ROOT, a.ino, 0n, Buffer.alloc(4096, i), 'unstable');
    inos.push(a.ino);
  }
  return inos;
}

test('1 sync: every create is flushed before it is answered', () =>
  withNamespace('sync', HOURLY, async (ns, dir) => {
    const before = ns.barrierFlushes;
    await createFiles(ns, dir.ino, 10);
    ok(ns.barrierFlushes - before >= 10, `${ns.barrierFlushes - before} flushes for 10 creates`);
  }));

test('2 async: creates, renames, removals and setattrs are answered without a flush; COMMIT flushes them all at once', () =>
  withNamespace('async', HOURLY, async (ns, dir) => {
    const before = ns.barrierFlushes;
    const [first] = await createFiles(ns, dir.ino, 10);
    await ns.rename(ROOT, dir.ino, 'f1', dir.ino, 'g1');
    // (Removing a file with data would flush: its blob is deleted once the removal is on disk.)
    await ns.mkdir(ROOT, dir.ino, 'sub', 0o755);
    await ns.rmdir(ROOT, dir.ino, 'sub');
    await ns.setattr(ROOT, first!, { mode: 0o600 });
    equal(ns.barrierFlushes - before, 0, 'nothing flushed before a client asked');
    // The changes are committed: seen at once.
    equal((await ns.lookup(ROOT, dir.ino, 'g1')).type, 'file');
    deepEqual((await ns.readdir(ROOT, dir.ino, 0n, 100)).entries.map((e) => e.name).sort(), [
      'f0',
      'f2',
      'f3',
      'f4',
      'f5',
      'f6',
      'f7',
      'f8',
      'f9',
      'g1',
    ]);
    await ns.commit(first!);
    equal(ns.barrierFlushes - before, 1, 'one flush at COMMIT');
    await ns.flushDeferred();
    equal(ns.barrierFlushes - before, 1, 'nothing left to flush after it');
  }));

test('3 async: a stable write and an S3-style change (flushDeferred) flush; an unstable write does not', () =>
  withNamespace('async', HOURLY, async (ns, dir) => {
    const a = await ns.create(ROOT, dir.ino, 'f', 0o644);
    const before = ns.barrierFlushes;
    await ns.write(ROOT, a.ino, 0n, Buffer.from('unstable'), 'unstable');
    equal(ns.barrierFlushes - before, 0);
    await ns.write(ROOT, a.ino, 0n, Buffer.from('file sync'), 'file');
    equal(ns.barrierFlushes - before, 1, 'FILE_SYNC flushes');
    await ns.mkdir(ROOT, dir.ino, 'sub', 0o755);
    equal(ns.barrierFlushes - before, 1);
    await ns.flushDeferred();
    equal(ns.barrierFlushes - before, 2, 'the change an S3 answer waits for is flushed');
  }));

test('4 async: with no client asking, the flush interval puts the changes on disk', () =>
  withNamespace('async', 50, async (ns, dir) => {
    const before = ns.barrierFlushes;
    await ns.create(ROOT, dir.ino, 'f', 0o644);
    equal(ns.barrierFlushes - before, 0);
    for (let i = 0; i < 200 && ns.barrierFlushes === before; i++) await new Promise((r) => setTimeout(r, 50));
    equal(ns.barrierFlushes - before, 1, 'one flush after the interval');
  }));

test('5 group_commit_max_delay: commits asked for within the delay share one flush', async () => {
  const count = async (maxDelayMs: number) => {
    let flushes = 0;
    const group = new GroupCommit(async () => {
      flushes++;
    }, maxDelayMs);
    // Asked for one after the other, as two clients' commits arrive.
    const first = group.sync();
    await Promise.resolve();
    await Promise.all([first, group.sync()]);
    return flushes;
  };
  equal(
    await count(0),
    2,
    'without a delay the first flush starts at once and the second waits for the next',
  );
  equal(await count(20), 1, 'with one, the second joins the first');
});

/** A group whose flushes each wait to be let finish (`started[i]()`), given a write count. */
function heldFlushes(written: () => number): { group: GroupCommit; started: Array<() => void> } {
  const started: Array<() => void> = [];
  const group = new GroupCommit(() => new Promise<void>((resolve) => started.push(resolve)), 0, written);
  return { group, started };
}

test('6 a flush knows what it covers: callers it covers join it or need none, a later write waits for the next', async () => {
  let written = 0;
  const { group, started } = heldFlushes(() => written);
  const settled = (p: Promise<void>) => {
    let done = false;
    void p.then(() => {
      done = true;
    });
    return async () => {
      await new Promise((r) => setImmediate(r));
      return done;
    };
  };
  written++;
  const first = settled(group.sync());
  equal(started.length, 1, 'the first caller starts a flush');
  // Nothing written since it started: a second caller is covered by it.
  const joined = settled(group.sync());
  equal(started.length, 1);
  written++;
  // Written after it started: this one needs the next flush.
  const later = settled(group.sync());
  started[0]!();
  ok(await first());
  ok(await joined(), 'the caller the running flush covers is answered with it');
  equal(await later(), false, 'a write made while it ran is not taken as covered');
  equal(started.length, 2, 'the next flush starts once the first is done');
  started[1]!();
  ok(await later());
  // Nothing written since the last flush started: nothing to flush.
  ok(await settled(group.sync())());
  equal(started.length, 2, 'no flush when none is needed');
  equal(group.flushes, 2);
});

test('7 anticipate starts a flush only when the disk is idle and a write is not covered yet', async () => {
  let written = 1;
  const { group, started } = heldFlushes(() => written);
  group.anticipate();
  equal(started.length, 1, 'an uncovered write: a flush starts with no caller');
  group.anticipate();
  equal(started.length, 1, 'not a second one while it runs');
  // The COMMIT that follows joins the anticipated flush.
  const commit = group.sync();
  started[0]!();
  await commit;
  equal(started.length, 1);
  group.anticipate();
  equal(started.length, 1, 'everything is covered: nothing to start');
  written++;
  const delayed = new GroupCommit(
    async () => {},
    20,
    () => written,
  );
  delayed.anticipate();
  equal(delayed.flushes, 0, 'a group delay is not cut short by a guess');
});

test('8 an unstable write to a small (inline) file starts its flush; the COMMIT after it needs no other; an append or a file written aside gets none', async () => {
  for (const durability of ['sync', 'async'] as const) {
    const path = makeTempDir('durability-inline');
    const ns = await openNamespace({
      metadataUrl: `sqlite://${path}/meta.db`,
      transportUrl: `file://${path}/data`,
      durability: { metadata: durability, flushIntervalMs: HOURLY, groupCommitMaxDelayMs: 0 },
      inlineMaxBytes: 16 * 1024,
    });
    try {
      const dir = await ns.ensureDirectory('/d', 0o777);
      for (let i = 0; i < 3; i++) {
        const a = await ns.create(ROOT, dir.ino, `f${i}`, 0o644);
        const before = ns.barrierFlushes;
        await ns.write(ROOT, a.ino, 0n, Buffer.alloc(4096, i), 'unstable');
        equal(ns.barrierFlushes - before, 1, `${durability}: the write's flush started before COMMIT`);
        await ns.commit(a.ino);
        equal(ns.barrierFlushes - before, 1, `${durability}: COMMIT waited on that flush`);
        deepEqual((await ns.read(ROOT, a.ino, 0n, 8192)).data, Buffer.alloc(4096, i));
      }
      // An append (a log written a line at a time) starts none: it would flush at every line.
      const log = await ns.create(ROOT, dir.ino, 'log', 0o644);
      await ns.write(ROOT, log.ino, 0n, Buffer.from('line 1\n'), 'unstable');
      await ns.commit(log.ino);
      const beforeAppend = ns.barrierFlushes;
      await ns.write(ROOT, log.ino, 7n, Buffer.from('line 2\n'), 'unstable');
      equal(ns.barrierFlushes - beforeAppend, 0, `${durability}: no flush for an append`);
      await ns.commit(log.ino);
      // An S3 upload writes aside first; its link needs a flush of its own, so none is started.
      const aside = await ns.createDetached(ROOT, 0o644, 'upload', null, 4096n);
      const before = ns.barrierFlushes;
      await ns.write(ROOT, aside.ino, 0n, Buffer.alloc(4096, 9), 'unstable');
      equal(ns.barrierFlushes - before, 0, `${durability}: no flush for a file written aside`);
    } finally {
      await ns.close();
    }
  }
});

test('9 an anticipated flush that fails is not lost: the COMMIT after it is told, and the one after that flushes again', async () => {
  const results: Array<(e?: Error) => void> = [];
  const group = new GroupCommit(
    () => new Promise<void>((resolve, reject) => results.push((e) => (e ? reject(e) : resolve()))),
    0,
    () => 1,
  );
  group.anticipate();
  results[0]!(new Error('EIO: the WAL flush failed'));
  await new Promise((r) => setImmediate(r));
  // What that flush covered may not be on disk, whatever the next fdatasync says.
  const told = group.sync();
  equal(results.length, 2, 'the COMMIT still flushes');
  results[1]!();
  await rejects(told, /EIO/);
  const next = group.sync();
  equal(results.length, 3, 'not taken as covered by the failed flush or the one after it');
  results[2]!();
  await next;
});
