import { ROOT_INO } from '../sqlite/store.ts';
import type { CheckContext } from './context.ts';
import { inodeInScope } from './context.ts';
import { withPath } from './entry-checks.ts';
import type { Finding } from './finding.ts';
import { DIR, isKnownType, typeName } from './inode-type.ts';

/**
 * Inodes no entry names and that are not detached on purpose (uploads in progress); the
 * root is exempt. Unreachable through every protocol, they still hold quota and data.
 * Only a whole-namespace check can see them.
 */
export function orphanInodes(ctx: CheckContext): Finding[] {
  if (ctx.scope) return [];
  const rows = ctx.db
    .prepare(
      `SELECT i.ino, i.type, i.nlink, i.size FROM inodes i
       WHERE i.ino != ${ROOT_INO}
         AND NOT EXISTS (SELECT 1 FROM temp.fsck_links l WHERE l.ino = i.ino)
         AND NOT EXISTS (SELECT 1 FROM detached x WHERE x.ino = i.ino)
       ORDER BY i.ino`,
    )
    .all() as Array<{ ino: bigint; type: bigint; nlink: bigint; size: bigint }>;
  return rows.map((r) => ({
    problem: {
      kind: 'orphan-inode',
      ino: Number(r.ino),
      detail: `${typeName(r.type)} (nlink ${r.nlink}, size ${r.size}) is in no directory`,
      repair: `move it to /lost+found/${r.ino}`,
    },
    fix: { op: 'adopt', ino: r.ino },
  }));
}

/**
 * Link counts: a directory has 2 + its subdirectories (root included), anything else one per
 * entry naming it; a detached inode no entry names has 0. Orphans are reported as such.
 */
export function linkCounts(ctx: CheckContext): Finding[] {
  const rows = ctx.db
    .prepare(
      `SELECT ino, type, nlink, expected FROM (
         SELECT i.ino, i.type, i.nlink,
           CASE WHEN i.type = ${DIR} THEN 2 + COALESCE(s.n, 0) ELSE COALESCE(l.n, 0) END AS expected,
           l.n AS names, EXISTS (SELECT 1 FROM detached x WHERE x.ino = i.ino) AS detached
         FROM inodes i
         LEFT JOIN temp.fsck_links l ON l.ino = i.ino
         LEFT JOIN temp.fsck_subdirs s ON s.dir = i.ino
         WHERE ${inodeInScope(ctx, 'i.ino')})
       WHERE nlink != expected AND (names IS NOT NULL OR detached OR ino = ${ROOT_INO})
       ORDER BY ino`,
    )
    .all() as Array<{ ino: bigint; type: bigint; nlink: bigint; expected: bigint }>;
  return rows
    .filter((r) => isKnownType(r.type))
    .map((r) => ({
      problem: {
        kind: 'wrong-link-count',
        ino: Number(r.ino),
        ...withPath(ctx.paths.of(r.ino)),
        detail: `${typeName(r.type)} has nlink ${r.nlink}, should be ${r.expected}`,
        repair: `set nlink to ${r.expected}`,
      },
      fix: { op: 'recount-links', ino: r.ino },
    }));
}

/**
 * Inodes both detached and named by an entry: linking a detached inode drops its record in
 * the same transaction, so the record is stale, and start-up recovery would act on it.
 */
export function detachedButLinked(ctx: CheckContext): Finding[] {
  const rows = ctx.db
    .prepare(
      `SELECT x.ino, x.purpose FROM detached x JOIN temp.fsck_links l ON l.ino = x.ino
       WHERE ${inodeInScope(ctx, 'x.ino')} ORDER BY x.ino`,
    )
    .all() as Array<{ ino: bigint; purpose: string }>;
  return rows.map((r) => ({
    problem: {
      kind: 'detached-but-linked',
      ino: Number(r.ino),
      ...withPath(ctx.paths.of(r.ino)),
      detail: `inode is named by an entry but still recorded as detached (${r.purpose})`,
      repair: 'drop the detached record',
    },
    fix: { op: 'drop-detached', ino: r.ino },
  }));
}

/** Inodes whose type code the schema does not define: nothing can serve them. */
export function badInodeTypes(ctx: CheckContext): Finding[] {
  const rows = ctx.db
    .prepare(
      `SELECT i.ino, i.type FROM inodes i WHERE ${inodeInScope(ctx, 'i.ino')} AND (i.type < 1 OR i.type > 7)`,
    )
    .all() as Array<{ ino: bigint; type: bigint }>;
  return rows.map((r) => ({
    problem: {
      kind: 'bad-inode-type',
      ino: Number(r.ino),
      ...withPath(ctx.paths.of(r.ino)),
      detail: `inode has unknown ${typeName(r.type)}`,
      repair: 'none: inspect the inode row by hand',
    },
  }));
}

/** Extent, xattr and detached rows of inodes that no longer exist. */
export function strayRows(ctx: CheckContext): Finding[] {
  if (ctx.scope) return [];
  const out: Finding[] = [];
  for (const table of ['extents', 'xattrs', 'detached'] as const) {
    const rows = ctx.db
      .prepare(
        `SELECT t.ino, COUNT(*) AS n FROM ${table} t
         WHERE NOT EXISTS (SELECT 1 FROM inodes i WHERE i.ino = t.ino) GROUP BY t.ino ORDER BY t.ino`,
      )
      .all() as Array<{ ino: bigint; n: bigint }>;
    for (const r of rows) {
      out.push({
        problem: {
          kind: 'stray-rows',
          ino: Number(r.ino),
          detail: `${r.n} ${table} row(s) belong to inode ${r.ino}, which does not exist`,
          repair: `delete the ${table} rows`,
        },
        fix: { op: 'delete-stray', table, ino: r.ino },
      });
    }
  }
  return out;
}
