import { isFsError } from '../../storage/errors.ts';
import type { Namespace } from '../../storage/namespace.ts';
import {
  type Attributes,
  type Credential,
  type DirPlusEntry,
  type FileType,
  ROOT,
} from '../../storage/types.ts';
import { compareKeys } from './keys.ts';
import { DIR_MARKER_XATTR } from './metadata.ts';

export interface SortedEntry {
  name: string;
  ino: bigint;
  type: FileType;
  /** The name as it sorts among keys: directories as `name/`, since their keys all start so. */
  sortKey: string;
  /** As the page that listed the entry read them; undefined when the inode went meanwhile. */
  attrs?: Attributes;
}

/**
 * How a tree's entries read as keys. In a bucket, files are objects and directories prefixes;
 * in a bucket's version tree (versioning/store.ts) both are tagged directories.
 */
export interface TreeShape {
  /**
   * The name prefixes the listing reads, each a range of the directory in name order ('' for
   * every name); an entry's sort key is its name after the tag, with `/` for a directory.
   */
  tags: readonly string[];
  /** An entry as it sorts among keys; undefined: not part of the listing. */
  decode(name: string, ino: bigint, type: FileType): SortedEntry | undefined;
  /** The type of what an object entry names. */
  objectType: FileType;
}

export const BUCKET_TREE: TreeShape = {
  tags: [''],
  decode: (name, ino, type) =>
    type === 'file' || type === 'dir'
      ? { name, ino, type, sortKey: type === 'dir' ? `${name}/` : name }
      : undefined,
  objectType: 'file',
};

/** Rows a directory page reads at first; each later page doubles, up to the most. */
const FIRST_PAGE = 256;
const MOST_PAGE = 4096;
const SLASH = 0x2f;

/**
 * A directory's entries in S3 key order, read a page at a time from the namespace's name
 * index (bytewise, as keys compare), so a page of a listing costs the entries it returns,
 * whatever the directory's size.
 */
export class DirectoryListings {
  constructor(private readonly ns: Namespace) {}

  /**
   * The entries of `dir` whose sort keys are `head` or after it, in key order. The namespace's
   * access check answers before the first entry (EACCES, ENOTDIR, ESTALE).
   */
  async from(
    cred: Credential,
    dir: Attributes,
    head: string,
    shape: TreeShape = BUCKET_TREE,
  ): Promise<AsyncIterable<SortedEntry>> {
    const streams = await Promise.all(
      shape.tags.map((tag) => KeyOrdered.open(this.ns, cred, dir.ino, tag, head, shape)),
    );
    return streams.length === 1 ? streams[0]! : merged(streams);
  }
}

/**
 * One tag's entries turned from name order into key order. Name order is key order but for
 * a directory `d`, whose key `d/` sorts after the names that extend `d` with a byte below
 * `/` (`d-1`, `d.txt`): it is held back until the names pass its key. What is held is a few
 * names that are prefixes of one another.
 */
class KeyOrdered implements AsyncIterable<SortedEntry> {
  private held: SortedEntry[] = [];
  private page: DirPlusEntry[] = [];
  private at = 0;
  private eof = false;
  private pages = 0;

  private constructor(
    private readonly ns: Namespace,
    private readonly cred: Credential,
    private readonly dir: bigint,
    private readonly tag: string,
    private readonly shape: TreeShape,
    private after: string,
  ) {}

  static async open(
    ns: Namespace,
    cred: Credential,
    dir: bigint,
    tag: string,
    head: string,
    shape: TreeShape,
  ): Promise<KeyOrdered> {
    const s = new KeyOrdered(ns, cred, dir, tag, shape, tag + head);
    await s.fetch();
    // Names at or before the head whose keys are not: the head itself, and the directories
    // whose `name/` is at or after it (names the head extends with a byte up to `/`). Looked
    // up as root: the page just read showed that the caller may list the directory.
    for (const name of namesSortingFrom(tag, head)) {
      const a = await ns.lookup(ROOT, dir, name).catch(() => undefined);
      const e = a && shape.decode(name, a.ino, a.type);
      if (e && compareKeys(e.sortKey, head) >= 0) s.hold({ ...e, attrs: a });
    }
    return s;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<SortedEntry> {
    for (let e = await this.next(); e; e = await this.next()) yield e;
  }

  async next(): Promise<SortedEntry | undefined> {
    for (;;) {
      if (this.at === this.page.length) {
        if (this.eof) return this.held.shift();
        await this.fetch();
        continue;
      }
      const e = this.page[this.at]!;
      if (!e.name.startsWith(this.tag)) {
        this.eof = true;
        this.at = this.page.length;
        continue;
      }
      const rest = e.name.slice(this.tag.length);
      // Every name from here on is this one or after it: what is held before it goes first.
      if (this.held.length > 0 && compareKeys(this.held[0]!.sortKey, rest) < 0) return this.held.shift();
      this.at++;
      const d = e.attrs && this.shape.decode(e.name, e.ino, e.type);
      if (!d) continue;
      d.attrs = e.attrs;
      if (d.sortKey === rest) return d;
      this.hold(d);
    }
  }

  private hold(e: SortedEntry): void {
    let i = this.held.length;
    while (i > 0 && compareKeys(this.held[i - 1]!.sortKey, e.sortKey) > 0) i--;
    this.held.splice(i, 0, e);
  }

  private async fetch(): Promise<void> {
    const limit = Math.min(MOST_PAGE, FIRST_PAGE << this.pages++);
    const page = await this.ns.readdirByName(this.cred, this.dir, this.after, limit);
    this.page = page.entries;
    this.at = 0;
    this.eof = page.eof;
    if (page.entries.length > 0) this.after = page.entries[page.entries.length - 1]!.name;
  }
}

/**
 * The names (tag included) that sort before `head`, or are it, while their entries' keys may
 * not: see KeyOrdered.open. Never `.` or `..`, which a lookup answers as the directory itself
 * or its parent.
 */
function namesSortingFrom(tag: string, head: string): string[] {
  const names: string[] = [];
  for (let k = 1; k < head.length; k++) {
    const c = head.charCodeAt(k);
    if (c < SLASH || (c === SLASH && k === head.length - 1)) names.push(tag + head.slice(0, k));
  }
  if (head !== '' && !head.endsWith('/')) names.push(tag + head);
  return names.filter((n) => n !== '.' && n !== '..');
}

/** Several key-ordered streams as one. */
async function* merged(streams: KeyOrdered[]): AsyncGenerator<SortedEntry> {
  const heads = await Promise.all(streams.map((s) => s.next()));
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i];
      if (h && (best < 0 || compareKeys(h.sortKey, heads[best]!.sortKey) < 0)) best = i;
    }
    if (best < 0) return;
    yield heads[best]!;
    heads[best] = await streams[best]!.next();
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
    let entries: AsyncIterable<SortedEntry>;
    try {
      entries = await this.listings.from(this.cred, dir, this.head(base), this.shape);
    } catch (e) {
      // An unreadable or vanished subdirectory is left out; the bucket itself is checked by the caller.
      if (base !== '' && (isFsError(e, 'EACCES') || isFsError(e, 'ESTALE') || isFsError(e, 'ENOENT'))) return;
      throw e;
    }
    for await (const e of entries) {
      if (base !== '' && this.inSkip(base)) return;
      const full = base + e.sortKey;
      if (!full.startsWith(prefix) && !(e.type === 'dir' && prefix.startsWith(full))) {
        if (compareKeys(full, prefix) > 0) return;
        continue;
      }
      if (this.inSkip(full)) continue;
      const attrs = e.attrs;
      if (e.type === 'file') {
        if (compareKeys(full, after) <= 0) continue;
        if (attrs?.type === this.shape.objectType) yield { key: full, attrs };
        continue;
      }
      // A directory: its keys are `full` (a marker) and everything under it.
      if (compareKeys(full, after) <= 0 && !after.startsWith(full)) continue;
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

  /** The first sort key in a directory at `base` that can hold a key ≥ max(after, prefix). */
  private head(base: string): string {
    const { prefix, after } = this.opts;
    const lb = compareKeys(after, prefix) > 0 ? after : prefix;
    if (!lb.startsWith(base) || lb.length === base.length) return '';
    const t = lb.slice(base.length);
    const slash = t.indexOf('/');
    return slash < 0 ? t : t.slice(0, slash + 1);
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
