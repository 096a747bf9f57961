import { join } from 'node:path';
import Database from 'better-sqlite3';
import { type FsckReport, runFsck } from '../../src/storage/fsck/index.ts';
import { type OpenedNamespace, openNamespace } from '../../src/storage/open.ts';
import { type Credential, ROOT } from '../../src/storage/types.ts';
import { makeTempDir } from '../support/tmpdir.ts';

export const ALICE: Credential = { uid: 1000, gid: 1000, gids: [] };
export const BOB: Credential = { uid: 1001, gid: 100, gids: [] };

export interface Tree {
  stateDir: string;
  dbFile: string;
  dataDir: string;
  /** Inode numbers by namespace path. */
  ino: Record<string, bigint>;
  open(): Promise<OpenedNamespace>;
}

export function openTreeNamespace(stateDir: string): Promise<OpenedNamespace> {
  return openNamespace({
    metadataUrl: `sqlite://${join(stateDir, 'meta.db')}`,
    transportUrl: `file://${join(stateDir, 'data')}`,
    cacheTtlMs: 0,
  });
}

/**
 * A namespace with one of everything fsck looks at, built through the namespace API and
 * closed again:
 *   /export (1777)   /export/docs/readme.txt ("hello world\n", alice)   /export/docs/hard (a hard link to it)
 *   /export/docs/sub/deep.bin (bob, 10 bytes)   /export/link -> docs/readme.txt   /export/fifo
 *   /export/sparse (size 1 MiB, no data, an empty blob)   /export/big.bin (composite: "part one|" + "part two")
 */
export async function buildTree(): Promise<Tree> {
  const stateDir = makeTempDir('fsck');
  const ns = await openTreeNamespace(stateDir);
  const ino: Record<string, bigint> = {};
  const exp = await ns.ensureDirectory('/export', 0o1777);
  ino['/export'] = exp.ino;
  const docs = await ns.mkdir(ALICE, exp.ino, 'docs', 0o755);
  ino['/export/docs'] = docs.ino;
  const readme = await ns.create(ALICE, docs.ino, 'readme.txt', 0o644);
  await ns.write(ALICE, readme.ino, 0n, Buffer.from('hello world\n'));
  ino['/export/docs/readme.txt'] = readme.ino;
  await ns.link(ALICE, readme.ino, docs.ino, 'hard');
  ino['/export/docs/hard'] = readme.ino;
  const sub = await ns.mkdir(BOB, exp.ino, 'sub', 0o750);
  await ns.rename(ROOT, exp.ino, 'sub', docs.ino, 'sub');
  ino['/export/docs/sub'] = sub.ino;
  const deep = await ns.create(BOB, sub.ino, 'deep.bin', 0o600);
  await ns.write(BOB, deep.ino, 0n, Buffer.from('0123456789'));
  ino['/export/docs/sub/deep.bin'] = deep.ino;
  ino['/export/link'] = (await ns.symlink(ALICE, exp.ino, 'link', 'docs/readme.txt')).ino;
  ino['/export/fifo'] = (await ns.mknod(ALICE, exp.ino, 'fifo', 'fifo', 0o644)).ino;
  const sparse = await ns.create(ALICE, exp.ino, 'sparse', 0o644);
  await ns.setattr(ALICE, sparse.ino, { size: 1n << 20n });
  ino['/export/sparse'] = sparse.ino;
  const p1 = await ns.createDetached(ALICE, 0o644, 'upload');
  await ns.write(ALICE, p1.ino, 0n, Buffer.from('part one|'));
  const p2 = await ns.createDetached(ALICE, 0o644, 'upload');
  await ns.write(ALICE, p2.ino, 0n, Buffer.from('part two'));
  const big = await ns.compose(ALICE, [p1.ino, p2.ino], 'upload');
  await ns.linkDetached(ALICE, big.ino, exp.ino, 'big.bin', false);
  ino['/export/big.bin'] = big.ino;
  ino.part1 = p1.ino;
  ino.part2 = p2.ino;
  await ns.close();
  // The namespace makes a new file's (empty) blob as it creates the file: the sparse file
  // keeps it, shorter than its size (fsck reports a missing own blob: extent-checks.ts).
  return {
    stateDir,
    dbFile: join(stateDir, 'meta.db'),
    dataDir: join(stateDir, 'data'),
    ino,
    open: () => openTreeNamespace(stateDir),
  };
}

/** Changes the metadata behind the namespace's back, as a bug or a bad disk would. */
export function corrupt(tree: Tree, sql: string, ...params: unknown[]): void {
  const db = new Database(tree.dbFile);
  try {
    db.prepare(sql).run(...params);
  } finally {
    db.close();
  }
}

export function fsck(tree: Tree, opts: { path?: string; repair?: boolean } = {}): Promise<FsckReport> {
  return runFsck({ dbFile: tree.dbFile, dataDir: tree.dataDir, stateDir: tree.stateDir, ...opts });
}

export function kinds(report: FsckReport): string[] {
  return report.problems.map((p) => p.kind);
}
