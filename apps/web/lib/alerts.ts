import type {
  BackendName,
  DiagnosticTreeId,
  MetricsPoint,
  MetricsSnapshot,
  ProtocolName,
} from '@claudefs/api';
import { bytes } from './format.ts';

/** The runbook's alert thresholds ("Monitoring via Prometheus Metrics → Key Metrics"). */
export const THRESHOLDS = {
  errorRatio: 0.01,
  nfsP99Ms: 10,
  connectionsRatio: 0.9,
  backendErrorsWindowMs: 5 * 60_000,
  /** The runbook note's capacity alert: less than 15 % of a backend disk left… */
  diskRoomLow: 0.15,
  /** …critical under 5 %: writes are refused as disk full soon after. */
  diskRoomCritical: 0.05,
} as const;

export interface Alert {
  id: string;
  severity: 'warning' | 'critical';
  title: string;
  detail: string;
  /**
   * The wizard that walks the runbook section the alert belongs to: errors and latency to High
   * Latency; connections near the maximum too (its Common Causes: "Connection pool exhausted:
   * check active connections" — Connection Failures is about TLS and firewalls); an open
   * circuit or backend errors to Backend (A2/A4) Failures.
   */
  tree: DiagnosticTreeId;
}

const PROTOCOLS: ProtocolName[] = ['nfs', 's3', 'smb'];
const BACKENDS: BackendName[] = ['metadata', 'transport'];

/**
 * Alerts from the headline numbers and the last five minutes of samples. Error ratio is taken
 * over five minutes (like the runbook's `rate(…[5m])`) so one failed request in a quiet
 * interval does not page anyone; backend errors alert when every minute of the last five had some.
 */
export function alertsFor(snapshot: MetricsSnapshot, points: MetricsPoint[], now = snapshot.at): Alert[] {
  const alerts: Alert[] = [];
  const recent = points.filter((p) => p.t > now - THRESHOLDS.backendErrorsWindowMs);

  for (const protocol of PROTOCOLS) {
    let requests = 0;
    let errors = 0;
    for (const p of recent) {
      requests += p.protocols[protocol].requestsPerSec * p.seconds;
      errors += p.protocols[protocol].errorsPerSec * p.seconds;
    }
    if (recent.length === 0) {
      const s = snapshot.protocols[protocol];
      requests = s.requestsPerSec;
      errors = s.errorsPerSec;
    }
    if (requests > 0 && errors / requests > THRESHOLDS.errorRatio) {
      alerts.push({
        id: `errors-${protocol}`,
        severity: 'critical',
        tree: 'latency',
        title: `${protocol.toUpperCase()} errors above 1% of requests`,
        detail: `${((errors / requests) * 100).toFixed(1)}% of ${protocol.toUpperCase()} requests failed over the last 5 minutes.`,
      });
    }
  }

  const nfsP99 = snapshot.protocols.nfs.p99Ms;
  if (nfsP99 !== null && nfsP99 > THRESHOLDS.nfsP99Ms) {
    alerts.push({
      id: 'nfs-p99',
      severity: 'warning',
      tree: 'latency',
      title: 'NFS p99 latency above 10 ms',
      detail: `NFS p99 is ${nfsP99.toFixed(1)} ms. See the runbook's "High Latency" diagnosis flow.`,
    });
  }

  const { active, max } = snapshot.connections;
  if (max > 0 && active / max > THRESHOLDS.connectionsRatio) {
    alerts.push({
      id: 'connections',
      severity: 'warning',
      tree: 'latency',
      title: 'Connections above 90% of the maximum',
      detail: `${active} of ${max} connections in use; new clients will soon be refused.`,
    });
  }

  for (const backend of BACKENDS) {
    if (snapshot.backends[backend].state === 'open') {
      alerts.push({
        id: `circuit-${backend}`,
        severity: 'critical',
        tree: 'backend',
        title: `Circuit to ${backend} is open`,
        detail: `Requests needing ${backend} are refused until a probe succeeds or an operator resets it.`,
      });
    }
    const minutes = new Set<number>();
    for (const p of recent) if (p.backendErrors[backend] > 0) minutes.add(Math.floor((now - p.t) / 60_000));
    const covered =
      recent.length > 0 && (recent[0]?.t ?? now) <= now - THRESHOLDS.backendErrorsWindowMs + 60_000;
    if (covered && [0, 1, 2, 3, 4].every((m) => minutes.has(m))) {
      alerts.push({
        id: `backend-${backend}`,
        severity: 'critical',
        tree: 'backend',
        title: `${backend} backend errors for 5 minutes`,
        detail: `Every minute of the last five saw ${backend} failures (${snapshot.backends[backend].errorsTotal} since start).`,
      });
    }
  }
  for (const d of snapshot.disks ?? []) {
    const left = d.totalBytes > 0 ? d.availableBytes / d.totalBytes : 0;
    if (left >= THRESHOLDS.diskRoomLow) continue;
    alerts.push({
      id: `disk-${d.backend}`,
      severity: left < THRESHOLDS.diskRoomCritical ? 'critical' : 'warning',
      tree: 'backend',
      title: `${d.backend === 'metadata' ? 'Metadata' : 'Data'} disk ${(left * 100).toFixed(1)}% free`,
      detail: `${d.folder} has ${bytes(d.availableBytes)} left of ${bytes(d.totalBytes)} (the runbook alerts under 15%). When it is full, writes are refused as disk full; reads and deletes go on.`,
    });
  }
  return alerts;
}
