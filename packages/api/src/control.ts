import type { AccessReport } from './types/access.ts';
import type { AuditPage, AuditQuery, AuditRecord } from './types/audit.ts';
import type { IssuedSession, Role, Session } from './types/auth.ts';
import type { CertificatesReport, CertificateUpload, CertificateUploadResult } from './types/certs.ts';
import type {
  BundleRequest,
  DiagnosticRequest,
  DiagnosticRun,
  DiagnosticTreeDef,
  RemediationRequest,
  RemediationResult,
  SupportBundle,
} from './types/diagnostics.ts';
import type { HealthReport } from './types/health.ts';
import type { CreatedS3Key, GroupView, NewGroup, NewUser, S3KeyView, UserView } from './types/identity.ts';
import type { BackendName, MetricsHistory, MetricsSnapshot } from './types/metrics.ts';
import type { NodeView, RollingRestartStatus, RollingRestartView } from './types/nodes.ts';
import type {
  CacheInvalidation,
  CacheScope,
  CircuitsReport,
  CircuitView,
  ConfigPreview,
  ConfigReload,
  ConfigStatus,
  ConnectionsReport,
  DrainStatus,
  ListenerView,
  LocksRelease,
  LocksReport,
  SmbFileClosed,
  SmbOpenFilesReport,
  SmbSessionEnded,
} from './types/ops.ts';
import type { QuotaExplanation, QuotaKind, QuotaSetRequest, QuotaView, UsageView } from './types/quotas.ts';
import type {
  BucketUsageView,
  BucketView,
  LifecycleSweepView,
  LifecycleView,
  UploadAbortView,
  UploadView,
} from './types/s3.ts';

export type { Role, Session } from './types/auth.ts';
export type { HealthCheck, HealthReport, HealthStatus } from './types/health.ts';

/**
 * What the router needs from a running gateway: one method per capability, each returning a
 * plain JSON-safe type from `./types`. apps/gateway implements it over its own services; the
 * console only ever sees it through tRPC. Methods reject with a TRPCError (NOT_FOUND,
 * CONFLICT, BAD_REQUEST…) or a plain Error (INTERNAL_SERVER_ERROR). Roles, CSRF and auditing
 * are the router's, so an implementation does none of them.
 */
export interface GatewayControl {
  health(): Promise<HealthReport>;

  /** The history ring's samples of the last `windowSeconds`, oldest first. */
  metricsHistory(windowSeconds: number): Promise<MetricsHistory>;
  metricsSnapshot(): Promise<MetricsSnapshot>;

  /** Every socket the running gateway listens on, in the order they were opened. */
  listeners(): Promise<ListenerView[]>;
  /** Every node registered with this gateway's control plane, sorted by name. */
  nodes(): Promise<NodeView[]>;
  /**
   * Asks a node (this one or another) to drain or undrain: the request waits in the control
   * plane until that node's next heartbeat, when it drains itself as `./cfs gateway drain`
   * does. NOT_FOUND for an unknown node; BAD_REQUEST for one stopped or down.
   */
  requestNodeDrain(name: string, action: 'drain' | 'undrain', requestedBy: string): Promise<NodeView>;
  /**
   * Asks a node to read its configuration file again at its next heartbeat (`reload` on the
   * Cluster page). NOT_FOUND for an unknown node; PRECONDITION_FAILED for one stopped or down.
   */
  requestNodeReload(name: string, requestedBy: string): Promise<NodeView>;
  /**
   * The running rolling-restart walk (moved on as far as the registry allows: reading it drives
   * it) or the last one, and why a new one would be refused now.
   */
  rollingRestartStatus(): Promise<RollingRestartStatus>;
  /** PRECONDITION_FAILED naming the nodes that are not serving; CONFLICT when one runs. */
  startRollingRestart(startedBy: string): Promise<RollingRestartView>;
  /** Ends the running walk and undrains the node it was working on; NOT_FOUND when none runs. */
  cancelRollingRestart(cancelledBy: string): Promise<RollingRestartView>;
  connections(): Promise<ConnectionsReport>;
  /** SMB clients' open files (not pipes) with their oplocks and leases; `served: false` without SMB. */
  smbOpenFiles(): Promise<SmbOpenFilesReport>;
  /**
   * Closes an SMB client's open file as Windows' "Close Open File" does: its locks, share mode
   * and lease go; the client's handle is closed. NOT_FOUND for an open not (or no longer) there.
   */
  closeSmbFile(session: string, fileId: string): Promise<SmbFileClosed>;
  /**
   * Ends the SMB sessions on one connection (the id `connections()` lists) as Windows' "Close
   * Session" does: their open files close, and the client must sign in again. NOT_FOUND when
   * the connection has no session (any more).
   */
  endSmbSessions(connection: number): Promise<SmbSessionEnded[]>;
  /** Every byte-range lock this node holds for its NFS and SMB clients. */
  locks(): Promise<LocksReport>;
  /**
   * Releases every lock an NFS client holds and its waiting requests, as its reboot notice would
   * (for a client that is gone without one). NOT_FOUND when it holds none and waits for none.
   */
  releaseLocks(client: string): Promise<LocksRelease>;
  circuits(): Promise<CircuitsReport>;
  /** Closes the circuit and clears its failure count. */
  resetCircuit(backend: BackendName): Promise<CircuitView>;
  invalidateCache(scope: CacheScope): Promise<CacheInvalidation>;

  drainStatus(): Promise<DrainStatus>;
  /** Every listener stops accepting; open connections keep being served. Idempotent. */
  drain(): Promise<DrainStatus>;
  undrain(): Promise<DrainStatus>;
  configStatus(): Promise<ConfigStatus>;
  previewConfig(): Promise<ConfigPreview>;
  /** Reads the file again as SIGHUP does; BAD_REQUEST naming the file's problems changes nothing. */
  reloadConfig(): Promise<ConfigReload>;
  /** Who may reach what over each protocol, from the running configuration. */
  accessReport(): Promise<AccessReport>;
  /** Every bucket with its owner and settings; PRECONDITION_FAILED when this gateway serves no S3. */
  s3Buckets(): Promise<BucketView[]>;
  /** A bucket's objects and bytes, counted by walking it; NOT_FOUND for no such bucket. */
  s3BucketUsage(bucket: string): Promise<BucketUsageView>;
  /** Incomplete multipart uploads, the oldest first; PRECONDITION_FAILED without S3. */
  s3Uploads(): Promise<UploadView[]>;
  /** Aborts one, its parts freed (logged as by `by`); NOT_FOUND when it is not in progress. */
  abortS3Upload(uploadId: string, by: string): Promise<UploadAbortView>;
  /** Every bucket's lifecycle rules, the last sweep and the next (`served: false` without S3). */
  s3Lifecycle(): Promise<LifecycleView>;
  /** Sweeps now, as `./cfs s3 lifecycle run`; PRECONDITION_FAILED when this gateway serves no S3. */
  runS3Lifecycle(): Promise<LifecycleSweepView>;

  listQuotas(): Promise<QuotaView[]>;
  /** Null when no quota is set for the subject. */
  getQuota(kind: QuotaKind, id: number): Promise<QuotaView | null>;
  /** Creates or updates; enforced from the next write on. */
  setQuota(request: QuotaSetRequest): Promise<QuotaView>;
  removeQuota(kind: QuotaKind, id: number): Promise<void>;
  /** Every uid (or gid) owning space or holding a quota, most space first (repquota). */
  quotaUsage(kind: QuotaKind): Promise<UsageView[]>;
  /** The quotas a write by `uid` (and its primary gid, or `gid`) is charged to, with the arithmetic. */
  explainQuota(subject: { uid?: number; gid?: number }): Promise<QuotaExplanation>;

  listUsers(): Promise<UserView[]>;
  addUser(user: NewUser): Promise<UserView>;
  /** Also removes the user's S3 keys and console sessions; its SMB sessions end. */
  removeUser(name: string): Promise<void>;
  /** Ends the user's console sessions but `keepSession` (the changer's own, by its cookie value). */
  setUserPassword(name: string, password: string, keepSession?: string | null): Promise<void>;
  /** Disabled: the console, SMB and S3 refuse the user, its console and SMB sessions end; files, groups, keys stay. */
  setUserDisabled(name: string, disabled: boolean): Promise<UserView>;
  /** null takes console access away. */
  setUserRole(name: string, role: Role | null): Promise<UserView>;
  listGroups(): Promise<GroupView[]>;
  addGroup(group: NewGroup): Promise<GroupView>;
  removeGroup(name: string): Promise<void>;
  /** A supplementary membership (SMB shares' valid_groups, NFS AUTH_SYS groups); adding one held is harmless. */
  addGroupMember(group: string, user: string): Promise<GroupView>;
  /** Refused when the user is not a supplementary member (its primary group included). */
  removeGroupMember(group: string, user: string): Promise<GroupView>;
  /** Every key, or one user's. Never the secrets. */
  listKeys(user?: string): Promise<S3KeyView[]>;
  /** The secret is in this result and nowhere else, ever. */
  createKey(user: string): Promise<CreatedS3Key>;
  /** Through the gateway the key stops working at once; from `./cfs`, within the credential caches' TTL (1 s). */
  revokeKey(accessKeyId: string): Promise<S3KeyView>;

  certificates(): Promise<CertificatesReport>;
  /** Validated as `gateway start` would; written and hot-reloaded only when no check fails. */
  uploadCertificate(pair: CertificateUpload): Promise<CertificateUploadResult>;

  /** The runbook's troubleshooting trees as data: steps, branches, runbook citations. */
  diagnosticTrees(): Promise<DiagnosticTreeDef[]>;
  /**
   * Walks one tree against the live gateway, reading only: every step's measurements and the
   * branch they chose. `ranBy` names the caller in the transcript. BAD_REQUEST for an input
   * the tree cannot use (access without a path, quota without a uid or gid).
   */
  runDiagnostic(request: DiagnosticRequest, ranBy: string | null): Promise<DiagnosticRun>;
  /** Health, metrics, redacted config, recent log lines and one recent run (NOT_FOUND once gone) or all. */
  diagnosticBundle(request: BundleRequest): Promise<SupportBundle>;
  /** Runs a remediation a wizard offered (the router has checked REMEDIATION_ROLES). */
  remediate(request: RemediationRequest): Promise<RemediationResult>;

  auditLog(query: AuditQuery): Promise<AuditPage>;
  /** Stores one audit entry; never rejects (a failure to audit is the gateway's to log). */
  recordAudit(entry: AuditRecord): Promise<void>;

  /**
   * A console session for a user with a role and this password; null for anything else
   * (unknown user, wrong password, disabled, no role) — the caller must not learn which.
   * `from` is the client's address: the gateway's sign-in throttle rejects with
   * TOO_MANY_REQUESTS, without checking the password, while too many checks run at once or
   * after too many wrong passwords for this user from this address.
   */
  signIn(user: string, password: string, from?: string): Promise<IssuedSession | null>;
  /** Ends the session this credential names (no-op when it names none). */
  signOut(credential: string): Promise<void>;
}

/**
 * What the HTTP mount knows about a request. Absent for in-process callers (createCaller),
 * which are trusted code, not browsers.
 */
export interface Transport {
  remoteAddress: string;
  /**
   * The request carried `x-cfs-csrf: 1`. A cross-site form, link or image cannot send a custom
   * header, and a cross-site fetch that sets one needs a CORS preflight the gateway never
   * grants, so a mutation carrying it was sent by script on the console's own origin.
   */
  csrfHeader: boolean;
  /** The console session credential (the `cfs_session` cookie) the request came with. */
  sessionCredential: string | null;
  /** Why the credentials the request carried were refused (bad token, expired session). */
  authProblem?: string;
  /** Hands the client a new session credential (an httpOnly cookie) valid until `expiresAt`. */
  issueSession(credential: string, expiresAt: string): void;
  /** Tells the client to forget its session credential. */
  endSession(): void;
}

/** Per-request context; `session` is null for an unauthenticated caller. */
export interface Context {
  control: GatewayControl;
  session: Session | null;
  transport?: Transport;
}
