import { ETAG_CHANGE_XATTR, ETAG_MD5_XATTR } from '../annotations.ts';
import { contentMd5 } from './content-md5.ts';
import type { CheckContext } from './context.ts';
import { inodeInScope } from './context.ts';
import { withPath } from './entry-checks.ts';
import type { Finding } from './finding.ts';
import { FILE } from './inode-type.ts';

export { ETAG_CHANGE_XATTR, ETAG_MD5_XATTR };

/**
 * Files with a stored MD5 that is still current (recorded at the inode's present change
 * value): the content is read back and hashed. Files without both attributes have nothing
 * to check.
 */
export async function storedChecksums(ctx: CheckContext): Promise<Finding[]> {
  const rows = ctx.db
    .prepare(
      `SELECT i.ino, i.size, i.layout, i.change, m.value AS md5, c.value AS at_change
       FROM xattrs m
       JOIN xattrs c ON c.ino = m.ino AND c.name = ?
       JOIN inodes i ON i.ino = m.ino
       WHERE m.name = ? AND i.type = ${FILE} AND ${inodeInScope(ctx, 'i.ino')}
       ORDER BY i.ino`,
    )
    .all(ETAG_CHANGE_XATTR, ETAG_MD5_XATTR) as Array<{
    ino: bigint;
    size: bigint;
    layout: bigint;
    change: bigint;
    md5: Buffer;
    at_change: Buffer;
  }>;
  const current = rows.filter((r) => text(r.at_change) === String(r.change));
  const extentsOf = ctx.db.prepare('SELECT off, len, blob, blob_off FROM extents WHERE ino = ? ORDER BY off');
  const out: Finding[] = [];
  for (const [i, r] of current.entries()) {
    await ctx.progress('checksums', i, current.length);
    const recorded = text(r.md5).replace(/^"|"$/g, '').toLowerCase();
    const extents =
      r.layout !== 1n
        ? []
        : (extentsOf.all(r.ino) as Array<{ off: bigint; len: bigint; blob: bigint; blob_off: bigint }>);
    const inline = r.layout === 2n ? inlineBytes(ctx, r.ino) : undefined;
    const actual = await contentMd5(ctx.blobs, {
      ino: r.ino,
      size: r.size,
      layout: r.layout,
      extents,
      inline,
    });
    if (actual === recorded) {
      ctx.info.checksumsVerified++;
      continue;
    }
    out.push({
      problem: {
        kind: 'checksum-mismatch',
        ino: Number(r.ino),
        ...withPath(ctx.paths.of(r.ino)),
        detail: `content MD5 is ${actual}, but ${ETAG_MD5_XATTR} recorded ${recorded}: the bytes changed on the data store`,
        repair: 'none: restore the object from a copy or upload it again',
      },
    });
  }
  await ctx.progress('checksums', current.length, current.length);
  return out;
}

/** An inline file's bytes (its row exists only where the store has the table). */
function inlineBytes(ctx: CheckContext, ino: bigint): Buffer | undefined {
  const row = ctx.db.prepare('SELECT bytes FROM inline_data WHERE ino = ?').get(ino) as
    | { bytes: Buffer }
    | undefined;
  return row?.bytes;
}

function text(value: Buffer | string): string {
  return (typeof value === 'string' ? value : value.toString('utf8')).trim();
}
