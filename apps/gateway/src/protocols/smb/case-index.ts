import { upcase } from './upcase.ts';

/**
 * Upper-cased names of large directories, for the case-insensitive lookups SMB needs over a
 * case-keeping namespace. An index is valid while its directory's changeId is the one it was
 * built at; a create through this server moves it along (`added`), so creating many files in one
 * directory does not rescan it each time. Any other change (NFS, S3, another process) shows as
 * a changeId the index does not know, and the next miss rebuilds it.
 */
interface DirIndex {
  changeId: bigint;
  names: Map<string, string>;
}

/** Directories smaller than this are scanned directly. */
export const INDEX_MIN_ENTRIES = 64;
const MAX_DIRS = 256;

export class CaseIndex {
  private readonly dirs = new Map<bigint, DirIndex>();

  /** The stored name for `upper` if the index for `dir` is current, else undefined (not known). */
  lookup(dir: bigint, changeId: bigint, upper: string): { known: boolean; name?: string } {
    const d = this.dirs.get(dir);
    if (!d || d.changeId !== changeId) return { known: false };
    this.dirs.delete(dir);
    this.dirs.set(dir, d);
    return { known: true, name: d.names.get(upper) };
  }

  build(dir: bigint, changeId: bigint, names: Iterable<string>): void {
    const m = new Map<string, string>();
    for (const n of names) {
      const u = upcase(n);
      if (!m.has(u)) m.set(u, n);
    }
    this.dirs.set(dir, { changeId, names: m });
    while (this.dirs.size > MAX_DIRS) this.dirs.delete(this.dirs.keys().next().value!);
  }

  /** A name this server just created in `dir`, whose changeId went from `before` to `after`. */
  added(dir: bigint, before: bigint, after: bigint, name: string): void {
    const d = this.dirs.get(dir);
    if (!d) return;
    if (d.changeId !== before) {
      this.dirs.delete(dir);
      return;
    }
    d.changeId = after;
    const u = upcase(name);
    if (!d.names.has(u)) d.names.set(u, name);
  }

  forget(dir: bigint): void {
    this.dirs.delete(dir);
  }
}

/** One index per namespace (every SMB server of the process shares it). */
const indexes = new WeakMap<object, CaseIndex>();

export function caseIndexFor(ns: object): CaseIndex {
  let i = indexes.get(ns);
  if (!i) {
    i = new CaseIndex();
    indexes.set(ns, i);
  }
  return i;
}
