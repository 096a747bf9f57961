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
  checks: HealthCheck[];
  /** Seconds since the Unix epoch when the report was produced (the runbook's `1706745600`). */
  timestamp: number;
}
