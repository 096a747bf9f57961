import { deepEqual, equal } from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { listPath } from '../../src/cli/commands/ls.ts';
import { buildListingTree, type ListingTree, NOW } from './listing-tree.ts';

process.env.TZ = 'UTC';

describe('cfs ls', () => {
  let t: ListingTree;
  before(async () => {
    t = await buildListingTree();
  });
  after(() => t.ns.close());

  test('1 ls -la lists ., .. and dot files sorted by name, with modes, links, owners, sizes, dates and link targets', async () => {
    const out = await listPath(t.ns, '/export', { long: true, all: true, nowNs: NOW });
    equal(out.exitCode, 0);
    equal(out.stderr, '');
    equal(
      out.stdout,
      [
        'total 20',
        'drwxrwxrwt 4 0    0    4096 Nov 28 04:21 .',
        'drwxr-xr-x 3 0    0    4096 Nov 28 04:21 ..',
        '-rw------- 1 1000 1000    0 Nov 28 04:21 .hidden',
        'drwxr-xr-x 2 1000 1000 4096 Nov 28 04:21 docs',
        'prw-r--r-- 1 1000 1000    0 Nov 28 04:21 fifo',
        'lrwxrwxrwx 1 1000 1000   15 Nov 28 04:21 link -> docs/readme.txt',
        '-rw-r--r-- 2 1000 1000   12 Nov 28 04:21 readme.txt',
        '-rw-r-Sr-- 1 0    0       0 Nov 28 04:21 setgid',
        '-rwsr-xr-x 1 0    0       0 Jan  5  2023 setuid',
        'drwxrwxrwT 2 0    0    4096 Nov 28 04:21 sticky',
        '',
      ].join('\n'),
    );
  });

  test('2 without -a, dot files and . and .. are hidden; without -l, one name per line', async () => {
    const out = await listPath(t.ns, '/export', {});
    equal(out.stdout, 'docs\nfifo\nlink\nreadme.txt\nsetgid\nsetuid\nsticky\n');
  });

  test('3 ls -l of a file or a symlink shows that one entry as named, without a total', async () => {
    equal(
      (await listPath(t.ns, '/export/link', { long: true, nowNs: NOW })).stdout,
      'lrwxrwxrwx 1 1000 1000 15 Nov 28 04:21 /export/link -> docs/readme.txt\n',
    );
    equal((await listPath(t.ns, '/export/docs/hard', { long: true, nowNs: NOW })).stdout.split(' ')[1], '2');
  });

  test('4 a missing path is exit 1 with ls’s message', async () => {
    const out = await listPath(t.ns, '/export/nope', { long: true });
    equal(out.exitCode, 1);
    equal(out.stdout, '');
    equal(out.stderr, "ls: cannot access '/export/nope': No such file or directory\n");
    equal(
      (await listPath(t.ns, '/export/fifo/x', {})).stderr,
      "ls: cannot access '/export/fifo/x': Not a directory\n",
    );
  });

  test('5 --json gives every entry with its attributes', async () => {
    const out = await listPath(t.ns, '/export', { json: true, all: true });
    const entries = JSON.parse(out.stdout) as Array<Record<string, unknown>>;
    deepEqual(
      entries.map((e) => e.name),
      ['.', '..', '.hidden', 'docs', 'fifo', 'link', 'readme.txt', 'setgid', 'setuid', 'sticky'],
    );
    const link = entries.find((e) => e.name === 'link')!;
    equal(link.target, 'docs/readme.txt');
    equal(link.permissions, 'lrwxrwxrwx');
    const readme = entries.find((e) => e.name === 'readme.txt')!;
    deepEqual(
      [readme.ino, readme.type, readme.mode, readme.nlink, readme.uid, readme.size, readme.mtime],
      [Number(t.ino['/export/readme.txt']), 'file', '0644', 2, 1000, 12, '2024-11-28T04:21:00.123456789Z'],
    );
  });

  test('6 an entry whose inode is gone shows question marks, a message, and exit 1 (run fsck)', async () => {
    const db = new Database(join(t.stateDir, 'meta.db'));
    db.prepare("INSERT INTO dirents (parent, name, ino, type) VALUES (?, 'ghost', 9999, 1)").run(
      t.ino['/export']!,
    );
    db.close();
    const out = await listPath(t.ns, '/export', { long: true, nowNs: NOW });
    equal(out.exitCode, 1);
    equal(out.stderr, "ls: cannot access '/export/ghost': No such file or directory\n");
    equal(
      out.stdout.split('\n').find((l) => l.endsWith(' ghost')),
      '-????????? ? ?    ?       ?            ? ghost',
    );
  });
});
