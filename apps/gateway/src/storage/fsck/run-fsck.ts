import { statSync } from 'node:fs';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { runningGatewayPid } from '../../daemon/pid-file.ts';
import type { DataStore } from '../data/data-store.ts';
import { orphanBlobs, queuedBlobsInUse } from './blob-references.ts';
import { type BlobSource, FolderBlobs, StoreBlobs } from './blob-source.ts';
import { storedChecksums } from './checksum-check.ts';
import type { CheckContext } from './context.ts';
import { buildLinkTables, openMetadata } from './database.ts';
import { danglingEntries, directoryNames, entryTypeMismatches } from './entry-checks.ts';
import { fileData } from './extent-checks.ts';
import type { Finding } from './finding.ts';
import { badInodeTypes, detachedButLinked, linkCounts, orphanInodes, strayRows } from './inode-checks.ts';
import { ledgerDrift } from './ledger-check.ts';
import { InodePaths } from './paths.ts';
import { applyRepairs } from './repair.ts';
import { FsckError, type FsckInfo, type FsckProgress, type FsckReport } from './report.ts';
import { resolveScope } from './scope.ts';

export interface FsckOptions {
  /** The SQLite metadata database (meta.db)… */
  dbFile?: string;
  /** …or a PostgreSQL metadata store (`metadata.url`): checked on a snapshot copied into memory. */
  metadataUrl?: string;
  /** The blob folder (transport `file:///…`)… */
  dataDir?: string;
  /** …or the data store itself (an object store), named in findings as `dataName`. */
  dataStore?: DataStore;
  dataName?: string;
  /** A namespace path limiting entry, inode and data checks to it and its subtree. */
  path?: string;
  /** Fix what is safe to fix (see repair.ts). */
  repair?: boolean;
  /** The state folder: --repair refuses while a live gateway's PID file is in it. */
  stateDir?: string;
  onProgress?: (p: FsckProgress) => void;
}

/**
 * Checks (and with `repair`, fixes) one namespace's metadata against itself and its file
 * data. Every check reads one consistent snapshot. Repairs are made on the embedded stores
 * only (SQLite and a blob folder). Throws FsckError when it cannot run.
 */
export async function runFsck(opts: FsckOptions): Promise<FsckReport> {
  if ((opts.dbFile === undefined) === (opts.metadataUrl === undefined))
    throw new FsckError('name one metadata store: a SQLite file or a PostgreSQL URL');
  if ((opts.dataDir === undefined) === (opts.dataStore === undefined))
    throw new FsckError('name one data store: a blob folder or a data store');
  if (opts.repair && (opts.dbFile === undefined || opts.dataDir === undefined)) {
    throw new FsckError(
      'refusing to repair: --repair works on the embedded stores (sqlite:// metadata, file:// data) only; on PostgreSQL and an object store fsck checks and reports',
    );
  }
  if (opts.repair && opts.stateDir !== undefined) {
    const pid = runningGatewayPid(opts.stateDir);
    if (pid !== undefined) {
      throw new FsckError(
        `refusing to repair: a gateway (PID ${pid}) is running on ${opts.stateDir}; stop it first (a check without --repair is safe)`,
      );
    }
  }
  if (opts.dataDir !== undefined) requireDirectory(opts.dataDir);
  const blobs: BlobSource =
    opts.dataDir !== undefined
      ? new FolderBlobs(opts.dataDir)
      : new StoreBlobs(opts.dataStore!, opts.dataName ?? 'the data store');
  // Listed before the snapshot begins: every blob a live inode owns then is in the snapshot.
  let listed: bigint[] = [];
  let db: Database.Database | undefined;
  try {
    let lastYield = 0;
    const progress = async (phase: string, done: number, total: number): Promise<void> => {
      opts.onProgress?.({ phase, done, total });
      if (performance.now() - lastYield > 50) {
        lastYield = performance.now();
        await yieldToEventLoop();
      }
    };
    if (opts.path === undefined) listed = await blobs.list((d, t) => progress('listing blobs', d, t));
    db =
      opts.dbFile !== undefined
        ? openMetadata(opts.dbFile, opts.repair === true)
        : await (await import('./pg-snapshot.ts')).snapshotPostgres(opts.metadataUrl!);
    return await checkAll(db, blobs, listed, opts, progress);
  } catch (e) {
    if (e instanceof Database.SqliteError)
      throw new FsckError(`metadata database ${opts.dbFile ?? 'snapshot'}: ${e.message}`);
    throw e;
  } finally {
    db?.close();
    await blobs.close();
  }
}

async function checkAll(
  db: Database.Database,
  blobs: BlobSource,
  listed: bigint[],
  opts: FsckOptions,
  progress: (phase: string, done: number, total: number) => Promise<void>,
): Promise<FsckReport> {
  const info: FsckInfo = {
    sparseFiles: 0,
    blobTails: 0,
    inlineFiles: 0,
    queuedBlobs: 0,
    checksumsVerified: 0,
  };
  db.exec('BEGIN');
  let findings: Finding[];
  let checked: FsckReport['checked'];
  try {
    buildLinkTables(db);
    const scope = opts.path === undefined ? undefined : resolveScope(db, opts.path);
    const ctx: CheckContext = {
      db,
      blobs,
      paths: new InodePaths(db),
      info,
      progress,
      ...(scope ? { scope } : {}),
    };
    findings = [
      ...danglingEntries(ctx),
      ...entryTypeMismatches(ctx),
      ...directoryNames(ctx),
      ...badInodeTypes(ctx),
      ...orphanInodes(ctx),
      ...linkCounts(ctx),
      ...detachedButLinked(ctx),
      ...strayRows(ctx),
    ];
    await progress('metadata', 1, 1);
    const data = await fileData(ctx);
    findings.push(...data.findings);
    if (!scope) findings.push(...(await orphanBlobs(ctx, listed)), ...queuedBlobsInUse(ctx));
    findings.push(...ledgerDrift(ctx), ...(await storedChecksums(ctx)));
    checked = counts(ctx, scope ? data.blobs : listed.length);
  } finally {
    db.exec('COMMIT');
  }
  const repaired = opts.repair && opts.dataDir !== undefined ? applyRepairs(db, opts.dataDir, findings) : [];
  const problems = findings.map((f) => f.problem);
  return {
    clean: problems.length === 0,
    ...(opts.path === undefined ? {} : { scope: opts.path }),
    checked,
    problems,
    repaired,
    info,
  };
}

function counts(ctx: CheckContext, blobs: number): FsckReport['checked'] {
  if (!ctx.scope) {
    const n = (sql: string) => Number(ctx.db.prepare(sql).pluck().get() as bigint);
    return { inodes: n('SELECT COUNT(*) FROM inodes'), entries: n('SELECT COUNT(*) FROM dirents'), blobs };
  }
  const inodes = Number(
    ctx.db
      .prepare('SELECT COUNT(*) FROM temp.fsck_scope s JOIN inodes i ON i.ino = s.ino')
      .pluck()
      .get() as bigint,
  );
  const entries = Number(
    ctx.db
      .prepare(
        `SELECT COUNT(*) FROM dirents d WHERE d.parent IN (SELECT ino FROM temp.fsck_scope)${
          ctx.scope.namingCookie === undefined ? '' : ` OR d.cookie = ${ctx.scope.namingCookie}`
        }`,
      )
      .pluck()
      .get() as bigint,
  );
  return { inodes, entries, blobs };
}

function requireDirectory(dir: string): void {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    throw new FsckError(
      `data directory ${dir} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  if (!isDir) throw new FsckError(`data directory ${dir} is not a directory`);
}
