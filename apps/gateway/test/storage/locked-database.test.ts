/**
 * The metadata database locked by another connection: a write waits the lock out off the
 * event loop when it is brief, and fails with SQLITE_BUSY, writing nothing, when it is not.
 */
import { equal, ok, rejects } from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { OPEN_GATE } from '../../src/storage/ledger-gate.ts';
import { ROOT_INO } from '../../src/storage/meta/model.ts';
import { SqliteMetadataStore } from '../../src/storage/sqlite/store.ts';
import { ROOT } from '../../src/storage/types.ts';
import { makeTempDir } from '../support/tmpdir.ts';

const FILE = { type: 'file', mode: 0o644 } as const;
const file = join(makeTempDir('locked'), 'meta.db');
const store = new SqliteMetadataStore(file, OPEN_GATE);
/** Another connection to the same file, as a tool or a second process would have. */
const other = new Database(file);
after(() => {
  other.close();
  store.close();
});

/** Holds the database's write lock from the other connection for `ms`. */
function lockFor(ms: number): Promise<void> {
  other.exec('BEGIN IMMEDIATE');
  return new Promise((resolve) =>
    setTimeout(() => {
      other.exec('COMMIT');
      resolve();
    }, ms),
  );
}

test('1 a write that finds the database locked for 150 ms waits it out off the loop, then commits', async () => {
  const released = lockFor(150);
  const waits = store.retries;
  const created = store.createNode(ROOT, ROOT_INO, 'after-a-brief-lock', FILE);
  ok(created instanceof Promise, 'the write waits for the lock asynchronously');
  // The loop goes on meanwhile: a read answers while the write waits.
  equal(store.lookupRow(ROOT_INO, 'after-a-brief-lock'), undefined);
  const node = await created;
  await released;
  ok(store.lookupRow(ROOT_INO, 'after-a-brief-lock'), 'the file is there');
  equal(node.attrs.type, 'file');
  ok(store.retries > waits, 'the wait is counted');
});

test('2 a lock held past the wait: the write fails SQLITE_BUSY and writes nothing; once free it works', async () => {
  const released = lockFor(1500);
  await rejects(
    Promise.resolve().then(() => store.createNode(ROOT, ROOT_INO, 'under-a-held-lock', FILE)),
    (e: { code?: string }) => e.code?.startsWith('SQLITE_BUSY') === true,
  );
  equal(store.lookupRow(ROOT_INO, 'under-a-held-lock'), undefined, 'nothing written');
  await released;
  await store.createNode(ROOT, ROOT_INO, 'under-a-held-lock', FILE);
  ok(store.lookupRow(ROOT_INO, 'under-a-held-lock'));
});
