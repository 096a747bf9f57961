import type {
  AuditRecord,
  CircuitView,
  Context,
  DiagnosticRun,
  DrainStatus,
  GatewayControl,
  HealthReport,
  MetricsPoint,
  NodeView,
  QuotaView,
  RemediationResult,
  RollingRestartView,
  Session,
  SupportBundle,
  Transport,
  UserView,
} from '../src/index.ts';

/**
 * A GatewayControl whose every capability answers with a fixed, plausible value and records
 * the call, so a test sees exactly what the router asked the gateway for. `overrides`
 * replaces single capabilities.
 */
export interface FakeControl extends GatewayControl {
  calls: Array<{ method: keyof GatewayControl; args: unknown[] }>;
  audits: AuditRecord[];
  /** Calls of one capability, by argument list. */
  argsOf(method: keyof GatewayControl): unknown[][];
}

export const REPORT: HealthReport = {
  overall: 'degraded',
  checks: [
    { name: 'metadata', status: 'healthy', message: 'sqlite ok', duration_ms: 1.5 },
    { name: 'transport', status: 'degraded', message: 'circuit half-open', duration_ms: 12 },
  ],
  timestamp: 1_700_000_000_000,
  draining: false,
};

export const NODE: NodeView = {
  name: 'gw-1',
  address: 'gw-1:8080',
  version: '0.0.0',
  startedAt: '2026-11-28T08:00:00.000Z',
  lastHeartbeatAt: '2026-11-28T08:10:00.000Z',
  heartbeatIntervalMs: 5000,
  silentMs: 1200,
  health: 'healthy',
  up: true,
  draining: false,
  drainingSince: null,
  activeConnections: 3,
  requestsInFlight: 0,
  drainRequest: null,
  reloadRequest: null,
  lastReload: null,
  self: true,
};

const walk = (outcome: RollingRestartView['outcome'], by: string): RollingRestartView => ({
  id: 1,
  outcome,
  startedBy: by,
  startedAt: '2026-11-28T08:11:00.000Z',
  endedBy: outcome === 'running' ? null : by,
  endedAt: outcome === 'running' ? null : '2026-11-28T08:12:00.000Z',
  waitLimitMs: 30_000,
  current: 0,
  holding: null,
  nodes: [],
});

const protocolPoint = { requestsPerSec: 1, errorsPerSec: 0, errorRatio: 0, p99Ms: 2, activeConnections: 1 };
const point: MetricsPoint = {
  t: 1_700_000_005_000,
  seconds: 5,
  protocols: { nfs: protocolPoint, s3: protocolPoint, smb: protocolPoint },
  connections: { active: 3, max: 1000 },
  cacheHitRatio: { attributes: 0.9, entries: null },
  backendErrors: { metadata: 0, transport: 0 },
  circuits: { metadata: 'closed', transport: 'closed' },
  draining: false,
};

const drainStatus = (draining: boolean): DrainStatus => ({
  state: draining ? 'draining' : 'serving',
  draining,
  drained: false,
  since: draining ? '2024-01-01T00:00:00.000Z' : null,
  quietForMs: 0,
  quietMs: 1000,
  connections: 0,
  inFlight: 0,
  protocols: {},
});

const circuit: CircuitView = {
  backend: 'metadata',
  state: 'closed',
  consecutiveFailures: 0,
  totalFailures: 0,
};

export const QUOTA: QuotaView = {
  kind: 'uid',
  id: 1000,
  name: 'alice',
  bytes: {
    used: '0',
    soft: '20000000000',
    hard: '25000000000',
    softUnit: 'GB',
    hardUnit: 'GB',
    usedText: '0GB',
    softText: '20GB',
    hardText: '25GB',
  },
  inodes: { used: '0', soft: null, hard: null },
  graceMs: 604_800_000,
  graceText: '7d',
  ownGrace: false,
  softExceededAt: null,
  state: 'ok',
  graceRemainingMs: null,
};

const user: UserView = {
  name: 'alice',
  uid: 1000,
  gid: 1000,
  groups: [],
  gids: [],
  role: 'operator',
  disabled: false,
  hasPassword: true,
  hasNtHash: true,
  createdAt: '2024-01-01T00:00:00.000Z',
  updatedAt: '2024-01-01T00:00:00.000Z',
};

const key = {
  accessKeyId: 'CFSAAAAAAAAAAAAAAAAA',
  userName: 'alice',
  uid: 1000,
  status: 'active' as const,
  userDisabled: false,
  createdAt: '2024-01-01T00:00:00.000Z',
  lastUsedAt: null,
};

export function fakeControl(overrides: Partial<GatewayControl> = {}): FakeControl {
  const base: GatewayControl = {
    health: async () => structuredClone(REPORT),
    metricsHistory: async () => ({ intervalSeconds: 5, points: [point] }),
    metricsSnapshot: async () => ({
      at: 1,
      protocols: {
        nfs: { ...protocolPoint, requestsTotal: 1, errorsTotal: 0, refusedTotal: 0 },
        s3: { ...protocolPoint, requestsTotal: 1, errorsTotal: 0, refusedTotal: 0 },
        smb: { ...protocolPoint, requestsTotal: 1, errorsTotal: 0, refusedTotal: 0 },
      },
      connections: { active: 0, max: 1000, refusedTotal: 0 },
      caches: {
        attributes: { hits: 1, misses: 1, hitRatio: 0.5, entries: 1 },
        entries: { hits: 0, misses: 0, hitRatio: null, entries: 0 },
      },
      backends: {
        metadata: { state: 'closed', errorsTotal: 0 },
        transport: { state: 'closed', errorsTotal: 0 },
      },
      draining: false,
      durability: { metadata: 'sync', flushIntervalMs: null },
      disks: [],
    }),
    listeners: async () => [
      { name: 'health', protocol: 'ops', address: '127.0.0.1:8080', state: 'accepting' },
      { name: 'S3 (http)', protocol: 's3', address: '0.0.0.0:9000', state: 'accepting' },
    ],
    nodes: async () => [NODE],
    requestNodeDrain: async (name, action, by) => ({
      ...NODE,
      name,
      drainRequest: { action, requestedAt: '2026-11-28T08:10:01.000Z', requestedBy: by },
    }),
    requestNodeReload: async (name, by) => ({
      ...NODE,
      name,
      reloadRequest: { requestedAt: '2026-11-28T08:10:01.000Z', requestedBy: by },
    }),
    rollingRestartStatus: async () => ({ walk: null, blockers: [] }),
    startRollingRestart: async (by) => walk('running', by),
    cancelRollingRestart: async (by) => walk('cancelled', by),
    connections: async () => ({ total: 0, max: 1000, inFlight: 0, refused: {}, connections: [] }),
    smbOpenFiles: async () => ({ served: false, files: [], elsewhere: [] }),
    closeSmbFile: async (session, fileId) => ({ session, fileId, path: 'export\\report.docx' }),
    endSmbSessions: async () => [{ session: '0x1', user: 'alice', remote: '10.0.0.5:50122', openFiles: 1 }],
    locks: async () => ({ locks: [], waiting: 0 }),
    releaseLocks: async (client) => ({ client, released: 1 }),
    circuits: async () => ({ circuits: [circuit] }),
    resetCircuit: async (backend) => ({ ...circuit, backend }),
    invalidateCache: async () => ({
      scope: 'all',
      at: 1_700_000_000_000,
      dropped: { attributes: 2, entries: 3, fileData: 1, total: 6 },
      hitRatioBefore: 0.8,
      hitRatioAfter: 0.8,
    }),
    drainStatus: async () => drainStatus(false),
    drain: async () => drainStatus(true),
    undrain: async () => drainStatus(false),
    configStatus: async () => ({
      file: '/etc/claudefs/gateway.yaml',
      stateDir: '/var/lib/claudefs',
      pid: 4242,
      logLevel: 'info',
      lastReload: null,
    }),
    previewConfig: async () => ({ ok: true, applied: [], pendingRestart: [] }),
    accessReport: async () => ({
      nfs: { served: false, exports: [] },
      smb: {
        served: false,
        signingRequired: false,
        encryption: 'if_required',
        mapToGuest: 'never',
        shares: [],
      },
      s3: {
        served: true,
        https: false,
        publicReadBuckets: [],
        readableWithoutKey: [],
        corsOrigins: [],
        bucketCors: [],
      },
      notes: [],
    }),
    s3Buckets: async () => [
      {
        name: 'logs',
        owner: 'alice',
        ownerUid: 1000,
        ownerGid: 1000,
        created: '2026-11-28T08:00:00.000Z',
        mode: '0755',
        publicRead: false,
        publicAccessBlock: [],
        lifecycle: [],
        tags: [],
        versioning: null,
        objectLock: null,
        policy: null,
        cors: null,
      },
    ],
    s3BucketUsage: async (bucket) => ({
      bucket,
      objects: 2,
      bytes: '10',
      versions: 0,
      versionBytes: '0',
      complete: true,
      ms: 1,
    }),
    s3Uploads: async () => [],
    abortS3Upload: async () => ({ bucket: 'logs', key: 'big.bin', parts: 1, freedBytes: '5' }),
    s3Lifecycle: async () => ({
      served: true,
      buckets: [
        {
          bucket: 'logs',
          rules: [{ id: 'expire', enabled: true, summary: 'expire 30 days after last write — every object' }],
        },
      ],
      lastSweep: null,
      nextSweep: '2026-11-28T09:00:00.000Z',
      sweeping: false,
    }),
    runS3Lifecycle: async () => ({
      started: '2026-11-28T08:10:00.000Z',
      ms: 3,
      expired: 1,
      freedBytes: '10',
      aborted: 0,
      buckets: [{ bucket: 'logs', expired: 1, freedBytes: '10', aborted: 0 }],
    }),
    reloadConfig: async () => ({
      at: '2026-11-28T08:10:00.000Z',
      applied: [{ setting: 'nfs.exports.0.access', from: 'rw', to: 'ro' }],
      pendingRestart: [{ setting: 'nfs.bind', from: '0.0.0.0:2049', to: '0.0.0.0:3049' }],
    }),
    listQuotas: async () => [QUOTA],
    getQuota: async () => QUOTA,
    setQuota: async () => QUOTA,
    removeQuota: async () => {},
    quotaUsage: async (kind) => [
      {
        kind,
        id: 1000,
        name: 'alice',
        used: { bytes: QUOTA.bytes.used, inodes: QUOTA.inodes.used, text: QUOTA.bytes.usedText },
        quota: QUOTA,
      },
    ],
    explainQuota: async (s) => ({
      uid: s.uid ?? null,
      gid: s.gid ?? null,
      user: null,
      blocked: false,
      subjects: [],
      summary: 'no quota limits this uid',
    }),
    listUsers: async () => [user],
    addUser: async (u) => ({ ...user, name: u.name }),
    removeUser: async () => {},
    setUserPassword: async () => {},
    setUserRole: async (name, role) => ({ ...user, name, role }),
    setUserDisabled: async (name, disabled) => ({ ...user, name, disabled }),
    listGroups: async () => [{ name: 'staff', gid: 1500, createdAt: user.createdAt, members: [] }],
    addGroup: async (g) => ({ name: g.name, gid: g.gid ?? 1501, createdAt: user.createdAt, members: [] }),
    removeGroup: async () => {},
    addGroupMember: async (group, u) => ({
      name: group,
      gid: 1500,
      createdAt: user.createdAt,
      members: [{ name: u, uid: user.uid, primary: false }],
    }),
    removeGroupMember: async (group) => ({ name: group, gid: 1500, createdAt: user.createdAt, members: [] }),
    listKeys: async () => [key],
    createKey: async (u) => ({ ...key, userName: u, secret: 'fake-secret-0123456789abcdef' }),
    revokeKey: async (id) => ({ ...key, accessKeyId: id, status: 'inactive' }),
    certificates: async () => ({ certificates: [] }),
    uploadCertificate: async () => ({ certificates: [], reloaded: true, warnings: [] }),
    // Diagnostics have their own router test (diagnostics.test.ts); here only the call is recorded.
    diagnosticTrees: async () => [],
    runDiagnostic: async (request) => ({ id: 'run-1', tree: request.tree }) as DiagnosticRun,
    diagnosticBundle: async () => ({ format: 'claudefs-support-bundle/1' }) as SupportBundle,
    remediate: async (request) =>
      ({ action: request.action, summary: 'done', result: null }) as RemediationResult,
    auditLog: async () => ({ entries: [], nextBeforeId: null }),
    recordAudit: async () => {},
    signIn: async (name, pw) =>
      name === 'alice' && pw === 'right-password'
        ? {
            credential: 'CREDENTIAL-VALUE',
            user: 'alice',
            role: 'operator',
            expiresAt: '2030-01-01T00:00:00.000Z',
          }
        : null,
    signOut: async () => {},
    ...overrides,
  };
  const calls: FakeControl['calls'] = [];
  const audits: AuditRecord[] = [];
  const fake = {
    calls,
    audits,
    argsOf: (m: keyof GatewayControl) => calls.filter((c) => c.method === m).map((c) => c.args),
  };
  for (const [name, fn] of Object.entries(base) as Array<
    [keyof GatewayControl, (...a: unknown[]) => unknown]
  >) {
    Object.assign(fake, {
      [name]: (...args: unknown[]) => {
        calls.push({ method: name, args });
        if (name === 'recordAudit') audits.push(args[0] as AuditRecord);
        return fn(...args);
      },
    });
  }
  return fake as FakeControl;
}

export const SESSIONS = {
  viewer: { user: 'val', role: 'viewer' },
  operator: { user: 'otto', role: 'operator' },
  admin: { user: 'ada', role: 'admin' },
  anonymous: null,
} as const satisfies Record<string, Session | null>;

export type Who = keyof typeof SESSIONS;

/** A transport as the HTTP mount builds it, recording what it was told to do with the cookie. */
export function fakeTransport(
  o: { csrf?: boolean; credential?: string | null; authProblem?: string } = {},
): Transport & {
  issued: Array<{ credential: string; expiresAt: string }>;
  ended: number;
} {
  const t = {
    remoteAddress: '192.0.2.7',
    csrfHeader: o.csrf ?? true,
    sessionCredential: o.credential ?? null,
    ...(o.authProblem === undefined ? {} : { authProblem: o.authProblem }),
    issued: [] as Array<{ credential: string; expiresAt: string }>,
    ended: 0,
    issueSession(credential: string, expiresAt: string) {
      t.issued.push({ credential, expiresAt });
    },
    endSession() {
      t.ended++;
    },
  };
  return t;
}

export function context(who: Who, control: FakeControl, transport?: Transport): Context {
  return { control, session: SESSIONS[who], ...(transport ? { transport } : {}) };
}
