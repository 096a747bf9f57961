import { adminBaseUrl } from '../../../cli/admin-client.ts';
import type { Gateway } from '../../../daemon/gateway.ts';
import type { ManualCommands } from '../api.ts';
import type { StepOutcome } from '../engine.ts';

/** Heading paths of docs/RUNBOOK.md that the trees cite (a test holds each to a real heading). */
export const RUNBOOK = {
  day1Networking: 'Day-1: Pre-Deployment Checklist › Networking',
  day1Tls: 'Day-1: Pre-Deployment Checklist › TLS Certificates',
  day1Config: 'Day-1: Pre-Deployment Checklist › Configuration Validation',
  day1Dependencies: 'Day-1: Pre-Deployment Checklist › Dependencies',
  day1: 'Day-1: Pre-Deployment Checklist',
  keyMetrics: 'Monitoring via Prometheus Metrics › Key Metrics',
  latency: 'Troubleshooting Common Issues › High Latency › Diagnosis Flow',
  latencyCauses: 'Troubleshooting Common Issues › High Latency › Common Causes',
  connection: 'Troubleshooting Common Issues › Connection Failures',
  tls: 'Troubleshooting Common Issues › Connection Failures › TLS Certificate Issues',
  firewall: 'Troubleshooting Common Issues › Connection Failures › Firewall Issues',
  quota: 'Troubleshooting Common Issues › Quota Enforcement Issues',
  quotaSoft: 'Troubleshooting Common Issues › Quota Enforcement Issues › Soft Limit Exceeded Warning',
  quotaHard: 'Troubleshooting Common Issues › Quota Enforcement Issues › Hard Limit Enforcement',
  uidGid: 'Troubleshooting Common Issues › ACL/Permission Issues › UID/GID Mapping',
  smb: 'Troubleshooting Common Issues › ACL/Permission Issues › SMB Access Denied',
  unresponsive: 'Emergency Procedures › Gateway Unresponsive',
  backend: 'Emergency Procedures › Backend (A2/A4) Failures',
  inconsistency: 'Emergency Procedures › Data Inconsistency',
} as const;

/** The admin/health base URL as the runbook's curl lines name it (`http://localhost:8080`). */
export function opsBase(gw: Gateway): string {
  return adminBaseUrl(gw.config.health.bind);
}

export function commands(runbook: string[], product: string[] = [], note?: string): ManualCommands {
  return { runbook, product, ...(note ? { note } : {}) };
}

/** A manual step's outcome: nothing measured, the commands to run. */
export function manual(summary: string, cmds: ManualCommands, extra: Partial<StepOutcome> = {}): StepOutcome {
  return {
    outcome: 'done',
    verdict: 'info',
    summary,
    because: 'a step for the operator: the gateway cannot do it on its own',
    commands: cmds,
    ...extra,
  };
}

export const ms = (n: number) => `${Math.round(n * 10) / 10} ms`;
export const pct = (ratio: number) => `${Math.round(ratio * 1000) / 10}%`;
