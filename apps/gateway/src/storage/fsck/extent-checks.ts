import type { CheckContext } from './context.ts';
import { inodeInScope } from './context.ts';
import { withPath } from './entry-checks.ts';
import { type Finding, NO_REPAIR_DATA_LOST } from './finding.ts';
import { FILE } from './inode-type.ts';

interface FileRow {
  ino: bigint;
  size: bigint;
  layout: bigint;
}

interface ExtentRow {
  off: bigint;
  len: bigint;
  blob: bigint;
  blob_off: bigint;
}

/**
 * File data against the data store. A composite file (layout 1) must find every extent's
 * bytes in its blob, and its extents must not overlap. An own-blob file (layout 0) is fine
 * with a missing blob (holes read as zeros) and with a blob longer than the file (the tail
 * of a write a crash left unacknowledged, never read): both are only counted.
 */
export async function fileData(ctx: CheckContext): Promise<{ findings: Finding[]; blobs: number }> {
  const files = ctx.db
    .prepare(
      `SELECT ino, size, layout FROM inodes WHERE type = ${FILE} AND ${inodeInScope(ctx, 'ino')} ORDER BY ino`,
    )
    .all() as FileRow[];
  const extentsOf = ctx.db.prepare('SELECT off, len, blob, blob_off FROM extents WHERE ino = ? ORDER BY off');
  const sizes = new Map<bigint, number | undefined>();
  const sizeOf = async (blob: bigint): Promise<number | undefined> => {
    if (!sizes.has(blob)) sizes.set(blob, await ctx.blobs.size(blob));
    return sizes.get(blob);
  };
  const findings: Finding[] = [];
  for (const [i, f] of files.entries()) {
    if (i % 256 === 0) await ctx.progress('file data', i, files.length);
    if (f.layout === 0n) {
      const physical = await sizeOf(f.ino);
      if (physical === undefined && f.size > 0n) ctx.info.sparseFiles++;
      if (physical !== undefined && BigInt(physical) > f.size) ctx.info.blobTails++;
      continue;
    }
    if (f.layout === 2n) {
      ctx.info.inlineFiles++;
      continue;
    }
    const extents = extentsOf.all(f.ino) as ExtentRow[];
    for (const e of extents) await sizeOf(e.blob);
    findings.push(...compositeFile(ctx, f, extents, (blob) => sizes.get(blob)));
  }
  await ctx.progress('file data', files.length, files.length);
  return { findings, blobs: sizes.size };
}

function compositeFile(
  ctx: CheckContext,
  f: FileRow,
  extents: ExtentRow[],
  sizeOf: (blob: bigint) => number | undefined,
): Finding[] {
  const out: Finding[] = [];
  const where = { ino: Number(f.ino), ...withPath(ctx.paths.of(f.ino)) };
  let prevEnd = 0n;
  for (const e of extents) {
    const span = `[${e.off}, ${e.off + e.len})`;
    if (e.off < prevEnd) {
      out.push({
        problem: {
          kind: 'overlapping-extents',
          ...where,
          detail: `extent ${span} starts before the previous one ends (${prevEnd}); reads are ambiguous`,
          repair: 'none: decide which bytes are right and rewrite the file',
        },
      });
    }
    if (e.off + e.len > prevEnd) prevEnd = e.off + e.len;
    const physical = sizeOf(e.blob);
    const hex = e.blob.toString(16).padStart(12, '0');
    if (physical === undefined) {
      out.push({
        problem: {
          kind: 'extent-blob-missing',
          ...where,
          detail: `extent ${span} reads blob ${hex}, which does not exist`,
          repair: NO_REPAIR_DATA_LOST,
        },
      });
    } else if (e.blob_off + e.len > BigInt(physical)) {
      out.push({
        problem: {
          kind: 'extent-past-blob-end',
          ...where,
          detail: `extent ${span} reads blob ${hex} up to byte ${e.blob_off + e.len}, but the blob holds ${physical}`,
          repair: NO_REPAIR_DATA_LOST,
        },
      });
    }
  }
  return out;
}
