import type { EntryChange, Namespace } from '../../storage/namespace.ts';
import { ROOT } from '../../storage/types.ts';

/** Entries read into one index at the most; a larger directory's index is partial. */
const MAX_ENTRIES = 100_000;
/** Directories indexed at once (least recently used go first). */
const MAX_DIRS = 256;
const PAGE = 1024;

interface DirIndex {
  byName: Map<string, bigint>;
  byIno: Map<bigint, string[]>;
}

/**
 * The names an inode has in a directory, for CHANGE_NOTIFY: a change made through a handle
 * (an NFS WRITE or SETATTR) names an inode, and a watcher wants the entry's name. An index is
 * read once per directory and then kept current by the namespace's change feed (`apply`, in
 * feed order), so a stream of writes costs one map lookup each.
 */
export class DirectoryNames {
  private readonly dirs = new Map<bigint, DirIndex>();

  constructor(private readonly ns: Namespace) {}

  /** Names `ino` has in `dir` (reads the directory once, on first use). */
  async namesIn(dir: bigint, ino: bigint): Promise<readonly string[]> {
    let d = this.dirs.get(dir);
    if (d) {
      this.dirs.delete(dir);
      this.dirs.set(dir, d);
    } else {
      d = await this.read(dir);
      if (!d) return [];
    }
    return d.byIno.get(ino) ?? [];
  }

  private async read(dir: bigint): Promise<DirIndex | undefined> {
    const d: DirIndex = { byName: new Map(), byIno: new Map() };
    let cookie = 0n;
    try {
      while (d.byName.size < MAX_ENTRIES) {
        const page = await this.ns.readdir(ROOT, dir, cookie, PAGE);
        for (const e of page.entries) add(d, e.name, e.ino);
        if (page.eof || page.entries.length === 0) break;
        cookie = page.entries.at(-1)!.cookie;
      }
    } catch {
      return undefined;
    }
    this.dirs.set(dir, d);
    while (this.dirs.size > MAX_DIRS) this.dirs.delete(this.dirs.keys().next().value!);
    return d;
  }

  /** Follows one change of an entry (the feed's order is the namespace's commit order). */
  apply(c: EntryChange): void {
    const d = this.dirs.get(c.dir);
    if (!d) return;
    if (c.action === 'removed' || c.action === 'renamed-from') drop(d, c.name);
    else add(d, c.name, c.ino);
    if (c.action === 'removed' && c.type === 'dir') this.dirs.delete(c.ino);
  }

  clear(): void {
    this.dirs.clear();
  }
}

function drop(d: DirIndex, name: string): void {
  const ino = d.byName.get(name);
  if (ino === undefined) return;
  d.byName.delete(name);
  const left = (d.byIno.get(ino) ?? []).filter((n) => n !== name);
  if (left.length > 0) d.byIno.set(ino, left);
  else d.byIno.delete(ino);
}

function add(d: DirIndex, name: string, ino: bigint): void {
  drop(d, name);
  d.byName.set(name, ino);
  const names = d.byIno.get(ino);
  if (names) names.push(name);
  else d.byIno.set(ino, [name]);
}
