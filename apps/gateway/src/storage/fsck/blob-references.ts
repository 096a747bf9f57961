import type { CheckContext } from './context.ts';
import { withPath } from './entry-checks.ts';
import type { Finding } from './finding.ts';
import { FILE } from './inode-type.ts';

/**
 * Blobs referenced by live metadata, in temp.fsck_blob_refs: every file inode's own blob
 * (a composite file keeps its own blob for later writes even when no extent reads it, and a
 * later write reuses it) and every blob an existing file's extents read.
 */
function buildBlobRefs(ctx: CheckContext): void {
  ctx.db.exec(`
    CREATE TEMP TABLE IF NOT EXISTS fsck_blob_refs (blob INTEGER PRIMARY KEY);
    DELETE FROM temp.fsck_blob_refs;
    INSERT OR IGNORE INTO temp.fsck_blob_refs (blob) SELECT ino FROM inodes WHERE type = ${FILE};
    INSERT OR IGNORE INTO temp.fsck_blob_refs (blob)
      SELECT DISTINCT e.blob FROM extents e JOIN inodes i ON i.ino = e.ino;
  `);
}

/**
 * Blob files nothing references and nothing has queued for deletion: space nobody can reach.
 * `listed` was taken before the metadata snapshot, so a blob a running gateway created after
 * it is not in the list; one it deleted since is dropped by the final existence check.
 */
export async function orphanBlobs(ctx: CheckContext, listed: readonly bigint[]): Promise<Finding[]> {
  buildBlobRefs(ctx);
  const referenced = ctx.db.prepare('SELECT 1 FROM temp.fsck_blob_refs WHERE blob = ?').pluck();
  const queued = ctx.db.prepare('SELECT 1 FROM blob_gc WHERE blob = ?').pluck();
  const out: Finding[] = [];
  for (const [i, blob] of listed.entries()) {
    if (i % 1024 === 0) await ctx.progress('blobs', i, listed.length);
    if (referenced.get(blob)) continue;
    if (queued.get(blob)) {
      ctx.info.queuedBlobs++;
      continue;
    }
    if ((await ctx.blobs.size(blob)) === undefined) continue;
    out.push({
      problem: {
        kind: 'orphan-blob',
        detail: `${ctx.blobs.describe(blob)} belongs to no file and is not queued for deletion`,
        repair: 'delete the blob file',
      },
      fix: { op: 'delete-blob', blob },
    });
  }
  await ctx.progress('blobs', listed.length, listed.length);
  return out;
}

/**
 * Blobs queued in blob_gc that a file still reads: the gateway deletes queued blobs at start,
 * which would destroy that file's data.
 */
export function queuedBlobsInUse(ctx: CheckContext): Finding[] {
  const rows = ctx.db
    .prepare(
      `SELECT g.blob, (SELECT e.ino FROM extents e JOIN inodes i ON i.ino = e.ino WHERE e.blob = g.blob LIMIT 1) AS reader
       FROM blob_gc g
       WHERE EXISTS (SELECT 1 FROM extents e JOIN inodes i ON i.ino = e.ino WHERE e.blob = g.blob)
          OR EXISTS (SELECT 1 FROM inodes i WHERE i.ino = g.blob AND i.type = ${FILE} AND i.layout = 0)
       ORDER BY g.blob`,
    )
    .all() as Array<{ blob: bigint; reader: bigint | null }>;
  return rows.map((r) => {
    const ino = r.reader ?? r.blob;
    return {
      problem: {
        kind: 'queued-blob-in-use',
        ino: Number(ino),
        ...withPath(ctx.paths.of(ino)),
        detail: `blob ${r.blob.toString(16).padStart(12, '0')} is queued for deletion but file ${ino} still reads it`,
        repair: 'take the blob off the deletion queue',
      },
      fix: { op: 'dequeue-gc', blob: r.blob },
    };
  });
}
