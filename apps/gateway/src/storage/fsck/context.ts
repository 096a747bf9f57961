import type Database from 'better-sqlite3';
import type { BlobSource } from './blob-source.ts';
import type { InodePaths } from './paths.ts';
import type { FsckInfo } from './report.ts';
import type { Scope } from './scope.ts';

/** What every check gets: the open database (inside one read snapshot), the file data, the scope. */
export interface CheckContext {
  readonly db: Database.Database;
  readonly blobs: BlobSource;
  /** Set when a PATH limits the check to one inode and its subtree (temp.fsck_scope). */
  readonly scope?: Scope;
  readonly paths: InodePaths;
  readonly info: FsckInfo;
  progress(phase: string, done: number, total: number): Promise<void>;
}

/** SQL condition: the inode in `column` is in scope. */
export function inodeInScope(ctx: CheckContext, column: string): string {
  return ctx.scope ? `${column} IN (SELECT ino FROM temp.fsck_scope)` : '1';
}

/** SQL condition: the entry (dirents alias `d`) is in scope: inside a scoped directory, or the one naming PATH. */
export function entryInScope(ctx: CheckContext, d: string): string {
  if (!ctx.scope) return '1';
  const naming = ctx.scope.namingCookie === undefined ? '' : ` OR ${d}.cookie = ${ctx.scope.namingCookie}`;
  return `(${d}.parent IN (SELECT ino FROM temp.fsck_scope)${naming})`;
}
