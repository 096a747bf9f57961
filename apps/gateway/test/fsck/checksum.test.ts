import { deepEqual, equal, ok } from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { describe, test } from 'node:test';
import { blobPath } from '../../src/storage/fsck/blob-files.ts';
import { ETAG_CHANGE_XATTR, ETAG_MD5_XATTR } from '../../src/storage/fsck/index.ts';
import { ROOT } from '../../src/storage/types.ts';
import { buildTree, fsck, kinds, type Tree } from './fixture.ts';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/** Records an MD5 the way the S3 server does: current as of the change value the xattr write leaves. */
async function recordEtag(tree: Tree, path: string, hex: string): Promise<void> {
  const ns = await tree.open();
  try {
    const a = await ns.resolvePath(ROOT, path);
    await ns.setXattrs(ROOT, a.ino, {
      [ETAG_MD5_XATTR]: Buffer.from(hex),
      [ETAG_CHANGE_XATTR]: Buffer.from(String(a.changeId + 1n)),
    });
    equal((await ns.getattr(a.ino)).changeId, a.changeId + 1n);
  } finally {
    await ns.close();
  }
}

function rotBytes(path: string, offset: number, bytes: string): void {
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.from(bytes), 0, bytes.length, offset);
  closeSync(fd);
}

describe('fsck: stored checksums', () => {
  test('1 current MD5s of an own-blob file, a composite file and a sparse file verify', async () => {
    const tree = await buildTree();
    await recordEtag(tree, '/export/docs/readme.txt', md5('hello world\n'));
    await recordEtag(tree, '/export/big.bin', md5('part one|part two'));
    await recordEtag(
      tree,
      '/export/sparse',
      createHash('md5')
        .update(Buffer.alloc(1 << 20))
        .digest('hex'),
    );
    const report = await fsck(tree);
    deepEqual(report.problems, []);
    equal(report.info.checksumsVerified, 3);
  });

  test('2 bytes changed on the data store behind the namespace are a checksum mismatch that no repair hides', async () => {
    const tree = await buildTree();
    await recordEtag(tree, '/export/docs/readme.txt', md5('hello world\n'));
    rotBytes(blobPath(tree.dataDir, tree.ino['/export/docs/readme.txt']!), 0, 'j');
    const found = await fsck(tree);
    deepEqual(kinds(found), ['checksum-mismatch']);
    const p = found.problems[0]!;
    equal(p.path, '/export/docs/readme.txt');
    ok(p.detail.includes(md5('jello world\n')) && p.detail.includes(md5('hello world\n')), p.detail);
    const after = await fsck(tree, { repair: true });
    deepEqual(after.repaired, []);
    deepEqual(kinds(await fsck(tree)), ['checksum-mismatch']);
  });

  test('3 an MD5 recorded before a later change is not checked (it no longer describes the file)', async () => {
    const tree = await buildTree();
    await recordEtag(tree, '/export/docs/readme.txt', md5('hello world\n'));
    const ns = await tree.open();
    try {
      await ns.write(ROOT, tree.ino['/export/docs/readme.txt']!, 0n, Buffer.from('j'));
    } finally {
      await ns.close();
    }
    const report = await fsck(tree);
    deepEqual(report.problems, []);
    equal(report.info.checksumsVerified, 0);
  });

  test('4 a file with only one of the two attributes has nothing to check', async () => {
    const tree = await buildTree();
    const ns = await tree.open();
    try {
      await ns.setXattrs(ROOT, tree.ino['/export/docs/readme.txt']!, {
        [ETAG_MD5_XATTR]: Buffer.from(md5('other')),
      });
    } finally {
      await ns.close();
    }
    deepEqual((await fsck(tree)).problems, []);
  });
});
