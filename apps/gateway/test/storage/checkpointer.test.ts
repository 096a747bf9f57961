import { deepEqual, equal, ok } from 'node:assert/strict';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { WalBarrier } from '../../src/storage/durability.ts';
import { OPEN_GATE } from '../../src/storage/ledger-gate.ts';
import { ROOT_INO } from '../../src/storage/meta/model.ts';
import { Checkpointer } from '../../src/storage/sqlite/checkpointer.ts';
import { SqliteMetadataStore } from '../../src/storage/sqlite/store.ts';
import { ROOT } from '../../src/storage/types.ts';
import { makeTempDir } from '../support/tmpdir.ts';

function openStore() {
  const file = join(makeTempDir('ckpt'), 'meta.db');
  const store = new SqliteMetadataStore(file, OPEN_GATE);
  const barrier = new WalBarrier(`${file}-wal`);
  return { file, store, barrier, walBytes: () => statSync(`${file}-wal`).size };
}

const FILE = { type: 'file', mode: 0o644 } as const;

/**
 * Files created one after another, each durable before the next (one NFS session's creates):
 * at least 1,000 and 1.5 s of them, however loaded the machine is (20 s at most). Returns how many.
 */
async function steadyCommits(store: SqliteMetadataStore, barrier: WalBarrier): Promise<number> {
  let commits = 0;
  const started = performance.now();
  while ((commits < 1000 || performance.now() - started < 1500) && performance.now() - started < 20_000) {
    await store.createNode(ROOT, ROOT_INO, `f${commits++}`, FILE);
    await barrier.sync();
  }
  return commits;
}

/** The WAL header's checkpoint sequence number: SQLite adds one each time it starts the WAL over. */
function walRestarts(file: string): number {
  const header = Buffer.alloc(16);
  const fd = openSync(`${file}-wal`, 'r');
  try {
    readSync(fd, header, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  return header.readUInt32BE(12);
}

test('1 under steady writes, each durable before the next (one NFS session creating files), the WAL is started over instead of growing with every commit', async () => {
  const { file, store, barrier, walBytes } = openStore();
  // What a commit adds to a WAL that is never started over, measured before checkpoints run.
  const SAMPLE = 200;
  const before = walBytes();
  for (let i = 0; i < SAMPLE; i++) {
    await store.createNode(ROOT, ROOT_INO, `s${i}`, FILE);
    await barrier.sync();
  }
  const perCommit = (walBytes() - before) / SAMPLE;
  const restartsBefore = walRestarts(file);
  const checkpointer = new Checkpointer(file, () => store.holdWrites(), 40);
  try {
    const commits = await steadyCommits(store, barrier);
    const restarts = walRestarts(file) - restartsBefore;
    ok(restarts >= 2, `the WAL was started over ${restarts} times in ${commits} commits`);
    const unbounded = (SAMPLE + commits) * perCommit;
    // Started over, it stays at what the busiest checkpoint interval wrote: a fraction of the
    // whole (a quarter or less here when the machine is quiet, under a third when it is loaded).
    ok(
      walBytes() < unbounded / 2,
      `WAL ${walBytes()} bytes after ${SAMPLE + commits} commits of ~${Math.round(perCommit)} bytes each (${Math.round(unbounded)} if never started over)`,
    );
    equal(checkpointer.lastError, undefined);
    // Nothing was lost on the way: every file is there.
    const listed = await store.readdir(ROOT_INO, 0n, SAMPLE + commits + 10);
    equal(listed.entries.length, SAMPLE + commits);
  } finally {
    await checkpointer.stop();
    barrier.close();
    store.close();
  }
});

test('2 held writes wait, in the order they came, while reads go on; released, each is committed', async () => {
  const { store, barrier } = openStore();
  try {
    await store.createNode(ROOT, ROOT_INO, 'before', FILE);
    const release = store.holdWrites();
    const done: string[] = [];
    const writes = ['a', 'b', 'c'].map((name) =>
      Promise.resolve(store.createNode(ROOT, ROOT_INO, name, FILE)).then(() => done.push(name)),
    );
    await new Promise((r) => setTimeout(r, 30));
    deepEqual(done, [], 'no write went through while held');
    const during = await store.readdir(ROOT_INO, 0n, 10);
    deepEqual(
      during.entries.map((e) => e.name),
      ['before'],
      'reads answer while writes are held',
    );
    release();
    await Promise.all(writes);
    deepEqual(done, ['a', 'b', 'c']);
    const after = await store.readdir(ROOT_INO, 0n, 10);
    deepEqual(after.entries.map((e) => e.name).sort(), ['a', 'b', 'before', 'c']);
  } finally {
    barrier.close();
    store.close();
  }
});

test('3 a checkpointer stopped while it holds writes lets them go', async () => {
  const { file, store, barrier } = openStore();
  let stopping: Promise<void> | undefined;
  const checkpointer: Checkpointer = new Checkpointer(
    file,
    () => {
      const release = store.holdWrites();
      stopping ??= checkpointer.stop();
      return release;
    },
    5,
  );
  try {
    // Steady writes, yielding so the checkpointer's request is heard, until it holds them.
    for (let i = 0; stopping === undefined && i < 20_000; i++) {
      await store.createNode(ROOT, ROOT_INO, `f${i}`, FILE);
      await new Promise(setImmediate);
    }
    ok(stopping, 'the checkpointer held writes to catch up');
    await stopping;
    // Not held, SQLite answers a write at once (a held one is queued behind a promise): the
    // release comes with stop(), not with the hold's time limit.
    const written = store.createNode(ROOT, ROOT_INO, 'after-stop', FILE);
    ok(!(written instanceof Promise), 'writes are no longer held once stop() has returned');
    ok(await store.lookupRow(ROOT_INO, 'after-stop'), 'and it is committed');
  } finally {
    barrier.close();
    store.close();
  }
});

test('4 under steady writes the WAL is started over only by the checkpoint thread: SQLite fsyncs the new WAL header there, never on the event loop', async () => {
  const { file, store, barrier } = openStore();
  // A first commit, so that the WAL exists and its header can be read.
  await store.createNode(ROOT, ROOT_INO, 'first', FILE);
  const before = walRestarts(file);
  const checkpointer = new Checkpointer(file, () => store.holdWrites(), 20);
  try {
    const commits = await steadyCommits(store, barrier);
    const restarts = walRestarts(file) - before;
    ok(restarts >= 2, `the WAL was started over ${restarts} times in ${commits} commits`);
    // Each start-over the WAL header counts was one the checkpoint thread made and saw happen.
    // Before, the first write after a complete checkpoint made it — on the event loop, where
    // the header's fsync took 0.1–0.5 s while a large SMB upload kept the disk busy.
    equal(checkpointer.restarts, restarts, 'every start-over was the checkpoint thread’s');
    equal(checkpointer.lastError, undefined);
    const listed = await store.readdir(ROOT_INO, 0n, commits + 10);
    equal(listed.entries.length, commits + 1, 'and every commit is there');
  } finally {
    await checkpointer.stop();
    barrier.close();
    store.close();
  }
});

test('5 a few commits now and then (a large upload’s size updates) are appended to the WAL, which is not started over (a start-over holds the gateway’s writes)', async () => {
  const { file, store, barrier } = openStore();
  await store.createNode(ROOT, ROOT_INO, 'first', FILE);
  const before = walRestarts(file);
  const checkpointer = new Checkpointer(file, () => store.holdWrites(), 10);
  try {
    // 40 durable commits, each after the checkpoint thread has had time to copy every frame:
    // far fewer frames than a start-over is worth (RESTART_MIN_FRAMES, checkpointer.mjs).
    for (let i = 0; i < 40; i++) {
      await store.createNode(ROOT, ROOT_INO, `f${i}`, FILE);
      await barrier.sync();
      await new Promise((r) => setTimeout(r, 25));
    }
    ok(checkpointer.checkpoints > 10, `${checkpointer.checkpoints} checkpoint passes ran meanwhile`);
    equal(walRestarts(file) - before, 0, 'the WAL was not started over');
    equal(checkpointer.restarts, 0);
    equal(checkpointer.lastError, undefined);
    const listed = await store.readdir(ROOT_INO, 0n, 50);
    equal(listed.entries.length, 41, 'every commit is there');
  } finally {
    await checkpointer.stop();
    barrier.close();
    store.close();
  }
});
