/** Overall and per-check state, worst first: unhealthy > degraded > healthy. */
export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

export interface HealthCheck {
  name: string;
  status: HealthStatus;
  message: string;
  duration_ms: number;
}

export interface HealthReport {
  overall: HealthStatus;
  checks: HealthCheck[];
  /** Milliseconds since the Unix epoch when the report was produced. */
  timestamp: number;
}

/**
 * What the router needs from a running gateway. apps/gateway implements it; the console
 * only ever sees it through tRPC. Methods reject with a TRPCError or a plain Error.
 */
export interface GatewayControl {
  health(): Promise<HealthReport>;
}

export type Role = 'viewer' | 'operator' | 'admin';

export interface Session {
  user: string;
  role: Role;
}

/** Per-request context; `session` is null for an unauthenticated caller. */
export interface Context {
  control: GatewayControl;
  session: Session | null;
}
