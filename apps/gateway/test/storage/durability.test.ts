import { deepEqual, equal, ok } from 'node:assert/strict';
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
