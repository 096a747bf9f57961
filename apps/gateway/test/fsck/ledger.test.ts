import { deepEqual, equal } from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { STREAM_XATTR_PREFIX } from '../../src/storage/annotations.ts';
import { blobPath } from '../../src/storage/fsck/blob-files.ts';
import { ALICE, buildTree, corrupt, fsck, kinds } from './fixture.ts';

describe('fsck: quota ledger', () => {
  test('1 ledger drift per uid and gid is reported and rewritten from the files', async () => {
    const tree = await buildTree();
    corrupt(tree, 'UPDATE usage SET bytes = bytes + 100 WHERE kind = 0 AND id = 1000');
    corrupt(tree, 'DELETE FROM usage WHERE kind = 1 AND id = 100');
    const found = await fsck(tree);
    deepEqual(kinds(found), ['ledger-drift', 'ledger-drift']);
    deepEqual(
      found.problems.map((p) => p.detail),
      [
        // alice: readme 12 + sparse 1 MiB + big.bin 17; inodes /export/docs, readme, link, fifo, sparse, big.bin
        'uid 1000: ledger says 1048705 bytes / 6 inodes, files hold 1048605 bytes / 6 inodes',
        // bob (gid 100): sub and deep.bin
        'gid 100: ledger says 0 bytes / 0 inodes, files hold 10 bytes / 2 inodes',
      ],
    );
    const fixed = await fsck(tree, { repair: true });
    equal(fixed.repaired.length, 2);
    deepEqual((await fsck(tree)).problems, []);
    const ns = await tree.open();
    try {
      deepEqual(await ns.quotaUsage('uid', 1000), { kind: 'uid', id: 1000, bytes: 1048605n, inodes: 6n });
      deepEqual(await ns.quotaUsage('gid', 100), { kind: 'gid', id: 100, bytes: 10n, inodes: 2n });
    } finally {
      await ns.close();
    }
  });

  test('1b named streams count with their file: a ledger that has them is clean, one that lost them drifts', async () => {
    const tree = await buildTree();
    const ns = await tree.open();
    try {
      const readme = tree.ino['/export/docs/readme.txt']!;
      await ns.setXattrs(ALICE, readme, { [`${STREAM_XATTR_PREFIX}Zone.Identifier`]: Buffer.alloc(300, 1) });
      deepEqual(await ns.quotaUsage('uid', 1000), { kind: 'uid', id: 1000, bytes: 1048905n, inodes: 6n });
    } finally {
      await ns.close();
    }
    deepEqual((await fsck(tree)).problems, []);
    corrupt(tree, 'UPDATE usage SET bytes = bytes - 300 WHERE kind = 0 AND id = 1000');
    deepEqual(
      (await fsck(tree)).problems.map((p) => p.detail),
      ['uid 1000: ledger says 1048605 bytes / 6 inodes, files hold 1048905 bytes / 6 inodes'],
    );
  });

  test('2 a file mid-upload counts in the ledger like any other inode', async () => {
    const tree = await buildTree();
    corrupt(
      tree,
      'INSERT INTO inodes (ino, gen, type, mode, nlink, uid, gid, size, atime, mtime, ctime, btime) VALUES (500, 1, 1, 420, 0, 1000, 1000, 5, 0, 0, 0, 0)',
    );
    corrupt(tree, "INSERT INTO detached (ino, created, purpose) VALUES (500, 0, 'upload')");
    // Its 5 bytes are stored (a missing blob would be a blob-missing problem of its own).
    writeFileSync(blobPath(tree.dataDir, 500n), 'bytes');
    const found = await fsck(tree);
    deepEqual(kinds(found), ['ledger-drift', 'ledger-drift']);
    deepEqual(
      found.problems.map((p) => p.detail.split(':')[0]),
      ['uid 1000', 'gid 1000'],
    );
  });
});
