import { isFsError } from '../../storage/errors.ts';
import type { Namespace } from '../../storage/namespace.ts';
import type { Attributes, Credential, FileType } from '../../storage/types.ts';
import { compareKeys } from './keys.ts';
import { DIR_MARKER_XATTR } from './metadata.ts';

export interface SortedEntry {
  name: string;
  ino: bigint;
  type: FileType;
  /** The name as it sorts among keys: directories as `name/`, since their keys all start so. */
  sortKey: string;
}

const READDIR_PAGE = 4096;

/**
 * How a tree's entries read as keys. In a bucket, files are objects and directories prefixes;
 * in a bucket's version tree (versioning/store.ts) both are tagged directories.
 */
export interface TreeShape {
  /** An entry as it sorts among keys; undefined: not part of the listing. */
  decode(name: string, ino: bigint, type: FileType): SortedEntry | undefined;
  /** The type of what an object entry names. */
  objectType: FileType;
}

export const BUCKET_TREE: TreeShape = {
  decode: (name, ino, type) =>
    type === 'file' || type === 'dir'
      ? { name, ino, type, sortKey: type === 'dir' ? `${name}/` : name }
      : undefined,
  objectType: 'file',
};

/**
 * A directory's entries in S3 key order. The namespace pages directories by cookie (creation
 * order), so one directory is read whole and sorted; results are kept per (inode, change id)
 * — any entry added or removed moves the directory's change id — up to a bound on entries.
 */
export class DirectoryListings {
  private readonly cache = new Map<bigint, { changeId: bigint; entries: SortedEntry[] }>();
  private held = 0;

  constructor(
    private readonly ns: Namespace,
    private readonly maxEntries = 200_000,
  ) {}

  async sorted(cred: Credential, dir: Attributes, shape: TreeShape = BUCKET_TREE): Promise<SortedEntry[]> {
    if ((await this.ns.access(cred, dir.ino, 4)) === 0) {
      // readdir raises the namespace's own EACCES.
      await this.ns.readdir(cred, dir.ino, 0n, 1);
    }
    const hit = this.cache.get(dir.ino);
    if (hit && hit.changeId === dir.changeId) {
      this.cache.delete(dir.ino);
      this.cache.set(dir.ino, hit);
      return hit.entries;
    }
    const entries: SortedEntry[] = [];
    for (let cookie = 0n; ; ) {
      const page = await this.ns.readdir(cred, dir.ino, cookie, READDIR_PAGE);
      for (const e of page.entries) {
        const sorted = shape.decode(e.name, e.ino, e.type);
        if (sorted) entries.push(sorted);
      }
      if (page.eof || page.entries.length === 0) break;
      cookie = page.entries[page.entries.length - 1]!.cookie;
    }
    entries.sort((a, b) => compareKeys(a.sortKey, b.sortKey));
    if (hit) {
      this.cache.delete(dir.ino);
      this.held -= hit.entries.length;
    }
    if (entries.length <= this.maxEntries / 4) {
      this.cache.set(dir.ino, { changeId: dir.changeId, entries });
      this.held += entries.length;
      for (const [ino, v] of this.cache) {
        if (this.held <= this.maxEntries) break;
        this.cache.delete(ino);
        this.held -= v.entries.length;
      }
    }
    return entries;
  }
}

export interface ListedObject {
  key: string;
  attrs: Attributes;
}

export interface WalkOptions {
  prefix: string;
  /** Only keys strictly after this one (marker, start-after, continuation). */
  after: string;
}

/**
 * Walks a bucket's tree yielding objects in S3 key order: directories are visited in the
 * order of `name/` among their siblings, so `a-b` comes before `a/x`. Memory holds only the
 * sorted directories on the current path. Set `skip` to a key prefix to jump past every key
 * under it (a CommonPrefix already reported).
 */
export class BucketWalker {
  skip: string | undefined;

  constructor(
    private readonly ns: Namespace,
    private readonly listings: DirectoryListings,
    private readonly cred: Credential,
    private readonly opts: WalkOptions,
    private readonly shape: TreeShape = BUCKET_TREE,
  ) {}

  walk(bucket: Attributes): AsyncGenerator<ListedObject> {
    return this.dir(bucket, '');
  }

  private inSkip(key: string): boolean {
    return this.skip !== undefined && key.startsWith(this.skip);
  }

  private async *dir(dir: Attributes, base: string): AsyncGenerator<ListedObject> {
    const { prefix, after } = this.opts;
    let entries: SortedEntry[];
    try {
      entries = await this.listings.sorted(this.cred, dir, this.shape);
    } catch (e) {
      // An unreadable or vanished subdirectory is left out; the bucket itself is checked by the caller.
      if (base !== '' && (isFsError(e, 'EACCES') || isFsError(e, 'ESTALE') || isFsError(e, 'ENOENT'))) return;
      throw e;
    }
    let i = this.startIndex(entries, base);
    for (; i < entries.length; i++) {
      if (base !== '' && this.inSkip(base)) return;
      const e = entries[i]!;
      const full = base + e.sortKey;
      if (!full.startsWith(prefix) && !(e.type === 'dir' && prefix.startsWith(full))) {
        if (compareKeys(full, prefix) > 0) return;
        continue;
      }
      if (this.inSkip(full)) continue;
      if (e.type === 'file') {
        if (compareKeys(full, after) <= 0) continue;
        const attrs = await this.attrs(e.ino);
        if (attrs?.type === this.shape.objectType) yield { key: full, attrs };
        continue;
      }
      // A directory: its keys are `full` (a marker) and everything under it.
      if (compareKeys(full, after) <= 0 && !after.startsWith(full)) continue;
      const attrs = await this.attrs(e.ino);
      if (attrs?.type !== 'dir') continue;
      if (
        compareKeys(full, after) > 0 &&
        full.startsWith(prefix) &&
        (await this.ns.getXattr(attrs.ino, DIR_MARKER_XATTR))
      ) {
        yield { key: full, attrs };
        if (this.inSkip(full)) continue;
      }
      yield* this.dir(attrs, full);
    }
  }

  /** First entry that can hold a key ≥ max(after, prefix) (binary search on the sort key). */
  private startIndex(entries: SortedEntry[], base: string): number {
    const { prefix, after } = this.opts;
    const lb = compareKeys(after, prefix) > 0 ? after : prefix;
    if (!lb.startsWith(base) || lb.length === base.length) return 0;
    const t = lb.slice(base.length);
    const slash = t.indexOf('/');
    const head = slash < 0 ? t : t.slice(0, slash + 1);
    let lo = 0;
    let hi = entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(entries[mid]!.sortKey, head) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private async attrs(ino: bigint): Promise<Attributes | undefined> {
    try {
      return await this.ns.getattr(ino);
    } catch {
      return undefined;
    }
  }
}

export interface ListPage {
  objects: ListedObject[];
  prefixes: string[];
  truncated: boolean;
  /** The last key or CommonPrefix returned (NextMarker / continuation). */
  last: string | undefined;
}

/** The CommonPrefix a key falls under (up to the first delimiter after the prefix), if any. */
export function commonPrefixOf(key: string, prefix: string, delimiter: string): string | undefined {
  if (delimiter === '') return undefined;
  const at = key.indexOf(delimiter, prefix.length);
  return at < 0 ? undefined : key.slice(0, at + delimiter.length);
}

/**
 * One page of a listing: up to maxKeys objects and CommonPrefixes together, grouped by the
 * delimiter. A CommonPrefix at or before `after` was reported by an earlier page.
 */
export async function listPage(
  ns: Namespace,
  listings: DirectoryListings,
  cred: Credential,
  bucket: Attributes,
  o: WalkOptions & { delimiter: string; maxKeys: number },
): Promise<ListPage> {
  const page: ListPage = { objects: [], prefixes: [], truncated: false, last: undefined };
  if (o.maxKeys === 0) return page;
  const walker = new BucketWalker(ns, listings, cred, o);
  for await (const obj of walker.walk(bucket)) {
    const cp = commonPrefixOf(obj.key, o.prefix, o.delimiter);
    if (cp !== undefined) {
      walker.skip = cp;
      if (compareKeys(cp, o.after) <= 0) continue;
    }
    if (page.objects.length + page.prefixes.length === o.maxKeys) {
      page.truncated = true;
      break;
    }
    if (cp !== undefined) {
      page.prefixes.push(cp);
      page.last = cp;
    } else {
      page.objects.push(obj);
      page.last = obj.key;
    }
  }
  return page;
}
