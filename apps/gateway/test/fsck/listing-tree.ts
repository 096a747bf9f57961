import { join } from 'node:path';
import type { OpenedNamespace } from '../../src/storage/open.ts';
import { ROOT } from '../../src/storage/types.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { ALICE, openTreeNamespace } from './fixture.ts';

/** 2024-11-28 04:21:00.123456789 UTC */
export const RECENT = 1_732_767_660_123_456_789n;
/** 2023-01-05 00:00:00 UTC */
export const OLD = 1_672_876_800_000_000_000n;
/** 2024-12-01 00:00:00 UTC: "now" for ls -l dates. */
export const NOW = 1_733_011_200_000_000_000n;

export interface ListingTree {
  stateDir: string;
  ns: OpenedNamespace;
  ino: Record<string, bigint>;
}

/**
 * /export (1777, root) holding .hidden, docs/ (with `hard`, a second name of readme.txt),
 * fifo, link -> docs/readme.txt, readme.txt ("hello world\n"), setgid (2644), setuid (4755,
 * old mtime), sticky/ (1776); every mtime pinned.
 */
export async function buildListingTree(): Promise<ListingTree> {
  const stateDir = makeTempDir('ls');
  const ns = await openTreeNamespace(stateDir);
  const ino: Record<string, bigint> = {};
  const exp = await ns.ensureDirectory('/export', 0o1777);
  ino['/export'] = exp.ino;
  ino['/export/.hidden'] = (await ns.create(ALICE, exp.ino, '.hidden', 0o600)).ino;
  const docs = await ns.mkdir(ALICE, exp.ino, 'docs', 0o755);
  ino['/export/docs'] = docs.ino;
  ino['/export/fifo'] = (await ns.mknod(ALICE, exp.ino, 'fifo', 'fifo', 0o644)).ino;
  ino['/export/link'] = (await ns.symlink(ALICE, exp.ino, 'link', 'docs/readme.txt')).ino;
  const readme = await ns.create(ALICE, exp.ino, 'readme.txt', 0o644);
  await ns.write(ALICE, readme.ino, 0n, Buffer.from('hello world\n'));
  await ns.link(ALICE, readme.ino, docs.ino, 'hard');
  ino['/export/readme.txt'] = readme.ino;
  ino['/export/setgid'] = (await ns.create(ROOT, exp.ino, 'setgid', 0o2644)).ino;
  ino['/export/setuid'] = (await ns.create(ROOT, exp.ino, 'setuid', 0o4755)).ino;
  ino['/export/sticky'] = (await ns.mkdir(ROOT, exp.ino, 'sticky', 0o1776)).ino;
  for (const [path, i] of [['/', ns.rootIno] as const, ...Object.entries(ino)]) {
    const mtimeNs = path === '/export/setuid' ? OLD : RECENT;
    await ns.setattr(ROOT, i, { mtimeNs, atimeNs: RECENT, btimeNs: RECENT });
  }
  return { stateDir, ns, ino };
}

export function configFor(stateDir: string): string {
  return join(stateDir, 'gateway.yaml');
}
