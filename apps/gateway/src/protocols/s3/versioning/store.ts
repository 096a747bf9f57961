import { randomBytes } from 'node:crypto';
import { isFsError } from '../../../storage/errors.ts';
import type { Namespace } from '../../../storage/namespace.ts';
import {
  type Attributes,
  type Credential,
  type DirEntry,
  KEPT_VERSION_HOLD,
  ROOT,
} from '../../../storage/types.ts';
import type { KeyPath } from '../keys.ts';
import type { TreeShape } from '../listing.ts';
import { holdNs, lockStateOf } from '../object-lock/retention.ts';

/**
 * Where the noncurrent versions and delete markers of versioned buckets live: a hidden
 * directory under the namespace root, outside every bucket (so never listed, never seen by an
 * NFS or SMB client of a bucket), one tree per bucket named by the bucket directory's inode.
 * A key's versions sit in a container directory on the key's path: prefixes are directories
 * `d<name>`, the key's container `k<name>`, so an object `a` and objects under `a/` — which
 * can follow each other in a key's history — never meet. In the container each version is
 * the object's own inode, linked under its version id; a delete marker is an empty file marked
 * `s3.delete-marker`. The current version stays where every protocol sees it, in the bucket.
 * A kept version is read-only (KEPT_VERSION_HOLD) once the write or delete that replaced it is
 * done: an NFS handle or SMB open taken while it was current cannot change it.
 */
export const VERSIONS_DIR = '/.cfs-versions';
/** The version id of an object written by S3 while its bucket's versioning was Enabled. */
export const VERSION_ID_XATTR = 's3.version-id';
export const DELETE_MARKER_XATTR = 's3.delete-marker';
/**
 * A kept version's ETag, frozen when it was kept: moving an inode changes its change id, which
 * voids the ETag recorded for it (etag.ts), and a multipart ETag cannot be computed again.
 */
export const VERSION_ETAG_XATTR = 's3.version-etag';
/** The id S3 gives an object written without versioning (or while it was suspended). */
export const NULL_VERSION = 'null';

const PREFIX_TAG = 'd';
const KEY_TAG = 'k';
const VERSION_ID = /^[0-9a-f]{32}$/;
const READDIR_PAGE = 1024;

export const isVersionId = (v: string): boolean => v === NULL_VERSION || VERSION_ID.test(v);

let lastMicros = 0n;

/**
 * A new version id: 16 hex digits of microseconds since the epoch (strictly increasing in this
 * process), then 16 random ones — so ids sort by age and no two gateways collide.
 */
export function newVersionId(): string {
  let us = BigInt(Date.now()) * 1000n;
  if (us <= lastMicros) us = lastMicros + 1n;
  lastMicros = us;
  return us.toString(16).padStart(16, '0') + randomBytes(8).toString('hex');
}

/** The id of an object in the bucket tree: recorded when written versioned, else "null". */
export function versionIdOf(xattrs: ReadonlyMap<string, Buffer>): string {
  return xattrs.get(VERSION_ID_XATTR)?.toString() ?? NULL_VERSION;
}

export interface StoredVersion {
  versionId: string;
  attrs: Attributes;
  /** A delete marker (an empty file), not content. */
  marker: boolean;
  /** The ETag the version had when it was current (undefined for a marker). */
  etag: string | undefined;
}

export class VersionStore {
  private readonly locks = new Map<string, Promise<unknown>>();

  /** The versions directory's inode, once found or made. */
  private dirIno: bigint | undefined;

  private constructor(private readonly ns: Namespace) {}

  /** The store; its directory is made by the first version kept, not before (an unused gateway has none). */
  static async open(ns: Namespace): Promise<VersionStore> {
    return new VersionStore(ns);
  }

  /** The versions directory (made with `create`), or undefined while there is none. */
  private async dir(create: boolean): Promise<bigint | undefined> {
    if (this.dirIno !== undefined) return this.dirIno;
    try {
      this.dirIno = (await this.ns.resolvePath(ROOT, VERSIONS_DIR)).ino;
    } catch (e) {
      if (!isFsError(e, 'ENOENT')) throw e;
      if (create) this.dirIno = (await this.ns.ensureDirectory(VERSIONS_DIR, 0o700)).ino;
    }
    return this.dirIno;
  }

  /** The root of a bucket's version tree, made with `create`; undefined when it has none. */
  private async treeOf(bucketIno: bigint, create: boolean): Promise<Attributes | undefined> {
    const dir = await this.dir(create);
    return dir === undefined ? undefined : await this.child(dir, String(bucketIno), create);
  }

  /**
   * Runs `fn` alone among this gateway's writes of one key in a versioned bucket, so two PUTs
   * of a key each keep the object they replace.
   */
  async locked<T>(bucketIno: bigint, key: string, fn: () => Promise<T>): Promise<T> {
    const id = `${bucketIno}/${key}`;
    const before = this.locks.get(id) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const settled = run.catch(() => {});
    this.locks.set(id, settled);
    try {
      return await run;
    } finally {
      if (this.locks.get(id) === settled) this.locks.delete(id);
    }
  }

  /** The key's container (created along its path with `create`), or undefined. */
  async container(bucketIno: bigint, kp: KeyPath, create: boolean): Promise<Attributes | undefined> {
    const tree = await this.treeOf(bucketIno, create);
    if (!tree) return undefined;
    let at = tree.ino;
    let attrs: Attributes | undefined;
    for (const name of [...kp.dirs.map((d) => PREFIX_TAG + d), KEY_TAG + kp.name]) {
      attrs = await this.child(at, name, create);
      if (!attrs) return undefined;
      at = attrs.ino;
    }
    return attrs;
  }

  private async child(dir: bigint, name: string, create: boolean): Promise<Attributes | undefined> {
    try {
      return await this.ns.lookup(ROOT, dir, name);
    } catch (e) {
      if (!isFsError(e, 'ENOENT')) throw e;
    }
    if (!create) return undefined;
    try {
      return await this.ns.mkdir(ROOT, dir, name, 0o700);
    } catch (e) {
      if (!isFsError(e, 'EEXIST')) throw e;
      return await this.ns.lookup(ROOT, dir, name);
    }
  }

  /**
   * A container's versions, the newest first (by last write, then by id), without the key's
   * current object (`current`) — kept too when a write crashed between keeping and replacing it.
   */
  async versionsIn(container: Attributes, current?: bigint): Promise<StoredVersion[]> {
    const out: StoredVersion[] = [];
    for (const e of await this.entries(container.ino)) {
      if (e.type !== 'file' || e.ino === current) continue;
      const v = await this.describe(e.name, e.ino);
      if (v) out.push(v);
    }
    return out.sort(newestFirst);
  }

  async versions(bucketIno: bigint, kp: KeyPath): Promise<StoredVersion[]> {
    const c = await this.container(bucketIno, kp, false);
    return c ? await this.versionsIn(c) : [];
  }

  async find(bucketIno: bigint, kp: KeyPath, versionId: string): Promise<StoredVersion | undefined> {
    const c = await this.container(bucketIno, kp, false);
    if (!c) return undefined;
    try {
      const a = await this.ns.lookup(ROOT, c.ino, versionId);
      return await this.describe(versionId, a.ino);
    } catch (e) {
      if (isFsError(e, 'ENOENT')) return undefined;
      throw e;
    }
  }

  private async describe(versionId: string, ino: bigint): Promise<StoredVersion | undefined> {
    try {
      const attrs = await this.ns.getattr(ino);
      const xattrs = await this.ns.listXattrs(ino);
      return {
        versionId,
        attrs,
        marker: xattrs.has(DELETE_MARKER_XATTR),
        etag: xattrs.get(VERSION_ETAG_XATTR)?.toString(),
      };
    } catch (e) {
      if (isFsError(e, 'ENOENT') || isFsError(e, 'ESTALE')) return undefined;
      throw e;
    }
  }

  /**
   * Keeps an object that is about to be replaced or deleted: its inode is linked under its
   * version id (it stays in the bucket until the write that replaces it), its ETag frozen. A
   * version of that id already kept — the same inode after a crash, or an older "null" — is
   * the one replaced.
   */
  async keep(
    bucketIno: bigint,
    kp: KeyPath,
    current: Attributes,
    versionId: string,
    etag: string,
  ): Promise<void> {
    const c = await this.container(bucketIno, kp, true);
    if (!c) return;
    await this.ns.setXattrs(ROOT, current.ino, { [VERSION_ETAG_XATTR]: Buffer.from(etag) }, { quiet: true });
    for (let attempt = 1; ; attempt++) {
      try {
        await this.ns.link(ROOT, current.ino, c.ino, versionId);
        return;
      } catch (e) {
        if (!isFsError(e, 'EEXIST') || attempt === 3) throw e;
      }
      const there = await this.ns.lookup(ROOT, c.ino, versionId).catch(() => undefined);
      if (there?.ino === current.ino) return;
      if (there) await this.ns.remove(ROOT, c.ino, versionId);
    }
  }

  /**
   * Makes a kept version read-only for every protocol, once the write or delete that replaced
   * it is done (before, a failed write would leave the current object read-only). Not while
   * the inode has another name (a hard link made over NFS), nor under a legal hold (already
   * immutable for good).
   */
  async freeze(ino: bigint): Promise<void> {
    const a = await this.ns.getattr(ino);
    if (a.nlink > 1n || a.immutableUntilNs >= KEPT_VERSION_HOLD) return;
    await this.ns.setImmutableUntil(ino, KEPT_VERSION_HOLD);
  }

  /** A version leaving the versions tree (made current, or removed) takes its Object Lock's hold back. */
  private async thaw(a: Attributes, hold: () => Promise<bigint>): Promise<void> {
    if (a.immutableUntilNs === KEPT_VERSION_HOLD) await this.ns.setImmutableUntil(a.ino, await hold());
  }

  /** A delete marker of that id, owned by whoever deleted. */
  async addMarker(bucketIno: bigint, kp: KeyPath, versionId: string, by: Credential): Promise<void> {
    const c = await this.container(bucketIno, kp, true);
    if (!c) return;
    await this.ns.remove(ROOT, c.ino, versionId).catch((e: unknown) => {
      if (!isFsError(e, 'ENOENT')) throw e;
    });
    const a = await this.ns.create(ROOT, c.ino, versionId, 0o644, undefined, { uid: by.uid, gid: by.gid });
    await this.ns.setXattrs(ROOT, a.ino, { [DELETE_MARKER_XATTR]: Buffer.from('1') });
  }

  /** Removes a kept version for good (its bytes go with its last link); says whether one went. */
  async drop(bucketIno: bigint, kp: KeyPath, versionId: string): Promise<boolean> {
    const c = await this.container(bucketIno, kp, false);
    if (!c) return false;
    try {
      // The caller checked its Object Lock (deleteVersion, the lifecycle sweep).
      await this.thaw(await this.ns.lookup(ROOT, c.ino, versionId), async () => 0n);
      await this.ns.remove(ROOT, c.ino, versionId);
    } catch (e) {
      if (isFsError(e, 'ENOENT')) return false;
      throw e;
    }
    await this.prune(bucketIno, kp);
    return true;
  }

  /**
   * Moves a kept version back into the bucket as the key's current object (the newer ones were
   * deleted). Its ETag is recorded again for the change id the move gives it.
   */
  async promote(bucketIno: bigint, kp: KeyPath, v: StoredVersion, toDir: bigint): Promise<void> {
    const c = await this.container(bucketIno, kp, false);
    if (!c) return;
    await this.ns.rename(ROOT, c.ino, v.versionId, toDir, kp.name);
    await this.thaw(v.attrs, async () => holdNs(lockStateOf(await this.ns.listXattrs(v.attrs.ino))));
    await this.prune(bucketIno, kp);
  }

  /** Removes the key's container and prefix directories once empty. */
  private async prune(bucketIno: bigint, kp: KeyPath): Promise<void> {
    const dir = await this.dir(false);
    if (dir === undefined) return;
    const names = [String(bucketIno), ...kp.dirs.map((d) => PREFIX_TAG + d), KEY_TAG + kp.name];
    const chain: bigint[] = [dir];
    for (const name of names) {
      const a = await this.child(chain[chain.length - 1]!, name, false).catch(() => undefined);
      if (!a) return;
      chain.push(a.ino);
    }
    // Leave the bucket's own root (names[0]) for DeleteBucket.
    for (let i = names.length - 1; i >= 1; i--) {
      try {
        const page = await this.ns.readdir(ROOT, chain[i + 1]!, 0n, 1);
        if (page.entries.length > 0) return;
        await this.ns.rmdir(ROOT, chain[i]!, names[i]!);
      } catch {
        return;
      }
    }
  }

  /** Whether the bucket has any kept version or delete marker. */
  async hasVersions(bucketIno: bigint): Promise<boolean> {
    const root = await this.treeOf(bucketIno, false);
    if (!root) return false;
    return (await this.ns.readdir(ROOT, root.ino, 0n, 1)).entries.length > 0;
  }

  /** The bucket's (empty) tree goes with the bucket. */
  async forgetBucket(bucketIno: bigint): Promise<void> {
    const dir = await this.dir(false);
    if (dir !== undefined) await this.ns.rmdir(ROOT, dir, String(bucketIno)).catch(() => {});
  }

  /** The root of a bucket's version tree, for listing; undefined when it has none. */
  bucketRoot(bucketIno: bigint): Promise<Attributes | undefined> {
    return this.treeOf(bucketIno, false);
  }

  private async entries(dir: bigint): Promise<DirEntry[]> {
    const out: DirEntry[] = [];
    for (let cookie = 0n; ; ) {
      const page = await this.ns.readdir(ROOT, dir, cookie, READDIR_PAGE);
      out.push(...page.entries);
      if (page.eof || page.entries.length === 0) break;
      cookie = page.entries[page.entries.length - 1]!.cookie;
    }
    return out;
  }
}

/** How a bucket's version tree reads as keys: `d<name>` a prefix, `k<name>` a key's container. */
export const VERSION_TREE: TreeShape = {
  tags: [PREFIX_TAG, KEY_TAG],
  decode(name, ino, type) {
    if (type !== 'dir' || name.length < 2) return undefined;
    const rest = name.slice(1);
    if (name[0] === PREFIX_TAG) return { name: rest, ino, type: 'dir', sortKey: `${rest}/` };
    if (name[0] === KEY_TAG) return { name: rest, ino, type: 'file', sortKey: rest };
    return undefined;
  },
  objectType: 'dir',
};

function newestFirst(a: StoredVersion, b: StoredVersion): number {
  if (a.attrs.mtimeNs !== b.attrs.mtimeNs) return a.attrs.mtimeNs > b.attrs.mtimeNs ? -1 : 1;
  return a.versionId < b.versionId ? 1 : a.versionId > b.versionId ? -1 : 0;
}
