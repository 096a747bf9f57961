import type { Attributes } from '../../storage/types.ts';
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm, checksumHeaderName } from './checksums/index.ts';

/**
 * The checksum a PUT's client sent (x-amz-checksum-*, verified before the object was linked),
 * kept as `CHANGE ALGORITHM BASE64` for the inode's change id at the write: answered back on a
 * GET or HEAD with `x-amz-checksum-mode: ENABLED` and by GetObjectAttributes while the content
 * is the one it was computed for. A write over NFS or SMB moves the change id and so voids it
 * (its own id: an ETag computed later for new content does not bring it back).
 */
export const CHECKSUM_XATTR = 's3.checksum';

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
  return { [CHECKSUM_XATTR]: Buffer.from(`${changeId} ${algorithm} ${checksums[algorithm]}`) };
}

/** The recorded checksum when it still belongs to the inode's content. */
export function storedChecksum(
  attrs: Attributes,
  xattrs: ReadonlyMap<string, Buffer>,
): StoredChecksum | undefined {
  const raw = xattrs.get(CHECKSUM_XATTR)?.toString();
  if (!raw) return undefined;
  const [change, algorithm, value] = raw.split(' ');
  if (change !== String(attrs.changeId) || !value) return undefined;
  if (!(CHECKSUM_ALGORITHMS as readonly string[]).includes(algorithm ?? '')) return undefined;
  return { algorithm: algorithm as ChecksumAlgorithm, value };
}

/** The response headers of a stored checksum (S3's full-object checksum of a single PUT). */
export function checksumHeaders(c: StoredChecksum): Record<string, string> {
  return { [checksumHeaderName(c.algorithm)]: c.value, 'x-amz-checksum-type': 'FULL_OBJECT' };
}
