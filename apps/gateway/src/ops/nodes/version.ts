import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository (or install) root: the nearest folder above this file with a package-lock.json. */
function installRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package-lock.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The commit checked out at `root`, read from .git without running git; undefined when there is none. */
function commitOf(root: string): string | undefined {
  try {
    let gitDir = join(root, '.git');
    if (statSync(gitDir).isFile()) {
      gitDir = join(
        root,
        readFileSync(gitDir, 'utf8')
          .replace(/^gitdir:\s*/, '')
          .trim(),
      );
    }
    const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
    if (/^[0-9a-f]{40}$/.test(head)) return head;
    const ref = head.replace(/^ref:\s*/, '');
    if (existsSync(join(gitDir, ref))) return readFileSync(join(gitDir, ref), 'utf8').trim();
    const packed = readFileSync(join(gitDir, 'packed-refs'), 'utf8');
    return packed
      .split('\n')
      .find((l) => l.endsWith(` ${ref}`))
      ?.slice(0, 40);
  } catch {
    return undefined;
  }
}

let cached: string | undefined;

/**
 * What this gateway build calls itself in the node registry: the root package.json's version
 * (0.0.0 when it has none) and, from a git checkout, `+` the commit — so a rolling upgrade shows
 * which nodes run the new build.
 */
export function gatewayVersion(): string {
  if (cached !== undefined) return cached;
  const root = installRoot();
  let version = '0.0.0';
  try {
    if (root)
      version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string) ?? version;
  } catch {
    // No readable package.json: keep 0.0.0.
  }
  const commit = root ? commitOf(root) : undefined;
  cached = commit ? `${version}+${commit.slice(0, 7)}` : version;
  return cached;
}
