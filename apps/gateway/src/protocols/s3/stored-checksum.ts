import { CONTENT_CHECKSUM_XATTR, ETAG_CHANGE_XATTR } from '../../storage/annotations.ts';
import type { Attributes } from '../../storage/types.ts';
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm, checksumHeaderName } from './checksums/index.ts';

/**
 * The checksum a PUT's client sent (x-amz-checksum-*, verified before the object was linked),
 * kept as `CHANGE ALGORITHM BASE64` for the inode's change id at the write: answered back on a
 * GET or HEAD with `x-amz-checksum-mode: ENABLED` and by GetObjectAttributes while the content
 * is the one it was computed for. It is a content annotation (storage/annotations.ts): current
 * only while its own stamp and the ETag's are the inode's change id, and removed by the
 * namespace with the ETag's before bytes change in place — a write over NFS or SMB, finished or
 * cut short by a crash, never leaves it over other bytes, and an ETag computed afterwards does
 * not bring it back.
 */

export interface StoredChecksum {
  algorithm: ChecksumAlgorithm;
  /** Base64, as the header carries it. */
  value: string;
}

/** The attribute recording the first of `checksums` (in S3's order) for `changeId`; none: nothing. */
export function checksumXattrs(
  checksums: Partial<Record<ChecksumAlgorithm, string>> | undefined,
  changeId: bigint,
): Record<string, Buffer> {
  const algorithm = checksums && CHECKSUM_ALGORITHMS.find((a) => checksums[a] !== undefined);
  if (!algorithm) return {};
  return { [CONTENT_CHECKSUM_XATTR]: Buffer.from(`${changeId} ${algorithm} ${checksums[algorithm]}`) };
}

/** The recorded checksum when it still belongs to the inode's content. */
export function storedChecksum(
  attrs: Attributes,
  xattrs: ReadonlyMap<string, Buffer>,
): StoredChecksum | undefined {
  const raw = xattrs.get(CONTENT_CHECKSUM_XATTR)?.toString();
  if (!raw) return undefined;
  const [change, algorithm, value] = raw.split(' ');
  const now = String(attrs.changeId);
  if (change !== now || !value || xattrs.get(ETAG_CHANGE_XATTR)?.toString() !== now) return undefined;
  if (!(CHECKSUM_ALGORITHMS as readonly string[]).includes(algorithm ?? '')) return undefined;
  return { algorithm: algorithm as ChecksumAlgorithm, value };
}

/** The response headers of a stored checksum (S3's full-object checksum of a single PUT). */
export function checksumHeaders(c: StoredChecksum): Record<string, string> {
  return { [checksumHeaderName(c.algorithm)]: c.value, 'x-amz-checksum-type': 'FULL_OBJECT' };
}
