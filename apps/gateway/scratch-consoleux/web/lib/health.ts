import type { HealthCheck, HealthReport, HealthStatus } from '@claudefs/api';

/**
 * How the console reads /health during a planned drain. The gateway reports its own and its
 * protocols' checks as unhealthy "draining" so a load balancer takes the node out; an operator
 * who drained it should see "draining", in amber, not an outage — unless a check the drain does
 * not cover (metadata, transport) is itself failing.
 */

const RANK: Record<HealthStatus, number> = { healthy: 0, degraded: 1, unhealthy: 2 };

/** The check reads unhealthy only because the gateway drains on purpose. */
export function isDrainedCheck(report: HealthReport, check: HealthCheck): boolean {
  return report.draining && check.message === 'draining';
}

/** A check's word: its status, or `draining`. */
export function checkWord(report: HealthReport, check: HealthCheck): string {
  return isDrainedCheck(report, check) ? 'draining' : check.status;
}

/** What a drained check says instead of the bare "draining". */
export const DRAINED_CHECK_TEXT = 'Refuses new connections during the drain; open ones are still served.';

/** The gateway's word: `overall`, or `draining` when the drain is all that is wrong. */
export function healthWord(report: HealthReport): string {
  if (!report.draining) return report.overall;
  const rest = report.checks
    .filter((c) => !isDrainedCheck(report, c))
    .reduce<HealthStatus>((a, c) => (RANK[c.status] > RANK[a] ? c.status : a), 'healthy');
  return rest === 'healthy' ? 'draining' : rest;
}

/** The checks to name under the word: those not healthy, drained ones left out during a drain. */
export function problemChecks(report: HealthReport): HealthCheck[] {
  return report.checks.filter((c) => c.status !== 'healthy' && !isDrainedCheck(report, c));
}
