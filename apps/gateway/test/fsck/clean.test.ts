import { deepEqual, equal, ok } from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runFsck } from '../../src/storage/fsck/index.ts';
import { ROOT } from '../../src/storage/types.ts';
import { ALICE, buildTree, corrupt, fsck } from './fixture.ts';

describe('fsck on a healthy namespace', () => {
  test('1 files, directories, hard links, a symlink, a fifo, a sparse file and a composite file are clean', async () => {
    const tree = await buildTree();
    const report = await fsck(tree);
    deepEqual(report.problems, []);
    equal(report.clean, true);
    // root, /export, docs, readme (2 names), sub, deep.bin, link, fifo, sparse, big.bin
    equal(report.checked.inodes, 10);
    equal(report.checked.entries, 10);
    // readme, deep.bin, the sparse file's empty blob, and the two parts big.bin reads by reference
    equal(report.checked.blobs, 5);
    equal(report.info.sparseFiles, 0, 'the truncate-extended file keeps its empty blob');
  });

  test('2 a file mid-upload (detached, nlink 0) and a blob queued for deletion are not problems', async () => {
    const tree = await buildTree();
    const ns = await tree.open();
    const up = await ns.createDetached(ALICE, 0o644, 'upload');
    await ns.write(ALICE, up.ino, 0n, Buffer.from('in flight'));
    await ns.close();
    // What a crash between unlinking deep.bin (committed) and deleting its blob leaves behind.
    const deep = tree.ino['/export/docs/sub/deep.bin']!;
    corrupt(tree, 'INSERT INTO blob_gc (blob) VALUES (?)', deep);
    corrupt(tree, 'DELETE FROM dirents WHERE ino = ?', deep);
    corrupt(tree, 'DELETE FROM inodes WHERE ino = ?', deep);
    corrupt(tree, 'UPDATE usage SET bytes = bytes - 10, inodes = inodes - 1 WHERE id IN (1001, 100)');
    const report = await fsck(tree);
    deepEqual(report.problems, []);
    equal(report.info.queuedBlobs, 1);
  });

  test('3 a repair of a clean namespace changes nothing and exits clean', async () => {
    const tree = await buildTree();
    const report = await fsck(tree, { repair: true });
    equal(report.clean, true);
    deepEqual(report.repaired, []);
    const ns = await tree.open();
    try {
      await ns.resolvePath(ROOT, '/lost+found').then(
        () => ok(false, 'no /lost+found is created when nothing is orphaned'),
        (e: { code?: string }) => equal(e.code, 'ENOENT'),
      );
    } finally {
      await ns.close();
    }
  });

  test('4 progress is reported phase by phase, ending at its total', async () => {
    const tree = await buildTree();
    const seen = new Map<string, { done: number; total: number }>();
    await runFsck({
      dbFile: tree.dbFile,
      dataDir: tree.dataDir,
      onProgress: (p) => seen.set(p.phase, { done: p.done, total: p.total }),
    });
    for (const phase of ['listing blobs', 'file data', 'blobs']) {
      const last = seen.get(phase);
      ok(last, `phase ${phase} reported`);
      equal(last.done, last.total, `phase ${phase} ends complete`);
    }
  });
});
