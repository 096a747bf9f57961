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
 * bytes in its blob, and its extents must not overlap. An own-blob file (layout 0) with size
 * > 0 must have its blob where the store makes it with the file (ownBlobMissing); in an
 * object store a missing blob is a file sized and never written (holes read as zeros). A blob
 * longer than the file (the tail of a write a crash left unacknowledged, never read) is fine,
 * and so is one shorter: a file written and then extended by truncate or SETATTR has one, and
 * nothing records which ranges were written, so a blob cut short cannot be told from it.
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
      if (physical === undefined && f.size > 0n) {
        if (ctx.blobs.blobMadeWithFile) findings.push(ownBlobMissing(ctx, f));
        else ctx.info.sparseFiles++;
      }
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

/**
 * A file with size > 0 whose own blob is gone from a store that makes it with the file: it
 * reads as zeros, so whatever was written to it is lost. (A file only ever sized by truncate
 * or SETATTR keeps its empty blob; one that lost it in a crash right after its creation, or
 * was made by a gateway that did not create blobs with files, is reported too: the metadata
 * cannot tell it from a written one.) Reported, never repaired: no fix deletes anything.
 */
function ownBlobMissing(ctx: CheckContext, f: FileRow): Finding {
  return {
    problem: {
      kind: 'blob-missing',
      ino: Number(f.ino),
      ...withPath(ctx.paths.of(f.ino)),
      detail: `size ${f.size}, but its ${ctx.blobs.describe(f.ino)} does not exist: it reads as ${f.size} zero bytes (lost, unless the file was only ever sized by truncate and never written)`,
      repair: NO_REPAIR_DATA_LOST,
    },
  };
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
