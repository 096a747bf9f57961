import { deepEqual, equal, ok } from 'node:assert/strict';
import { existsSync, rmSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { humanFsckReport } from '../../src/cli/format/fsck-report.ts';
import { blobPath } from '../../src/storage/fsck/blob-files.ts';
import { runFsck } from '../../src/storage/fsck/index.ts';
import { openNamespace } from '../../src/storage/open.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { ALICE, buildTree, fsck, kinds } from './fixture.ts';

/**
 * A file's own blob (layout 0) deleted behind the gateway: its acknowledged bytes read back as
 * zeros, so fsck reports it — in a local data folder, which makes every file's blob with the
 * file, so a file sized by truncate and never written still has one (an empty blob, or none
 * at all while its bytes are kept inline).
 */
describe('fsck: a file whose own blob is gone', () => {
  test('1 a written file without its blob is blob-missing with inode and path, in JSON and text; --repair leaves it', async () => {
    const tree = await buildTree();
    const ino = tree.ino['/export/docs/sub/deep.bin']!;
    const blob = blobPath(tree.dataDir, ino);
    rmSync(blob);
    const found = await fsck(tree);
    equal(found.clean, false);
    deepEqual(kinds(found), ['blob-missing']);
    const p = found.problems[0]!;
    equal(p.ino, Number(ino));
    equal(p.path, '/export/docs/sub/deep.bin');
    ok(p.detail.startsWith(`size 10, but its blob file ${blob} does not exist`), p.detail);
    ok(p.repair.startsWith('none'), p.repair);
    const json = JSON.parse(JSON.stringify(found)) as typeof found;
    equal(json.problems[0]!.kind, 'blob-missing');
    const text = humanFsckReport(found, false);
    ok(
      text.startsWith(`blob-missing ino ${ino} /export/docs/sub/deep.bin: size 10, but its blob file`),
      text,
    );
    const repaired = await fsck(tree, { repair: true });
    deepEqual(repaired.repaired, [], 'nothing is repaired');
    equal(existsSync(blob), false, 'and nothing made up in its place');
    deepEqual(kinds(await fsck(tree)), ['blob-missing'], 'lost data stays reported');
  });

  test('2 genuinely sparse files (sized by truncate, never written) are clean, inline or not', async () => {
    for (const inlineMaxBytes of [0, 16 * 1024]) {
      const state = makeTempDir('fsck-sparse');
      const ns = await openNamespace({
        metadataUrl: `sqlite://${join(state, 'meta.db')}`,
        transportUrl: `file://${join(state, 'data')}`,
        inlineMaxBytes,
      });
      const exp = await ns.ensureDirectory('/export', 0o1777);
      for (const [name, size] of [
        ['small', 1000n],
        ['large', 1n << 30n],
      ] as const) {
        const f = await ns.create(ALICE, exp.ino, name, 0o644);
        await ns.setattr(ALICE, f.ino, { size });
      }
      // Written, then extended: its blob is shorter than the file, by design.
      const w = await ns.create(ALICE, exp.ino, 'written-then-extended', 0o644);
      await ns.write(ALICE, w.ino, 0n, Buffer.alloc(20_000, 1));
      await ns.setattr(ALICE, w.ino, { size: 1n << 20n });
      await ns.close();
      const r = await runFsck({
        dbFile: join(state, 'meta.db'),
        dataDir: join(state, 'data'),
        stateDir: state,
      });
      deepEqual(r.problems, [], `inline_max ${inlineMaxBytes}`);
    }
  });

  test('3 a blob cut short is not told from a file written and then extended: not reported', async () => {
    const tree = await buildTree();
    truncateSync(blobPath(tree.dataDir, tree.ino['/export/docs/readme.txt']!), 3);
    deepEqual((await fsck(tree)).problems, []);
  });
});
