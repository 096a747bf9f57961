import { deepEqual, ok } from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { ALICE, openFixture } from './fixture.ts';

test('1 a number a crashed run handed out (its transaction lost) is never handed out again: its leftover blob stays unseen', async () => {
  const fx = await openFixture();
  try {
    const exp = (await fx.ns.ensureDirectory('/export', 0o1777)).ino;
    // An upload in progress: created aside (not flushed on its own) and written.
    const aside = await fx.ns.createDetached(ALICE, 0o644, 'upload');
    await fx.ns.write(
      ALICE,
      aside.ino,
      0n,
      Buffer.from('bytes of an upload that never finished'),
      'unstable',
    );
    await fx.ns.close();
    // A crash before any flush: the row and the counter never reached the disk, the blob did.
    const db = new Database(join(fx.dir, 'meta.db'));
    db.prepare('DELETE FROM detached WHERE ino = ?').run(aside.ino);
    db.prepare('DELETE FROM inodes WHERE ino = ?').run(aside.ino);
    db.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'inodes'").run(aside.ino - 1n);
    db.close();

    const ns = await fx.reopen();
    const fresh = await ns.create(ALICE, exp, 'new-file', 0o644);
    ok(fresh.ino > aside.ino, `new inode ${fresh.ino} comes after ${aside.ino}`);
    await ns.setattr(ALICE, fresh.ino, { size: 16n });
    deepEqual((await ns.read(ALICE, fresh.ino, 0n, 16)).data, Buffer.alloc(16), 'no old bytes show through');
  } finally {
    await fx.ns.close();
  }
});
