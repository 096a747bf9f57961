import type Database from 'better-sqlite3';
import { ROOT_INO } from '../sqlite/store.ts';

/** Deeper than any real tree; a walk this long is a cycle. */
const MAX_DEPTH = 4096;

/**
 * Namespace paths of inodes, by walking the first entry naming each inode up to the root
 * (temp.fsck_links). Undefined when the walk does not reach the root (orphans, cycles).
 */
export class InodePaths {
  private readonly up: Database.Statement;
  private readonly known = new Map<bigint, string | undefined>([[ROOT_INO, '/']]);

  constructor(db: Database.Database) {
    this.up = db.prepare('SELECT parent, name FROM temp.fsck_links WHERE ino = ?');
  }

  of(ino: bigint): string | undefined {
    if (this.known.has(ino)) return this.known.get(ino);
    const names: string[] = [];
    const seen = new Set<bigint>();
    let at = ino;
    let path: string | undefined;
    for (let depth = 0; depth < MAX_DEPTH; depth++) {
      if (this.known.has(at)) {
        const base = this.known.get(at);
        path = base === undefined ? undefined : join(base, names.reverse());
        break;
      }
      if (seen.has(at)) break;
      seen.add(at);
      const row = this.up.get(at) as { parent: bigint; name: string } | undefined;
      if (!row) break;
      names.push(row.name);
      at = row.parent;
    }
    this.known.set(ino, path);
    return path;
  }

  /** The path of the entry `name` in directory `parent`. */
  entry(parent: bigint, name: string): string | undefined {
    const base = this.of(parent);
    return base === undefined ? undefined : join(base, [name]);
  }
}

function join(base: string, names: string[]): string {
  if (names.length === 0) return base;
  return `${base === '/' ? '' : base}/${names.join('/')}`;
}
