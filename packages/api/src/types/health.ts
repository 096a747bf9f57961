/** Overall and per-check state, worst first: unhealthy > degraded > healthy. */
export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

export interface HealthCheck {
  name: string;
  status: HealthStatus;
  message: string;
  duration_ms: number;
}

/** `/health`, in the runbook's shape. */
export interface HealthReport {
  overall: HealthStatus;
  /**
   * The gateway drains on purpose (`./cfs gateway drain`, the console): its own and its protocol
   * checks read unhealthy with the message "draining", so load balancers take it out, and the
   * console shows "draining" instead of an outage.
   */
  draining: boolean;
  checks: HealthCheck[];
  /** Seconds since the Unix epoch when the report was produced (the runbook's `1706745600`). */
  timestamp: number;
}
