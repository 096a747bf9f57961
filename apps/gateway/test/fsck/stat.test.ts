import { deepEqual, equal, match } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { statPath } from '../../src/cli/commands/stat.ts';
import { putStream, removeAllStreams } from '../../src/protocols/smb/streams.ts';
import { openNamespace } from '../../src/storage/open.ts';
import { ROOT } from '../../src/storage/types.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { ALICE } from './fixture.ts';
import { buildListingTree, type ListingTree } from './listing-tree.ts';

process.env.TZ = 'UTC';

describe('cfs stat', () => {
  let t: ListingTree;
  before(async () => {
    t = await buildListingTree();
  });
  after(() => t.ns.close());

  test('1 a regular file: size, blocks, type, inode, links, mode, owner, times with nanoseconds, generation, layout', async () => {
    const out = await statPath(t.ns, '/export/readme.txt');
    equal(out.exitCode, 0);
    const a = await t.ns.getattr(t.ino['/export/readme.txt']!);
    const lines = out.stdout.split('\n');
    equal(lines[0], '  File: /export/readme.txt');
    equal(lines[1], '  Size: 12        \tBlocks: 8          IO Block: 4096   regular file');
    equal(lines[2], `Inode: ${String(a.ino).padEnd(11)} Links: 2     Generation: ${a.generation}`);
    equal(lines[3], 'Access: (0644/-rw-r--r--)  Uid: ( 1000)   Gid: ( 1000)');
    equal(lines[4], 'Access: 2024-11-28 04:21:00.123456789 +0000');
    equal(lines[5], 'Modify: 2024-11-28 04:21:00.123456789 +0000');
    match(lines[6]!, /^Change: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} \+0000$/);
    equal(lines[7], ' Birth: 2024-11-28 04:21:00.123456789 +0000');
    equal(lines[8], `Layout: own blob ${a.ino.toString(16).padStart(12, '0')} (12 bytes stored)`);
  });

  test('2 a symlink shows its target; a directory its type; special bits show in both mode forms', async () => {
    equal(
      (await statPath(t.ns, '/export/link')).stdout.split('\n')[0],
      '  File: /export/link -> docs/readme.txt',
    );
    const dir = (await statPath(t.ns, '/export')).stdout.split('\n');
    match(dir[1]!, /IO Block: 4096 {3}directory$/);
    equal(dir[3], 'Access: (1777/drwxrwxrwt)  Uid: (    0)   Gid: (    0)');
    equal(dir[8], 'Layout: none');
    equal(
      (await statPath(t.ns, '/export/setuid')).stdout.split('\n')[1]!.endsWith('regular empty file'),
      true,
    );
  });

  test('3 a composite file shows its extents', async () => {
    const p1 = await t.ns.createDetached(ALICE, 0o644, 'upload');
    await t.ns.write(ALICE, p1.ino, 0n, Buffer.from('abc'));
    const p2 = await t.ns.createDetached(ALICE, 0o644, 'upload');
    await t.ns.write(ALICE, p2.ino, 0n, Buffer.from('def'));
    const whole = await t.ns.compose(ALICE, [p1.ino, p2.ino], 'upload');
    await t.ns.linkDetached(ALICE, whole.ino, t.ino['/export']!, 'composed', false);
    equal((await statPath(t.ns, '/export/composed')).stdout.split('\n')[8], 'Layout: 2 extents over 2 blobs');
    const json = JSON.parse((await statPath(t.ns, '/export/composed', { json: true })).stdout);
    deepEqual(json.layout, {
      kind: 'extents',
      blobs: 2,
      extents: [
        { off: 0, len: 3, blob: p1.ino.toString(16).padStart(12, '0'), blobOff: 0 },
        { off: 3, len: 3, blob: p2.ino.toString(16).padStart(12, '0'), blobOff: 0 },
      ],
    });
  });

  test('3b a small file kept inline shows where its bytes are', async () => {
    const dir = makeTempDir('stat-inline');
    const ns = await openNamespace({
      metadataUrl: `sqlite://${dir}/meta.db`,
      transportUrl: `file://${dir}/data`,
      inlineMaxBytes: 16 * 1024,
    });
    try {
      const exp = await ns.ensureDirectory('/export', 0o1777);
      const f = await ns.create(ALICE, exp.ino, 'note.txt', 0o644);
      await ns.write(ALICE, f.ino, 0n, Buffer.from('kept with the metadata\n'));
      const out = await statPath(ns, '/export/note.txt');
      equal(out.stdout.split('\n')[8], 'Layout: inline in the metadata database (23 bytes stored)');
      deepEqual(JSON.parse((await statPath(ns, '/export/note.txt', { json: true })).stdout).layout, {
        kind: 'inline',
        storedBytes: 23,
      });
    } finally {
      await ns.close();
    }
  });

  test('4 --json carries the same attributes', async () => {
    const json = JSON.parse((await statPath(t.ns, '/export/readme.txt', { json: true })).stdout);
    deepEqual(
      [
        json.path,
        json.type,
        json.size,
        json.blocks,
        json.nlink,
        json.mode,
        json.permissions,
        json.uid,
        json.gid,
      ],
      ['/export/readme.txt', 'file', 12, 8, 2, '0644', '-rw-r--r--', 1000, 1000],
    );
    equal(json.mtimeNs, '1732767660123456789');
    equal(json.layout.kind, 'own-blob');
    equal(json.layout.storedBytes, 12);
  });

  test('4b a file’s SMB named streams are listed with their sizes, in text and JSON', async () => {
    const file = t.ino['/export/readme.txt']!;
    const zone = Buffer.from('[ZoneTransfer]\r\nZoneId=3\r\n');
    await putStream(t.ns, ROOT, file, 'Zone.Identifier', zone);
    await putStream(t.ns, ROOT, file, 'empty', Buffer.alloc(0));
    try {
      const lines = (await statPath(t.ns, '/export/readme.txt')).stdout.trimEnd().split('\n');
      equal(lines.at(-1), 'Streams: Zone.Identifier (26 bytes), empty (0 bytes) (SMB named streams)');
      deepEqual(JSON.parse((await statPath(t.ns, '/export/readme.txt', { json: true })).stdout).streams, [
        { name: 'Zone.Identifier', size: 26 },
        { name: 'empty', size: 0 },
      ]);
    } finally {
      await removeAllStreams(t.ns, ROOT, file);
    }
    equal((await statPath(t.ns, '/export/readme.txt')).stdout.includes('Streams:'), false);
  });

  test('5 a missing path is exit 1 with a clear message', async () => {
    const out = await statPath(t.ns, '/export/nope');
    equal(out.exitCode, 1);
    equal(out.stdout, '');
    equal(out.stderr, "stat: cannot stat '/export/nope': No such file or directory\n");
  });
});
