import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import Database from 'better-sqlite3';
import { PrismaClient } from '../generated/prisma/client.ts';
import { type AdminTokens, createAdminTokens } from './admin-tokens.ts';
import { type Audit, createAudit } from './audit.ts';
import { createGroups, type Groups } from './groups.ts';
import { applyMigrations, defaultMigrationsDir, type MigrationResult, readMigrations } from './migrate.ts';
import { createNodes, type Nodes } from './nodes.ts';
import { createQuotas, type Quotas } from './quotas.ts';
import { createS3Keys, type S3Keys } from './s3-keys.ts';
import { createSessions, type Sessions } from './sessions.ts';
import { createSettings, SECRET_KEYS, type Settings } from './settings.ts';
import { createUsers, type Users } from './users.ts';

export type { AdminTokenRecord, AdminTokens } from './admin-tokens.ts';
export type { Audit, AuditEntry, AuditFilter, AuditInput, AuditOutcome } from './audit.ts';
export { ControlError, type ControlErrorCode } from './errors.ts';
export type { GroupMember, GroupRecord, Groups } from './groups.ts';
export type { MigrationResult } from './migrate.ts';
export type { GatewayNodeRecord, Nodes } from './nodes.ts';
export { ntHash } from './passwords.ts';
export type { QuotaInput, QuotaKind, QuotaRecord, Quotas } from './quotas.ts';
export type { S3Credential, S3KeyRecord, S3KeyStatus, S3Keys } from './s3-keys.ts';
export type { Sessions, SessionUser } from './sessions.ts';
export type { Settings } from './settings.ts';
export type { AddUserInput, UserRecord, Users } from './users.ts';
export { ROLES, type Role } from './validate.ts';

export interface OpenControlPlaneOptions {
  /** The gateway's state folder; created if missing. The database is `<stateDir>/control.db`. */
  stateDir: string;
  /** Default: `prisma/migrations` found by walking up from this module. */
  migrationsDir?: string;
  /** How long a write waits for another process's lock. Default 10 s. */
  busyTimeoutMs?: number;
}

export interface ControlPlane {
  readonly dbPath: string;
  /** What opening did to the schema (`applied` is empty when it was already current). */
  readonly migrations: MigrationResult;
  readonly prisma: PrismaClient;
  readonly settings: Settings;
  /** Cluster-wide 32-byte keys, created on first open and identical for every process on this state. */
  readonly secrets: { readonly nfsHandleKey: Buffer; readonly s3SecretKey: Buffer };
  readonly users: Users;
  readonly groups: Groups;
  readonly s3Keys: S3Keys;
  readonly quotas: Quotas;
  readonly adminTokens: AdminTokens;
  readonly audit: Audit;
  readonly nodes: Nodes;
  readonly sessions: Sessions;
  close(): Promise<void>;
}

/** Opens the SQLite database and brings its schema up to date; owns nothing after returning. */
function prepareDatabase(dbPath: string, migrationsDir: string, busyTimeoutMs: number): MigrationResult {
  const migrations = readMigrations(migrationsDir);
  // Created owner-only before SQLite touches it; SQLite gives -wal/-shm the same mode.
  closeSync(openSync(dbPath, 'a', 0o600));
  const db = new Database(dbPath, { timeout: busyTimeoutMs });
  try {
    // Switching to WAL needs the database to itself; when another process holds it the pragma
    // returns the old mode instead of waiting, so try again once migrations are through.
    const wal = () => db.pragma('journal_mode = WAL', { simple: true }) === 'wal';
    const walFirst = wal();
    const result = applyMigrations(db, migrations);
    if (!walFirst) wal();
    return result;
  } finally {
    db.close();
  }
}

/**
 * Opens (creating and migrating on first use) the control plane in `stateDir`. Safe to call from
 * several processes at once — a gateway and `./cfs` commands — on the same folder.
 */
export async function openControlPlane(opts: OpenControlPlaneOptions): Promise<ControlPlane> {
  const stateDir = resolve(opts.stateDir);
  const busyTimeoutMs = opts.busyTimeoutMs ?? 10_000;
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const dbPath = join(stateDir, 'control.db');
  const migrations = prepareDatabase(dbPath, opts.migrationsDir ?? defaultMigrationsDir(), busyTimeoutMs);

  const prisma = new PrismaClient({
    adapter: new PrismaBetterSqlite3({ url: `file:${dbPath}`, timeout: busyTimeoutMs }),
  });
  try {
    const settings = createSettings(prisma);
    const secrets = {
      nfsHandleKey: Buffer.from(await settings.ensure(SECRET_KEYS.nfsHandleKey), 'base64'),
      s3SecretKey: Buffer.from(await settings.ensure(SECRET_KEYS.s3SecretKey), 'base64'),
    };
    const groups = createGroups(prisma);
    return {
      dbPath,
      migrations,
      prisma,
      settings,
      secrets,
      users: createUsers(prisma, groups),
      groups,
      s3Keys: createS3Keys(prisma, secrets.s3SecretKey),
      quotas: createQuotas(prisma),
      adminTokens: createAdminTokens(prisma),
      audit: createAudit(prisma),
      nodes: createNodes(prisma),
      sessions: createSessions(prisma),
      close: () => prisma.$disconnect(),
    };
  } catch (err) {
    await prisma.$disconnect();
    throw err;
  }
}
