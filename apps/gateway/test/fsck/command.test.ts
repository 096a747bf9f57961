import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { fsckCommand } from '../../src/cli/commands/fsck.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { buildTree, corrupt, type Tree } from './fixture.ts';

const target = (tree: Tree) => ({ dbFile: tree.dbFile, dataDir: tree.dataDir, stateDir: tree.stateDir });

describe('fsck command', () => {
  test('1 exit 0 clean, 1 with problems, 0 after a repair that fixed everything', async () => {
    const tree = await buildTree();
    equal((await fsckCommand(target(tree), { json: true })).exitCode, 0);
    corrupt(tree, 'UPDATE inodes SET nlink = 9 WHERE ino = ?', tree.ino['/export/fifo']!);
    const found = await fsckCommand(target(tree), { json: true });
    equal(found.exitCode, 1);
    const report = JSON.parse(found.stdout);
    equal(report.clean, false);
    deepEqual(report.problems, [
      {
        kind: 'wrong-link-count',
        ino: Number(tree.ino['/export/fifo']),
        path: '/export/fifo',
        detail: 'fifo has nlink 9, should be 1',
        repair: 'set nlink to 1',
      },
    ]);
    const fixed = await fsckCommand(target(tree), { json: true, repair: true });
    equal(fixed.exitCode, 0);
    equal(JSON.parse(fixed.stdout).repaired.length, 1);
    equal((await fsckCommand(target(tree), { json: true })).exitCode, 0);
  });

  test('2 exit 1 after --repair when a problem needs an operator', async () => {
    const tree = await buildTree();
    corrupt(tree, 'UPDATE extents SET blob = 4242 WHERE ino = ? AND off = 0', tree.ino['/export/big.bin']!);
    equal((await fsckCommand(target(tree), { repair: true })).exitCode, 1);
  });

  test('3 the human report has one line per problem with kind, inode, path and the repair', async () => {
    const tree = await buildTree();
    corrupt(
      tree,
      "INSERT INTO dirents (parent, name, ino, type) VALUES (?, 'ghost', 9999, 1)",
      tree.ino['/export']!,
    );
    const out = await fsckCommand(target(tree), {});
    const lines = out.stdout.trimEnd().split('\n');
    equal(
      lines[0],
      `dangling-entry ino 9999 /export/ghost: entry 'ghost' in directory ${tree.ino['/export']} names inode 9999, which does not exist; --repair would remove the entry`,
    );
    equal(lines[1], '1 problem found; --repair would fix 1; checked 10 inodes, 11 entries, 5 blobs');
    equal(lines[2], undefined, 'nothing else to note: the sparse file keeps its empty blob');
    const fixed = await fsckCommand(target(tree), { repair: true });
    match(fixed.stdout, /^dangling-entry ino 9999 \/export\/ghost: .*; repaired: remove the entry$/m);
    match((await fsckCommand(target(tree), {})).stdout, /^clean: checked 10 inodes, 10 entries, 5 blobs$/m);
  });

  test('4 --repair is refused (exit 2) while a live gateway holds the state folder; a check still runs', async () => {
    const tree = await buildTree();
    corrupt(tree, 'UPDATE inodes SET nlink = 9 WHERE ino = ?', tree.ino['/export/fifo']!);
    writeFileSync(join(tree.stateDir, 'gateway.pid'), `${process.pid}\n`);
    const refused = await fsckCommand(target(tree), { repair: true });
    equal(refused.exitCode, 2);
    match(
      refused.stderr,
      new RegExp(`^fsck: refusing to repair: a gateway \\(PID ${process.pid}\\) is running`),
    );
    equal((await fsckCommand(target(tree), {})).exitCode, 1, 'checking is allowed');
    // A PID file left by a gateway that is gone does not block.
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    writeFileSync(join(tree.stateDir, 'gateway.pid'), `${gone.stdout}\n`);
    equal((await fsckCommand(target(tree), { repair: true })).exitCode, 0);
  });

  test('5 exit 2 with a message when the database or the data folder cannot be used', async () => {
    const dir = makeTempDir('fsck-bad');
    const garbage = join(dir, 'meta.db');
    writeFileSync(garbage, 'this is not a database, just text that is long enough to look like a header');
    const cases: Array<[number, { dbFile: string; dataDir: string }, RegExp]> = [
      [
        1,
        { dbFile: join(dir, 'missing.db'), dataDir: dir },
        /^fsck: metadata database .*missing\.db does not exist/,
      ],
      [
        2,
        { dbFile: garbage, dataDir: dir },
        /^fsck: cannot read metadata database .*: file is not a database/,
      ],
      [
        3,
        { dbFile: garbage, dataDir: join(dir, 'nope') },
        /^fsck: data directory .*nope cannot be read: ENOENT/,
      ],
    ];
    for (const [row, t, message] of cases) {
      const out = await fsckCommand(t, {});
      equal(out.exitCode, 2, `row ${row}`);
      match(out.stderr, message, `row ${row}`);
      equal(out.stdout, '');
    }
    const empty = join(dir, 'empty.db');
    const other = new Database(empty);
    other.exec('CREATE TABLE t (a)');
    other.close();
    const notOurs = await fsckCommand({ dbFile: empty, dataDir: dir }, {});
    equal(notOurs.exitCode, 2);
    ok(notOurs.stderr.includes('is not a ClaudeFS metadata database'), notOurs.stderr);
  });
});
