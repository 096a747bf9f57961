import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCommand } from '../support/proc.ts';
import { buildTree, corrupt, type Tree } from './fixture.ts';
import { buildListingTree, configFor } from './listing-tree.ts';

const CFS = fileURLToPath(new URL('../../../../cfs', import.meta.url));

function writeConfig(stateDir: string): string {
  const file = configFor(stateDir);
  writeFileSync(file, `node:\n  state_dir: ${stateDir}\n`);
  return file;
}

const cfs = (args: string[]) => runCommand(CFS, args, { env: { TZ: 'UTC' }, timeoutMs: 60_000 });

describe('./cfs fsck, ls and stat end to end', () => {
  test('1 fsck: exit 0 clean, 1 with a problem (JSON when not a terminal), --repair fixes it, then clean', async () => {
    const tree: Tree = await buildTree();
    const config = writeConfig(tree.stateDir);
    const clean = await cfs(['fsck', '--config', config]);
    equal(clean.code, 0, clean.output);
    equal(JSON.parse(clean.stdout).clean, true);

    corrupt(tree, 'DELETE FROM dirents WHERE ino = ?', tree.ino['/export/docs/sub/deep.bin']!);
    const found = await cfs(['fsck', '--config', config]);
    equal(found.code, 1, found.output);
    deepEqual(
      JSON.parse(found.stdout).problems.map((p: { kind: string }) => p.kind),
      ['orphan-inode'],
    );
    const scoped = await cfs(['fsck', '/export/docs', '--json', '--config', config]);
    equal(scoped.code, 0, 'the orphan is outside any path');

    const fixed = await cfs(['fsck', '--repair', '--config', config]);
    equal(fixed.code, 0, fixed.output);
    const again = await cfs(['fsck', '--config', config]);
    equal(again.code, 0, again.output);
    const listed = await cfs(['ls', '/lost+found', '--config', config]);
    equal(listed.stdout, `${tree.ino['/export/docs/sub/deep.bin']}\n`);
  });

  test('2 fsck --repair is refused with exit 2 while the gateway PID file names a live process', async () => {
    const tree = await buildTree();
    const config = writeConfig(tree.stateDir);
    writeFileSync(join(tree.stateDir, 'gateway.pid'), `${process.pid}\n`);
    const refused = await cfs(['fsck', '--repair', '--config', config]);
    equal(refused.code, 2);
    match(refused.stderr, /refusing to repair: a gateway \(PID \d+\) is running/);
  });

  test('3 fsck exits 2 when the configuration is unusable', async () => {
    const tree = await buildTree();
    const bad = join(tree.stateDir, 'bad.yaml');
    writeFileSync(bad, 'node: [not, a, mapping\n');
    const r = await cfs(['fsck', '--config', bad]);
    equal(r.code, 2, r.output);
    ok(r.stderr.length > 0);
    equal((await cfs(['fsck', '--config', join(tree.stateDir, 'missing.yaml')])).code, 2);
  });

  test('4 on a terminal fsck draws progress on stderr and prints the human report', {
    skip: !existsSync('/usr/bin/script') && 'needs script(1)',
  }, async () => {
    const tree = await buildTree();
    const config = writeConfig(tree.stateDir);
    corrupt(tree, 'UPDATE inodes SET nlink = 3 WHERE ino = ?', tree.ino['/export/fifo']!);
    const r = await runCommand('/usr/bin/script', ['-qec', `${CFS} fsck --config ${config}`, '/dev/null']);
    match(r.stdout, /fsck listing blobs \[/);
    match(
      r.stdout,
      /wrong-link-count ino \d+ \/export\/fifo: fifo has nlink 3, should be 1; --repair would set nlink to 1/,
    );
    match(r.stdout, /1 problem found; --repair would fix 1; checked 10 inodes/);
  });

  test('5 ls -la and stat on the real command; a missing path is exit 1', async () => {
    const t = await buildListingTree();
    await t.ns.close();
    const config = writeConfig(t.stateDir);
    const ls = await cfs(['ls', '-la', '/export', '--config', config]);
    equal(ls.code, 0, ls.output);
    const lines = ls.stdout.trimEnd().split('\n');
    equal(lines[0], 'total 20');
    equal(lines[1], 'drwxrwxrwt 4 0    0    4096 Nov 28  2024 .');
    ok(lines.includes('lrwxrwxrwx 1 1000 1000   15 Nov 28  2024 link -> docs/readme.txt'), ls.stdout);
    ok(lines.includes('-rwsr-xr-x 1 0    0       0 Jan  5  2023 setuid'), ls.stdout);

    const missing = await cfs(['ls', '-l', '/export/nope', '--config', config]);
    equal(missing.code, 1);
    equal(missing.stderr, "ls: cannot access '/export/nope': No such file or directory\n");

    const st = await cfs(['stat', '/export/readme.txt', '--config', config]);
    equal(st.code, 0, st.output);
    match(
      st.stdout,
      /^ {2}File: \/export\/readme\.txt\n {2}Size: 12 +\tBlocks: 8 +IO Block: 4096 {3}regular file\n/,
    );
    match(st.stdout, /\nAccess: \(0644\/-rw-r--r--\) {2}Uid: \( 1000\) {3}Gid: \( 1000\)\n/);
    match(st.stdout, /\nModify: 2024-11-28 04:21:00\.123456789 \+0000\n/);
    const json = JSON.parse((await cfs(['stat', '/export/link', '--json', '--config', config])).stdout);
    equal(json.target, 'docs/readme.txt');

    const gone = await cfs(['stat', '/export/nope', '--config', config]);
    equal(gone.code, 1);
    equal(gone.stderr, "stat: cannot stat '/export/nope': No such file or directory\n");
  });
});
