import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type ControlBackend, parseControlUrl } from '../config/control-url.ts';
import { InvalidValue } from '../config/invalid-value.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { makeDirs } from '../util/make-dirs.ts';
import { type AdminTokens, createAdminTokens } from './admin-tokens.ts';
import { type Audit, createAudit, type LostAuditEntry } from './audit.ts';
import type { ControlDatabase } from './database.ts';
import { ControlError } from './errors.ts';
import { createGroups, type Groups } from './groups.ts';
import { defaultMigrationsDir, type MigrationResult } from './migrate.ts';
import { createNodes, type Nodes } from './nodes.ts';
import { createQuotas, type Quotas } from './quotas.ts';
import { createRollingRestarts, type RollingRestarts } from './rolling-restarts.ts';
import { createS3Keys, type S3Keys } from './s3-keys.ts';
import { createSessions, type Sessions } from './sessions.ts';
import { createSettings, SECRET_KEYS, type Settings } from './settings.ts';
import { openSqliteControlDatabase } from './sqlite-database.ts';
import { createUsers, type Users } from './users.ts';

export type { AdminTokenRecord, AdminTokens } from './admin-tokens.ts';
export type { Audit, AuditEntry, AuditFilter, AuditInput, AuditOutcome, LostAuditEntry } from './audit.ts';
export { ControlError, type ControlErrorCode } from './errors.ts';
export type { GroupMember, GroupRecord, Groups } from './groups.ts';
export type { MigrationResult } from './migrate.ts';
export { NodeHeartbeat, type NodeIdentity } from './node-heartbeat.ts';
export {
  type DrainRequest,
  drainRequestProblem,
  type GatewayNodeRecord,
  type GatewayNodeView,
  MISSED_HEARTBEATS_DOWN,
  type NodeHealth,
  type NodeReload,
  type NodeStatus,
  type Nodes,
  nodeJson,
  type ReloadRequest,
  reloadRequestProblem,
  viewNode,
} from './nodes.ts';
export { ntHash } from './passwords.ts';
export type { QuotaInput, QuotaKind, QuotaRecord, Quotas } from './quotas.ts';
export type { RollingRestartOutcome, RollingRestartRecord, RollingRestarts } from './rolling-restarts.ts';
export type { S3Credential, S3KeyRecord, S3KeyStatus, S3Keys } from './s3-keys.ts';
export type { Sessions, SessionUser } from './sessions.ts';
export type { Settings } from './settings.ts';
export type { AddUserInput, UserRecord, Users } from './users.ts';
export { ROLES, type Role } from './validate.ts';

export interface OpenControlPlaneOptions {
  /** The gateway's state folder; created if missing. Holds `control.db` unless `url` says otherwise. */
  stateDir: string;
  /**
   * The state folder must exist already (`./cfs` commands: a folder missing because a volume
   * is not mounted, or a path mistyped, is not a new, empty installation).
   */
  stateDirMustExist?: boolean;
  /**
   * `sqlite:///abs/control.db` or `postgres://user@host/db?schema=cfs_control` (the resolved
   * config's `control.url`). Default: `<stateDir>/control.db`.
   */
  url?: string;
  /** Default: the provider's migrations folder (`prisma/migrations`, `prisma/postgresql/migrations`). */
  migrationsDir?: string;
  /** SQLite: how long a write waits for another process's lock. Default 10 s. */
  busyTimeoutMs?: number;
  /** PostgreSQL: errors of idle pooled connections (server restarted or gone); they never end the process. */
  onConnectionError?: (err: Error) => void;
  /** An audit entry the database did not take, to be kept elsewhere (the record still rejects). */
  onAuditLost?: (entry: LostAuditEntry, err: Error) => void;
}

export interface ControlPlane {
  readonly backend: 'sqlite' | 'postgres';
  /** The database file, or the PostgreSQL URL (password hidden) and schema. */
  readonly location: string;
  /** What opening did to the schema (`applied` is empty when it was already current). */
  readonly migrations: MigrationResult;
  readonly prisma: PrismaClient;
  readonly settings: Settings;
  /** Cluster-wide 32-byte keys, created on first open and identical for every process on this database. */
  readonly secrets: { readonly nfsHandleKey: Buffer; readonly s3SecretKey: Buffer };
  readonly users: Users;
  readonly groups: Groups;
  readonly s3Keys: S3Keys;
  readonly quotas: Quotas;
  readonly adminTokens: AdminTokens;
  readonly audit: Audit;
  readonly nodes: Nodes;
  readonly rollingRestarts: RollingRestarts;
  readonly sessions: Sessions;
  close(): Promise<void>;
}

function backendOf(opts: OpenControlPlaneOptions, stateDir: string): ControlBackend {
  if (opts.url === undefined) return { kind: 'sqlite', url: '', path: join(stateDir, 'control.db') };
  try {
    return parseControlUrl(opts.url);
  } catch (e) {
    if (e instanceof InvalidValue) throw new ControlError('INVALID', e.message);
    throw e;
  }
}

async function openDatabase(opts: OpenControlPlaneOptions, stateDir: string): Promise<ControlDatabase> {
  const backend = backendOf(opts, stateDir);
  if (backend.kind === 'postgres') {
    // Loaded only here: the `pg` driver and the PostgreSQL Prisma client.
    const { openPostgresControlDatabase } = await import('./postgres-database.ts');
    return openPostgresControlDatabase({
      url: backend.url,
      schema: backend.schema,
      migrationsDir: opts.migrationsDir ?? defaultMigrationsDir('postgresql'),
      onConnectionError: opts.onConnectionError,
    });
  }
  return openSqliteControlDatabase({
    path: backend.path,
    migrationsDir: opts.migrationsDir ?? defaultMigrationsDir('sqlite'),
    busyTimeoutMs: opts.busyTimeoutMs ?? 10_000,
  });
}

/**
 * Opens (creating and migrating on first use) the control plane: `control.db` in `stateDir`, or
 * the PostgreSQL database `url` names. Safe to call from several processes at once — gateways
 * and `./cfs` commands — on the same database.
 */
export async function openControlPlane(opts: OpenControlPlaneOptions): Promise<ControlPlane> {
  const stateDir = resolve(opts.stateDir);
  if (opts.stateDirMustExist && !existsSync(stateDir)) {
    throw new Error(
      `the state folder ${stateDir} does not exist (node.state_dir): is its volume mounted? The gateway creates it when it first starts`,
    );
  }
  makeDirs(stateDir, 0o700);
  const db = await openDatabase(opts, stateDir);
  const { prisma } = db;
  try {
    const settings = createSettings(prisma);
    const secrets = {
      nfsHandleKey: Buffer.from(await settings.ensure(SECRET_KEYS.nfsHandleKey), 'base64'),
      s3SecretKey: Buffer.from(await settings.ensure(SECRET_KEYS.s3SecretKey), 'base64'),
    };
    const groups = createGroups(prisma);
    return {
      backend: db.backend,
      location: db.location,
      migrations: db.migrations,
      prisma,
      settings,
      secrets,
      users: createUsers(prisma, groups),
      groups,
      s3Keys: createS3Keys(prisma, secrets.s3SecretKey),
      quotas: createQuotas(prisma),
      adminTokens: createAdminTokens(prisma),
      audit: createAudit(prisma, opts.onAuditLost),
      nodes: createNodes(prisma),
      rollingRestarts: createRollingRestarts(prisma),
      sessions: createSessions(prisma),
      close: () => db.close(),
    };
  } catch (err) {
    await db.close();
    throw err;
  }
}
