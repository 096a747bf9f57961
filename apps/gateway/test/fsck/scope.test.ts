import { deepEqual, equal, rejects } from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { blobPath } from '../../src/storage/fsck/blob-files.ts';
import { FsckError } from '../../src/storage/fsck/index.ts';
import { buildTree, corrupt, fsck, kinds, type Tree } from './fixture.ts';

/** Problems in three places: under /export/docs, on /export/fifo, and namespace-wide. */
async function damagedTree(): Promise<Tree> {
  const tree = await buildTree();
  corrupt(
    tree,
    "INSERT INTO dirents (parent, name, ino, type) VALUES (?, 'ghost', 9999, 1)",
    tree.ino['/export/docs/sub']!,
  );
  corrupt(tree, 'UPDATE inodes SET nlink = 4 WHERE ino = ?', tree.ino['/export/fifo']!);
  corrupt(tree, 'UPDATE usage SET inodes = inodes + 1 WHERE kind = 0 AND id = 0');
  writeFileSync(blobPath(tree.dataDir, 0x77777n), 'stray');
  return tree;
}

describe('fsck PATH', () => {
  test('1 a directory PATH checks its subtree only, without the ledger or orphan blobs', async () => {
    const tree = await damagedTree();
    const report = await fsck(tree, { path: '/export/docs' });
    deepEqual(kinds(report), ['dangling-entry']);
    equal(report.problems[0]!.path, '/export/docs/sub/ghost');
    equal(report.scope, '/export/docs');
    // docs, readme, sub, deep.bin
    equal(report.checked.inodes, 4);
    // readme.txt, hard, sub, deep.bin, ghost, and the entry naming docs
    equal(report.checked.entries, 6);
  });

  test('2 a file PATH checks that file (the runbook’s `fsck /export/problematic-file`)', async () => {
    const tree = await damagedTree();
    const report = await fsck(tree, { path: '/export/fifo' });
    deepEqual(kinds(report), ['wrong-link-count']);
    deepEqual(kinds(await fsck(tree, { path: '/export/docs/readme.txt' })), []);
  });

  test('3 the whole namespace shows all of it', async () => {
    const tree = await damagedTree();
    deepEqual(kinds(await fsck(tree)).sort(), [
      'dangling-entry',
      'ledger-drift',
      'orphan-blob',
      'wrong-link-count',
    ]);
  });

  test('4 --repair with a PATH repairs only inside it', async () => {
    const tree = await damagedTree();
    const fixed = await fsck(tree, { path: '/export/docs', repair: true });
    deepEqual(
      fixed.repaired.map((p) => p.kind),
      ['dangling-entry'],
    );
    deepEqual(kinds(await fsck(tree)).sort(), ['ledger-drift', 'orphan-blob', 'wrong-link-count']);
  });

  test('5 a PATH that does not exist, or runs through a file, cannot be checked', async () => {
    const tree = await damagedTree();
    await rejects(fsck(tree, { path: '/export/nope' }), (e: Error) => {
      equal(e instanceof FsckError, true);
      equal(e.message, "cannot access '/export/nope': No such file or directory");
      return true;
    });
    await rejects(fsck(tree, { path: '/export/fifo/x' }), /Not a directory/);
    await rejects(fsck(tree, { path: 'export' }), /path must be absolute/);
  });
});
