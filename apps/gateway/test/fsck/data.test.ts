import { deepEqual, equal, ok } from 'node:assert/strict';
import { appendFileSync, existsSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { blobPath } from '../../src/storage/fsck/blob-files.ts';
import { ROOT } from '../../src/storage/types.ts';
import { buildTree, corrupt, fsck, kinds } from './fixture.ts';

describe('fsck: file data', () => {
  test('1 a blob file nothing references is reported and deleted by --repair', async () => {
    const tree = await buildTree();
    const stray = blobPath(tree.dataDir, 0xabcdefn);
    writeFileSync(stray, 'left behind');
    const found = await fsck(tree);
    deepEqual(kinds(found), ['orphan-blob']);
    ok(found.problems[0]!.detail.includes(stray));
    const fixed = await fsck(tree, { repair: true });
    equal(fixed.repaired.length, 1);
    equal(existsSync(stray), false);
    deepEqual((await fsck(tree)).problems, []);
  });

  test('2 a composite file whose part blob is gone is reported, and --repair leaves it for the operator', async () => {
    const tree = await buildTree();
    rmSync(blobPath(tree.dataDir, tree.ino.part1!));
    const found = await fsck(tree);
    deepEqual(kinds(found), ['extent-blob-missing']);
    const p = found.problems[0]!;
    equal(p.path, '/export/big.bin');
    ok(p.detail.startsWith('extent [0, 9) reads blob'), p.detail);
    ok(p.repair.startsWith('none'));
    const after = await fsck(tree, { repair: true });
    deepEqual(after.repaired, []);
    deepEqual(kinds(await fsck(tree)), ['extent-blob-missing'], 'lost data stays reported');
  });

  test('3 an extent reaching past its blob’s end is reported', async () => {
    const tree = await buildTree();
    truncateSync(blobPath(tree.dataDir, tree.ino.part2!), 3);
    const found = await fsck(tree);
    deepEqual(kinds(found), ['extent-past-blob-end']);
    ok(found.problems[0]!.detail.includes('up to byte 8, but the blob holds 3'), found.problems[0]!.detail);
  });

  test('4 overlapping extents are reported', async () => {
    const tree = await buildTree();
    corrupt(tree, 'UPDATE extents SET off = 5 WHERE ino = ? AND off = 9', tree.ino['/export/big.bin']!);
    deepEqual(kinds(await fsck(tree)), ['overlapping-extents']);
  });

  test('5 a blob longer than its file is fine; an own-blob file without its blob is blob-missing (own-blob.test.ts)', async () => {
    const tree = await buildTree();
    rmSync(blobPath(tree.dataDir, tree.ino['/export/docs/readme.txt']!));
    appendFileSync(blobPath(tree.dataDir, tree.ino['/export/docs/sub/deep.bin']!), 'unacknowledged tail');
    const report = await fsck(tree);
    deepEqual(kinds(report), ['blob-missing']);
    equal(report.info.sparseFiles, 0);
    equal(report.info.blobTails, 1);
  });

  test('6 a blob queued for deletion that a file still reads is taken off the queue', async () => {
    const tree = await buildTree();
    corrupt(tree, 'INSERT INTO blob_gc (blob) VALUES (?)', tree.ino.part1!);
    const found = await fsck(tree);
    deepEqual(kinds(found), ['queued-blob-in-use']);
    equal(found.problems[0]!.path, '/export/big.bin');
    await fsck(tree, { repair: true });
    deepEqual((await fsck(tree)).problems, []);
    // The gateway's start-up deletes queued blobs; the file must still read whole.
    const ns = await tree.open();
    try {
      const big = await ns.resolvePath(ROOT, '/export/big.bin');
      equal((await ns.read(ROOT, big.ino, 0n, 100)).data.toString(), 'part one|part two');
    } finally {
      await ns.close();
    }
  });

  test('7 extent and xattr rows of a deleted inode are stray and deleted', async () => {
    const tree = await buildTree();
    corrupt(tree, 'INSERT INTO xattrs (ino, name, value) VALUES (777, ?, ?)', 'user.x', Buffer.from('y'));
    const found = await fsck(tree);
    deepEqual(kinds(found), ['stray-rows']);
    await fsck(tree, { repair: true });
    deepEqual((await fsck(tree)).problems, []);
  });
});
