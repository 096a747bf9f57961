import { deepEqual, equal, ok } from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ROOT } from '../../src/storage/types.ts';
import { buildTree, corrupt, fsck, kinds, type Tree } from './fixture.ts';

/** fsck finds exactly `expected`; --repair fixes all of it; a second check is clean. */
async function repairsCleanly(tree: Tree, expected: string[]) {
  const found = await fsck(tree);
  deepEqual(kinds(found), expected);
  equal(found.clean, false);
  const fixed = await fsck(tree, { repair: true });
  deepEqual(
    fixed.repaired.map((p) => p.kind),
    expected,
  );
  const again = await fsck(tree);
  deepEqual(again.problems, [], 'a second check after --repair is clean');
  return found;
}

async function readAll(
  tree: Tree,
  path: string,
): Promise<{ text: string; nlink: number; mode: number; uid: number }> {
  const ns = await tree.open();
  try {
    const a = await ns.resolvePath(ROOT, path);
    const text = a.type === 'file' ? (await ns.read(ROOT, a.ino, 0n, 1 << 20)).data.toString() : '';
    return { text, nlink: a.nlink, mode: a.mode, uid: a.uid };
  } finally {
    await ns.close();
  }
}

describe('fsck: entries and inodes', () => {
  test('1 an entry naming a missing inode is reported with its path and removed by --repair', async () => {
    const tree = await buildTree();
    corrupt(
      tree,
      'INSERT INTO dirents (parent, name, ino, type) VALUES (?, ?, 9999, 1)',
      tree.ino['/export/docs']!,
      'ghost',
    );
    const found = await repairsCleanly(tree, ['dangling-entry']);
    const p = found.problems[0]!;
    equal(p.ino, 9999);
    equal(p.path, '/export/docs/ghost');
    equal(p.repair, 'remove the entry');
    const ns = await tree.open();
    try {
      await ns.resolvePath(ROOT, '/export/docs/ghost').then(
        () => ok(false, 'ghost is gone'),
        (e: { code?: string }) => equal(e.code, 'ENOENT'),
      );
    } finally {
      await ns.close();
    }
  });

  test('2 a file in no directory is an orphan; --repair moves it to /lost+found/<ino> with its data', async () => {
    const tree = await buildTree();
    const deep = tree.ino['/export/docs/sub/deep.bin']!;
    corrupt(tree, 'DELETE FROM dirents WHERE ino = ?', deep);
    const found = await repairsCleanly(tree, ['orphan-inode']);
    equal(found.problems[0]!.ino, Number(deep));
    equal(found.problems[0]!.repair, `move it to /lost+found/${deep}`);
    const adopted = await readAll(tree, `/lost+found/${deep}`);
    equal(adopted.text, '0123456789');
    equal(adopted.nlink, 1);
    const lf = await readAll(tree, '/lost+found');
    equal(lf.mode, 0o700);
    equal(lf.uid, 0);
  });

  test('3 an orphaned directory keeps its subtree and its ".." follows it into /lost+found', async () => {
    const tree = await buildTree();
    const sub = tree.ino['/export/docs/sub']!;
    corrupt(tree, 'DELETE FROM dirents WHERE ino = ?', sub);
    // docs still counts the lost subdirectory in its nlink
    await repairsCleanly(tree, ['orphan-inode', 'wrong-link-count']);
    equal((await readAll(tree, `/lost+found/${sub}/deep.bin`)).text, '0123456789');
    equal((await readAll(tree, '/lost+found')).nlink, 3);
    equal((await readAll(tree, '/export/docs')).nlink, 2);
    const ns = await tree.open();
    try {
      const dir = await ns.resolvePath(ROOT, `/lost+found/${sub}`);
      equal(dir.parent, (await ns.resolvePath(ROOT, '/lost+found')).ino);
    } finally {
      await ns.close();
    }
  });

  test('4 wrong link counts on a hard-linked file and a directory are set back', async () => {
    const tree = await buildTree();
    corrupt(tree, 'UPDATE inodes SET nlink = 5 WHERE ino = ?', tree.ino['/export/docs/readme.txt']!);
    corrupt(tree, 'UPDATE inodes SET nlink = 7 WHERE ino = ?', tree.ino['/export']!);
    const found = await repairsCleanly(tree, ['wrong-link-count', 'wrong-link-count']);
    deepEqual(
      found.problems.map((p) => [p.path, p.detail]),
      [
        ['/export', 'dir has nlink 7, should be 3'],
        ['/export/docs/readme.txt', 'file has nlink 5, should be 2'],
      ],
    );
    equal((await readAll(tree, '/export/docs/readme.txt')).nlink, 2);
    equal((await readAll(tree, '/export')).nlink, 3);
  });

  test('5 a directory whose ".." is not the directory naming it gets its parent back', async () => {
    const tree = await buildTree();
    corrupt(tree, 'UPDATE inodes SET parent = 1 WHERE ino = ?', tree.ino['/export/docs/sub']!);
    const found = await repairsCleanly(tree, ['wrong-parent']);
    equal(found.problems[0]!.path, '/export/docs/sub');
    const ns = await tree.open();
    try {
      equal((await ns.lookup(ROOT, tree.ino['/export/docs/sub']!, '..')).ino, tree.ino['/export/docs']);
    } finally {
      await ns.close();
    }
  });

  test('6 an entry recorded with the wrong type is corrected, so readdir reports a directory again', async () => {
    const tree = await buildTree();
    corrupt(tree, "UPDATE dirents SET type = 1 WHERE name = 'docs'");
    const found = await repairsCleanly(tree, ['entry-type-mismatch']);
    equal(found.problems[0]!.detail, 'entry says file, inode is a dir');
    const ns = await tree.open();
    try {
      const page = await ns.readdir(ROOT, tree.ino['/export']!, 0n, 100);
      equal(page.entries.find((e) => e.name === 'docs')?.type, 'dir');
    } finally {
      await ns.close();
    }
  });

  test('7 a directory named twice keeps the entry in its parent; the extra one is removed', async () => {
    const tree = await buildTree();
    corrupt(
      tree,
      "INSERT INTO dirents (parent, name, ino, type) VALUES (?, 'again', ?, 2)",
      tree.ino['/export']!,
      tree.ino['/export/docs/sub']!,
    );
    // /export now counts an extra subdirectory
    await repairsCleanly(tree, ['directory-extra-entry', 'wrong-link-count']);
    equal((await readAll(tree, '/export')).nlink, 3);
  });

  test('8 a linked file still recorded as detached loses the stale record and keeps its data', async () => {
    const tree = await buildTree();
    corrupt(
      tree,
      "INSERT INTO detached (ino, created, purpose) VALUES (?, 0, 'upload')",
      tree.ino['/export/big.bin']!,
    );
    await repairsCleanly(tree, ['detached-but-linked']);
    const ns = await tree.open();
    try {
      equal((await ns.resolvePath(ROOT, '/export/big.bin')).size, 17n, 'the file is intact');
    } finally {
      await ns.close();
    }
  });
});
