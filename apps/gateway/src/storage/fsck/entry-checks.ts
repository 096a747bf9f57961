import { ROOT_INO } from '../sqlite/store.ts';
import type { CheckContext } from './context.ts';
import { entryInScope, inodeInScope } from './context.ts';
import type { Finding } from './finding.ts';
import { DIR, typeName } from './inode-type.ts';

interface EntryRow {
  cookie: bigint;
  parent: bigint;
  name: string;
  ino: bigint;
}

/** Entries naming an inode that does not exist. */
export function danglingEntries(ctx: CheckContext): Finding[] {
  const rows = ctx.db
    .prepare(
      `SELECT d.cookie, d.parent, d.name, d.ino FROM dirents d
       WHERE NOT EXISTS (SELECT 1 FROM inodes i WHERE i.ino = d.ino) AND ${entryInScope(ctx, 'd')}
       ORDER BY d.parent, d.name`,
    )
    .all() as EntryRow[];
  return rows.map((r) => ({
    problem: {
      kind: 'dangling-entry',
      ino: Number(r.ino),
      ...withPath(ctx.paths.entry(r.parent, r.name)),
      detail: `entry '${r.name}' in directory ${r.parent} names inode ${r.ino}, which does not exist`,
      repair: 'remove the entry',
    },
    fix: { op: 'delete-entry', cookie: r.cookie, parent: r.parent },
  }));
}

/** Entries whose recorded type differs from their inode's (readdir would report the wrong type). */
export function entryTypeMismatches(ctx: CheckContext): Finding[] {
  const rows = ctx.db
    .prepare(
      `SELECT d.cookie, d.parent, d.name, d.ino, d.type AS etype, i.type AS itype
       FROM dirents d JOIN inodes i ON i.ino = d.ino
       WHERE d.type != i.type AND ${entryInScope(ctx, 'd')} ORDER BY d.parent, d.name`,
    )
    .all() as Array<EntryRow & { etype: bigint; itype: bigint }>;
  return rows.map((r) => ({
    problem: {
      kind: 'entry-type-mismatch',
      ino: Number(r.ino),
      ...withPath(ctx.paths.entry(r.parent, r.name)),
      detail: `entry says ${typeName(r.etype)}, inode is a ${typeName(r.itype)}`,
      repair: `record the entry as ${typeName(r.itype)}`,
    },
    fix: { op: 'set-entry-type', cookie: r.cookie, type: r.itype },
  }));
}

/**
 * Directories must have exactly one entry naming them, in the directory their `parent`
 * (their "..") points at. Extra entries are removed, keeping the one in the parent when
 * there is one; otherwise the first is kept and the parent pointer follows it.
 */
export function directoryNames(ctx: CheckContext): Finding[] {
  const out: Finding[] = [];
  const root = ctx.db.prepare('SELECT parent FROM inodes WHERE ino = ?').pluck().get(ROOT_INO) as
    | bigint
    | undefined;
  if (root !== undefined && root !== ROOT_INO && (!ctx.scope || ctx.scope.ino === ROOT_INO)) {
    out.push(wrongParent(ctx, ROOT_INO, root, ROOT_INO));
  }
  const named = ctx.db
    .prepare(
      `SELECT i.ino, i.parent AS dotdot, l.parent AS named_in FROM inodes i JOIN temp.fsck_links l ON l.ino = i.ino
       WHERE i.type = ${DIR} AND l.n = 1 AND i.parent != l.parent AND ${inodeInScope(ctx, 'i.ino')}
       ORDER BY i.ino`,
    )
    .all() as Array<{ ino: bigint; dotdot: bigint; named_in: bigint }>;
  for (const r of named) out.push(wrongParent(ctx, r.ino, r.dotdot, r.named_in));

  const multi = ctx.db
    .prepare(
      `SELECT d.cookie, d.parent, d.name, d.ino, i.parent AS dotdot FROM dirents d
       JOIN temp.fsck_links l ON l.ino = d.ino JOIN inodes i ON i.ino = d.ino
       WHERE i.type = ${DIR} AND l.n > 1 AND ${inodeInScope(ctx, 'i.ino')} ORDER BY d.ino, d.cookie`,
    )
    .all() as Array<EntryRow & { dotdot: bigint }>;
  const byDir = new Map<bigint, Array<EntryRow & { dotdot: bigint }>>();
  for (const r of multi) byDir.set(r.ino, [...(byDir.get(r.ino) ?? []), r]);
  for (const [ino, entries] of byDir) {
    const keep = entries.find((e) => e.parent === e.dotdot) ?? entries[0]!;
    if (keep.parent !== keep.dotdot) out.push(wrongParent(ctx, ino, keep.dotdot, keep.parent));
    for (const e of entries) {
      if (e === keep) continue;
      out.push({
        problem: {
          kind: 'directory-extra-entry',
          ino: Number(ino),
          ...withPath(ctx.paths.entry(e.parent, e.name)),
          detail: `directory ${ino} is also named '${e.name}' in directory ${e.parent} (directories have one name)`,
          repair: 'remove this extra entry',
        },
        fix: { op: 'delete-entry', cookie: e.cookie, parent: e.parent },
      });
    }
  }
  return out;
}

function wrongParent(ctx: CheckContext, ino: bigint, dotdot: bigint, namedIn: bigint): Finding {
  return {
    problem: {
      kind: 'wrong-parent',
      ino: Number(ino),
      ...withPath(ctx.paths.of(ino)),
      detail: `directory's ".." is inode ${dotdot} but it is named in directory ${namedIn}`,
      repair: `set ".." to ${namedIn}`,
    },
    fix: { op: 'set-parent', ino, parent: namedIn },
  };
}

export function withPath(path: string | undefined): { path?: string } {
  return path === undefined ? {} : { path };
}
