import { createHash } from 'node:crypto';
import { ETAG_CHANGE_XATTR, ETAG_MD5_XATTR } from '../../storage/fsck/index.ts';
import type { Namespace } from '../../storage/namespace.ts';
import { type Attributes, ROOT } from '../../storage/types.ts';

export { ETAG_CHANGE_XATTR, ETAG_MD5_XATTR };
/** `<hex>-<parts>` of a completed multipart upload (not a content MD5, so fsck leaves it alone). */
export const ETAG_MULTIPART_XATTR = 's3.etag-multipart';
/**
 * A completed multipart object's part sizes, comma-separated, for GET and HEAD `?partNumber=`:
 * meaningful while its multipart ETag is the current one (partSizes).
 */
export const ETAG_PARTS_XATTR = 's3.etag-parts';

export const EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e';
const READ_CHUNK = 4 * 1024 * 1024;

/**
 * The attributes recording an ETag for the inode's change id: a content MD5 (single part;
 * fsck verifies it) or a multipart ETag. `changeId` must be the id the inode will have once
 * the write that produced the content is visible.
 */
export function etagXattrs(
  etag: { md5Hex: string } | { multipart: string; partSizes?: readonly bigint[] },
  changeId: bigint,
): Record<string, Buffer | undefined> {
  const change = Buffer.from(String(changeId));
  if ('md5Hex' in etag) {
    return {
      [ETAG_MD5_XATTR]: Buffer.from(etag.md5Hex),
      [ETAG_CHANGE_XATTR]: change,
      [ETAG_MULTIPART_XATTR]: undefined,
      [ETAG_PARTS_XATTR]: undefined,
    };
  }
  return {
    ...(etag.partSizes ? { [ETAG_PARTS_XATTR]: Buffer.from(etag.partSizes.join(',')) } : {}),
    [ETAG_MULTIPART_XATTR]: Buffer.from(etag.multipart),
    [ETAG_CHANGE_XATTR]: change,
    [ETAG_MD5_XATTR]: undefined,
  };
}

/** The stored ETag (unquoted) when it still belongs to the inode's current change id. */
export function storedEtag(attrs: Attributes, xattrs: ReadonlyMap<string, Buffer>): string | undefined {
  const at = xattrs.get(ETAG_CHANGE_XATTR);
  if (!at || at.toString() !== String(attrs.changeId)) return undefined;
  const multi = xattrs.get(ETAG_MULTIPART_XATTR);
  if (multi) return multi.toString();
  return xattrs.get(ETAG_MD5_XATTR)?.toString();
}

/**
 * The part sizes of an object whose ETag (current, or frozen with a kept version) is the
 * multipart one its parts were recorded with; undefined for any other object.
 */
export function partSizes(etag: string, xattrs: ReadonlyMap<string, Buffer>): bigint[] | undefined {
  const count = /-(\d+)$/.exec(etag)?.[1];
  const raw = xattrs.get(ETAG_PARTS_XATTR)?.toString();
  if (count === undefined || raw === undefined || !/^\d+(,\d+)*$/.test(raw)) return undefined;
  const sizes = raw.split(',').map(BigInt);
  return sizes.length === Number(count) ? sizes : undefined;
}

/**
 * An object's ETag: the one recorded at write when still current; else, for a kept version
 * (versioning), the one `frozen` when it was kept; otherwise (a file written or changed by
 * NFS/SMB) the MD5 of the content, computed now and cached as a quiet annotation — a later
 * change moves the change id and so voids it.
 */
export async function objectEtag(
  ns: Namespace,
  attrs: Attributes,
  xattrs: ReadonlyMap<string, Buffer>,
  frozen?: string,
): Promise<string> {
  if (attrs.type === 'dir') return EMPTY_MD5;
  const stored = storedEtag(attrs, xattrs) ?? frozen;
  if (stored) return stored;
  const md5Hex = await contentMd5(ns, attrs);
  // Hashing took time: annotate only if the content did not change meanwhile.
  const now = await ns.getattr(attrs.ino).catch(() => undefined);
  if (now && now.changeId === attrs.changeId) {
    await ns
      .setXattrs(ROOT, attrs.ino, etagXattrs({ md5Hex }, attrs.changeId), { quiet: true })
      .catch(() => {});
  }
  return md5Hex;
}

/** MD5 of the file as the namespace serves it (read as root: annotations are the gateway's). */
export async function contentMd5(ns: Namespace, attrs: Attributes): Promise<string> {
  const h = createHash('md5');
  for (let off = 0n; off < attrs.size; ) {
    const n = attrs.size - off < BigInt(READ_CHUNK) ? Number(attrs.size - off) : READ_CHUNK;
    const { data } = await ns.read(ROOT, attrs.ino, off, n);
    if (data.length === 0) break;
    h.update(data);
    off += BigInt(data.length);
  }
  return h.digest('hex');
}

/** S3's multipart ETag: MD5 of the parts' binary MD5s, then `-<count>`. */
export function multipartEtag(partMd5Hex: readonly string[]): string {
  const h = createHash('md5');
  for (const p of partMd5Hex) h.update(Buffer.from(p, 'hex'));
  return `${h.digest('hex')}-${partMd5Hex.length}`;
}

export const quoted = (etag: string) => `"${etag}"`;
