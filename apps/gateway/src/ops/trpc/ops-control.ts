import type {
  CacheInvalidation,
  CircuitsReport,
  CircuitView,
  ConnectionsReport,
  DrainStatus,
  GatewayControl,
  LocksRelease,
  SmbFileClosed,
  SmbSessionEnded,
} from '@claudefs/api';
import { TRPCError } from '@trpc/server';
import { previewReload, reloadFromFile } from '../../daemon/config-reload.ts';
import type { Gateway } from '../../daemon/gateway.ts';
import { s3ServerOf } from '../../protocols/s3/admin-route.ts';
import { closeSmbFile, endSmbSessions, smbOpenFilesOf } from '../../protocols/smb/admin-route.ts';
import { circuits, connections, invalidateCaches, resetCircuit } from '../admin/endpoints.ts';
import { accessReport } from '../config/access.ts';
import { configStatus } from '../config/feature.ts';
import { drainControllerOf } from '../drain/feature.ts';
import { locksReport, releaseLocks } from '../locks/report.ts';
import { getMetrics } from '../metrics/index.ts';
import { unwrap } from './errors.ts';

type OpsControl = Pick<
  GatewayControl,
  | 'health'
  | 'metricsHistory'
  | 'metricsSnapshot'
  | 'connections'
  | 'smbOpenFiles'
  | 'closeSmbFile'
  | 'endSmbSessions'
  | 'locks'
  | 'releaseLocks'
  | 'circuits'
  | 'resetCircuit'
  | 'invalidateCache'
  | 'drainStatus'
  | 'drain'
  | 'undrain'
  | 'configStatus'
  | 'previewConfig'
  | 'reloadConfig'
  | 'accessReport'
>;

function drainController(gw: Gateway) {
  const c = drainControllerOf(gw);
  if (!c) throw new TRPCError({ code: 'PRECONDITION_FAILED', message: 'the drain feature is not running' });
  return c;
}

/** Health, metrics, connections, locks, circuits, caches, drain and reload: the admin API's own functions. */
export function opsControl(gw: Gateway): OpsControl {
  return {
    health: async () => gw.health.report(),
    metricsHistory: async (windowSeconds) => getMetrics(gw).history(windowSeconds),
    metricsSnapshot: async () => getMetrics(gw).snapshot(),
    connections: async () => unwrap<ConnectionsReport>(connections(gw)),
    smbOpenFiles: async () => smbOpenFilesOf(gw.servers),
    closeSmbFile: async (session, fileId) =>
      unwrap<SmbFileClosed>(await closeSmbFile(gw.servers, { session, fileId })),
    endSmbSessions: async (connection) =>
      unwrap<SmbSessionEnded[]>(await endSmbSessions(gw.servers, { connection })),
    locks: async () => locksReport(gw),
    releaseLocks: async (client) => unwrap<LocksRelease>(releaseLocks(gw, { client })),
    circuits: async () => unwrap<CircuitsReport>(circuits(gw)),
    resetCircuit: async (backend) => unwrap<CircuitView>(resetCircuit(gw, backend)),
    invalidateCache: async (scope) =>
      unwrap<CacheInvalidation>(
        await invalidateCaches(
          gw,
          scope.scope === 'path' ? { path: scope.path } : scope.scope === 'uid' ? { uid: scope.uid } : {},
        ),
      ),
    drainStatus: async (): Promise<DrainStatus> => drainController(gw).status(),
    drain: async () => drainController(gw).apply('drain'),
    undrain: async () => drainController(gw).apply('undrain'),
    configStatus: async () => configStatus(gw),
    previewConfig: async () => {
      const r = await previewReload(gw);
      return r.ok
        ? { ok: true, applied: r.applied, pendingRestart: r.pendingRestart, overridden: r.overridden ?? [] }
        : { ok: false, problems: r.problems };
    },
    accessReport: async () =>
      accessReport(
        gw.config,
        gw.servers.map((s) => s.protocol),
        (await s3ServerOf(gw.servers)?.buckets()) ?? [],
      ),
    reloadConfig: async () => {
      const r = await reloadFromFile(gw, 'console');
      if (!r.ok)
        throw new TRPCError({ code: 'BAD_REQUEST', message: `reload refused: ${r.problems.join('; ')}` });
      return r;
    },
  };
}
