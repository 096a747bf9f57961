/**
 * The metadata database locked by another connection: a write waits the lock out off the
 * event loop when it is brief, and fails with SQLITE_BUSY, writing nothing, when it is not.
 */
import { equal, ok } from 'node:assert/strict';
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

/** Holds the database's write lock from the other connection for `ms` (past the writes' wait). */
function lockFor(ms: number): Promise<void> {
  other.exec('BEGIN IMMEDIATE');
  return new Promise((resolve) =>
    setTimeout(() => {
      other.exec('COMMIT');
      resolve();
    }, ms),
  );
}

test('1 a write that finds the database locked waits off the loop and commits once the lock is let go', async () => {
  other.exec('BEGIN IMMEDIATE');
  const tries = store.retries;
  // The first try has been made (SQLite waited 2 ms for the lock) and the write now waits.
  const created = store.createNode(ROOT, ROOT_INO, 'after-a-brief-lock', FILE);
  ok(created instanceof Promise, 'the write waits for the lock asynchronously');
  equal(store.retries, tries + 1, 'the wait is counted');
  // The loop goes on meanwhile: a read answers while the write waits.
  equal(store.lookupRow(ROOT_INO, 'after-a-brief-lock'), undefined);
  other.exec('COMMIT');
  const node = await created;
  ok(store.lookupRow(ROOT_INO, 'after-a-brief-lock'), 'the file is there');
  equal(node.attrs.type, 'file');
});

test('2 a lock held past the wait: 50 writes fail SQLITE_BUSY and write nothing; once free they work', async () => {
  const released = lockFor(1500);
  const names = Array.from({ length: 50 }, (_, i) => `under-a-held-lock-${i}`);
  const outcomes = await Promise.allSettled(
    names.map((name) => Promise.resolve().then(() => store.createNode(ROOT, ROOT_INO, name, FILE))),
  );
  for (const o of outcomes) {
    equal(o.status, 'rejected');
    ok(String((o as PromiseRejectedResult).reason.code).startsWith('SQLITE_BUSY'));
  }
  for (const name of names) equal(store.lookupRow(ROOT_INO, name), undefined, 'nothing written');
  await released;
  await Promise.all(names.map((name) => store.createNode(ROOT, ROOT_INO, name, FILE)));
  for (const name of names) ok(store.lookupRow(ROOT_INO, name));
});
