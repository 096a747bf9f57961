import { dirname, resolve } from 'node:path';
import { planReload, type ReloadPlan, type SettingChange } from '../config/reload-plan.ts';
import type { GatewayConfig, LogLevel, Protocol } from '../config/types.ts';
import { databaseCause } from '../control/errors.ts';
import { type ControlPlane, openControlPlane } from '../control/index.ts';
import { AdminRoutes } from '../ops/admin/routes.ts';
import { currentTls, onTlsChange } from '../ops/certs/feature.ts';
import { ConnectionRegistry } from '../ops/connections.ts';
import { HealthMonitor, processCheck } from '../ops/health.ts';
import { OpsHttpServer, sendJson } from '../ops/http-server.ts';
import { nodeHeartbeatOf } from '../ops/nodes/feature.ts';
import { addS3Routes } from '../protocols/s3/admin-route.ts';
import { addSmbStatusRoute } from '../protocols/smb/admin-route.ts';
import { type OpenedNamespace, type OpenNamespaceOptions, openNamespace } from '../storage/open.ts';
import { RESERVE_BYTES } from '../storage/sqlite/space-reserve.ts';
import { loopStalls } from '../util/loop-stalls.ts';
import type { Feature } from './feature.ts';
import { FEATURES } from './features.ts';
import type { Logger } from './logger.ts';
import { claimPidFile } from './pid-file.ts';
import type { Listener, ProtocolServer } from './protocol-server.ts';
import { PROTOCOL_SERVERS } from './protocols.ts';

/** A promise and its two settlers (Node 20 has no Promise.withResolvers). */
function settleLater(): { promise: Promise<void>; resolve(): void; reject(e: unknown): void } {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A failed start is reported by start() itself; nobody has to be waiting on this.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** Where a gateway is in its life: a reload waits for `serving` and is not run once `stopping`. */
export type Lifecycle = 'new' | 'starting' | 'serving' | 'stopping';

/** A stop step that takes longer than this is logged by name. */
const STOP_SLOW_MS = 5000;

export interface ReloadOutcome {
  at: string;
  applied: SettingChange[];
  /** Settings whose file value differs from the running one (as of this reload). */
  pendingRestart: SettingChange[];
  /** Why the file was refused (nothing changed). */
  problems?: string[];
}

/**
 * One gateway process: stores, the ops listener and the protocol servers, started in that
 * order and stopped in reverse so nothing serves a request after its store closed.
 */
export class Gateway {
  ns!: OpenedNamespace;
  control!: ControlPlane;
  readonly health: HealthMonitor;
  readonly ops = new OpsHttpServer();
  readonly admin = new AdminRoutes(this.ops);
  readonly servers: ProtocolServer[] = [];
  readonly listeners: Listener[] = [];
  readonly connections: ConnectionRegistry;
  /** Listeners refuse new connections for maintenance (set by the drain feature; metrics read it). */
  draining = false;
  /** The last reload's outcome (the console shows what waits for a restart). */
  lastReload: ReloadOutcome | undefined;
  /** Tests only: wraps the stores before the namespace guards them (OpenNamespaceOptions). */
  wrapStores: OpenNamespaceOptions['wrapStores'];
  private readonly started: Feature[] = [];
  private releasePid: (() => void) | undefined;
  /** Ends the log line per event-loop stall (util/loop-stalls.ts). */
  private stopStallLog: (() => void) | undefined;
  private stopping: Promise<void> | undefined;
  private phase: Lifecycle = 'new';
  private readonly startedSignal = settleLater();

  constructor(
    public config: GatewayConfig,
    readonly protocols: Protocol[],
    readonly log: Logger,
  ) {
    this.health = new HealthMonitor(config.health.probeIntervalMs);
    this.connections = new ConnectionRegistry(config.limits.maxConnections);
  }

  get lifecycle(): Lifecycle {
    return this.phase;
  }

  /** Settles when start() has finished: resolved once serving, rejected if it failed. */
  whenStarted(): Promise<void> {
    return this.startedSignal.promise;
  }

  async start(): Promise<void> {
    this.phase = 'starting';
    try {
      await this.startServing();
    } catch (e) {
      this.startedSignal.reject(e);
      throw e;
    }
    if (this.phase === 'starting') this.phase = 'serving';
    this.startedSignal.resolve();
  }

  private async startServing(): Promise<void> {
    const { config, log } = this;
    this.releasePid = claimFolders(config, log);
    this.control = await openControlPlane({
      stateDir: config.stateDir,
      url: config.control.url,
      onConnectionError: (err) =>
        log.warn({ err: err.message }, `control plane database connection lost: ${err.message}`),
      // Every admin action is audited: one the control plane cannot take stays in the log, whole.
      onAuditLost: (entry, err) => {
        const cause = databaseCause(err);
        log.error(
          { err: cause, audit: entry },
          `audit entry not recorded in the control plane (${cause}), kept here: ${entry.actor} ${entry.action} ${entry.target} → ${entry.outcome}`,
        );
      },
    });
    if (this.control.migrations.applied.length > 0) {
      log.info({ applied: this.control.migrations.applied }, 'control plane migrated');
    }
    this.ns = await openNamespace({
      metadataUrl: config.metadata.url,
      transportUrl: config.transport.url,
      objectStore: config.objectStore,
      directIo: config.directIo,
      inlineMaxBytes: config.inlineMaxBytes,
      nodeName: config.node.name,
      cacheTtlMs: config.cache.ttlMs,
      cacheMaxEntries: config.cache.maxEntries,
      durability: config.durability,
      breakTimeoutMs: () => this.config.smb.breakTimeoutMs,
      breaker: config.circuitBreaker,
      wrapStores: this.wrapStores,
      onConnectionError: (err) =>
        log.warn({ err: err.message }, `metadata database connection lost: ${err.message}`),
      onBreakerTransition: (b, from, reason) => {
        const line = `circuit ${b.backend}: ${from} -> ${b.state} (${reason})`;
        if (b.state === 'open') log.error({ backend: b.backend, from, to: b.state }, line);
        else log.warn({ backend: b.backend, from, to: b.state }, line);
      },
    });
    this.stopStallLog = loopStalls.onStall((ms) =>
      log.warn(
        { stalledMs: Math.round(ms) },
        `event loop stood still for ${(ms / 1000).toFixed(1)} s (the process was paused — a VM stall, swapping — or held by a long synchronous call); backend calls in flight meanwhile are not counted as slow`,
      ),
    );
    await this.createServedDirectories();
    this.ns.onSpaceReserve = (event, path) => {
      if (event === 'released')
        log.warn(
          { path },
          `metadata disk full: released the ${RESERVE_BYTES / 1024 / 1024} MiB kept in reserve (${path}) so that deletes can commit — delete what is no longer needed; the reserve is taken again once the disk has room`,
        );
      else log.info({ path }, `metadata disk has room: ${path} holds its reserve for deletes again`);
    };
    if (this.ns.madeOwnerOnly.length > 0) {
      log.warn(
        { files: this.ns.madeOwnerOnly },
        `${this.ns.madeOwnerOnly.join(', ')} could be read by other users (it holds every name and small files' bytes): made readable by the gateway's user only (0600)`,
      );
    }
    if (config.durability.metadata === 'async') {
      log.warn(
        { flushIntervalMs: config.durability.flushIntervalMs },
        `metadata durability async: changes are answered before they are on disk and reach it within ${config.durability.flushIntervalMs} ms (or at a COMMIT, FLUSH, CLOSE or S3 change); a power loss can undo that much`,
      );
    }

    // Probes go through the breakers, so an outage opens them and recovery closes them with
    // no client traffic.
    this.health.add({ name: 'metadata', slowMs: 1000, run: () => this.backendProbe('metadata') });
    this.health.add({ name: 'transport', slowMs: 1000, run: () => this.backendProbe('transport') });
    this.health.add(
      processCheck(() => {
        const full = this.connections.limitReached;
        return full === undefined ? undefined : { status: 'unhealthy', message: full };
      }),
    );

    for (const feature of FEATURES) {
      await feature.start(this);
      this.started.push(feature);
    }

    // `./cfs smb status` (the runbook's smbstatus -L) reads the running SMB server.
    addSmbStatusRoute(this.admin, () => this.servers);
    // `./cfs s3 buckets` and `./cfs s3 lifecycle` read the S3 server (and run its sweeps).
    addS3Routes(this.admin, () => this.servers);

    for (const protocol of this.protocols) {
      const factory = PROTOCOL_SERVERS[protocol];
      if (!factory) {
        log.warn(
          { protocol },
          `${protocol} is enabled but this build has no ${protocol} server yet; not serving it`,
        );
        continue;
      }
      const gw = this;
      const server = factory({
        // Read through: a reload replaces the configuration (config/reload-plan.ts keeps what
        // is bound at start at its running values).
        get config() {
          return gw.config;
        },
        ns: this.ns,
        control: this.control,
        connections: this.connections,
        log: log.child({ protocol }),
        tls: { current: () => currentTls(this), onChange: (l) => onTlsChange(this, () => l()) },
      });
      this.servers.push(server);
      this.health.add(this.connections.probeWithRoom(server.healthCheck()));
    }

    this.ops.route('GET', '/health', (_req, res) => {
      const report = this.health.report();
      sendJson(res, report.overall === 'unhealthy' ? 503 : 200, report);
    });
    // Listeners first, then the first probe round, then /health: its first answer already
    // reflects servers that are up.
    for (const server of this.servers) this.listeners.push(...(await server.start()));
    this.connections.share.start();
    await this.health.start();
    await this.ops.listen(config.health.bind);
    this.listeners.unshift({ name: 'health', address: this.ops.address() });
    // Serving now: tell the cluster at once rather than at the next heartbeat (a rolling
    // restart waits for this node to read healthy again).
    void nodeHeartbeatOf(this)?.beatOnce();
    for (const l of this.listeners)
      log.info({ listener: l.name, address: l.address }, `${l.name} listening on ${l.address}`);
  }

  private async backendProbe(backend: 'metadata' | 'transport') {
    await (backend === 'metadata' ? this.ns.probeMetadata() : this.ns.probeTransport());
    const state = this.ns.breakers[backend].state;
    return state === 'half-open' ? { status: 'degraded' as const, message: 'circuit half-open' } : undefined;
  }

  /** The configuration as it runs now: `./cfs gateway log-level` may have changed the level. */
  running(): GatewayConfig {
    return { ...this.config, logLevel: this.log.level as LogLevel };
  }

  private async createServedDirectories(config = this.config): Promise<void> {
    const dirs = [
      ...(config.nfs.enabled ? config.nfs.exports : []),
      ...(config.smb.enabled ? config.smb.shares : []),
      ...(config.s3.enabled ? [config.s3.root] : []),
    ];
    for (const d of dirs) await this.ns.ensureDirectory(d.path, d.mode, d.ownerUid, d.ownerGid);
  }

  /**
   * SIGHUP and `./cfs gateway reload`: applies what can change live (config/reload-plan.ts:
   * log level, limits, caches, breakers, quotas' grace, certificates, NFS exports, SMB shares)
   * and keeps the rest at its running values until the next start, saying which.
   */
  async reload(loaded: GatewayConfig): Promise<ReloadPlan> {
    const plan = planReload(this.running(), loaded);
    const { config } = plan;
    // A new export's or share's directory first: if it cannot be made, nothing changes.
    await this.createServedDirectories(config);
    this.config = config;
    this.log.level = config.logLevel;
    this.connections.maxConnections = config.limits.maxConnections;
    this.ns.configureCaches(config.cache.ttlMs, config.cache.maxEntries);
    for (const b of Object.values(this.ns.breakers)) b.configure(config.circuitBreaker);
    for (const server of this.servers) await server.reload?.();
    for (const feature of this.started) await feature.reload?.(this);
    this.lastReload = {
      at: new Date().toISOString(),
      applied: plan.applied,
      pendingRestart: plan.pendingRestart,
    };
    return plan;
  }

  /**
   * Clean stop: listeners closed, requests in flight finished, stores closed. Idempotent. A
   * step that takes longer than STOP_SLOW_MS is logged by name, so an operator whose stop
   * hangs sees what it waits on.
   */
  stop(): Promise<void> {
    this.phase = 'stopping';
    this.stopping ??= (async () => {
      this.health.stop();
      this.connections.share.stop();
      this.stopStallLog?.();
      for (const server of [...this.servers].reverse()) {
        await this.stopStep(`the ${server.protocol} server`, () => server.stop()).catch((e) =>
          this.log.error({ err: e, protocol: server.protocol }, 'stopping failed'),
        );
      }
      for (const feature of this.started.reverse()) {
        await this.stopStep(`the ${feature.name} feature`, () => feature.stop?.(this)).catch((e) =>
          this.log.error({ err: e, feature: feature.name }, 'stopping failed'),
        );
      }
      await this.stopStep('the health/admin listener', () => this.ops.close());
      await this.stopStep('the metadata and data stores', () => this.ns?.close());
      await this.stopStep('the control plane', () => this.control?.close());
      this.releasePid?.();
    })();
    return this.stopping;
  }

  private async stopStep(what: string, run: () => unknown): Promise<void> {
    const slow = setTimeout(
      () =>
        this.log.warn(
          { waitingOn: what },
          `still stopping after ${STOP_SLOW_MS / 1000} s: waiting on ${what}`,
        ),
      STOP_SLOW_MS,
    );
    try {
      await run();
    } finally {
      clearTimeout(slow);
    }
  }
}

/**
 * Claims the state folder, and with SQLite (one node) the folders of the database and the local
 * data, where they lie elsewhere: a second gateway with its own state folder pointed at the same
 * meta.db or data folder would write beside the first with caches of its own (stale reads, blobs
 * of one inode number written by both). Nodes on one PostgreSQL share a data folder by design.
 */
function claimFolders(config: GatewayConfig, log: Logger): () => void {
  const folders = new Map<string, string>([[resolve(config.stateDir), 'state folder']]);
  if (config.metadata.kind === 'sqlite') {
    const db = resolve(dirname(config.metadata.path));
    if (!folders.has(db)) folders.set(db, 'the metadata database folder');
    if (config.transport.kind === 'file') {
      const data = resolve(config.transport.path);
      if (!folders.has(data)) folders.set(data, 'the data folder');
    }
  }
  const releases: Array<() => void> = [];
  try {
    for (const [folder, what] of folders) releases.push(claimPidFile(folder, log, what));
  } catch (e) {
    for (const r of releases) r();
    throw e;
  }
  return () => {
    for (const r of releases) r();
  };
}
