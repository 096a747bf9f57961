import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { rowBuilder } from '../../src/storage/sqlite/row-builder.ts';

test('rows built from raw values equal better-sqlite3 own row objects, odd column names included', () => {
  const db = new Database(':memory:');
  try {
    const sql = `SELECT 1 AS a, 'x' AS "we""ird\\name", CAST(9007199254740993 AS INTEGER) AS big,
      NULL AS "", x'00ff' AS "constructor", 2 AS a`;
    const objects = db.prepare(sql).safeIntegers(true);
    const raw = db.prepare(sql).safeIntegers(true).raw(true);
    const build = rowBuilder(raw.columns().map((c) => c.name));
    const built = build(raw.get() as unknown[]);
    assert.deepEqual(built, objects.get());
    // Exact past 2^53, the later `a` wins, and a column named like an Object member is data.
    assert.equal(built.big, 9007199254740993n);
    assert.equal(built.a, 2n);
    assert.deepEqual(built.constructor, Buffer.from([0, 0xff]));
    assert.throws(() => rowBuilder(['ino', '__proto__']), /__proto__/);
  } finally {
    db.close();
  }
});
