import { auditRouter } from './routers/audit.ts';
import { authRouter } from './routers/auth.ts';
import { cacheRouter } from './routers/cache.ts';
import { certsRouter } from './routers/certs.ts';
import { circuitsRouter } from './routers/circuits.ts';
import { configRouter } from './routers/config.ts';
import { connectionsRouter } from './routers/connections.ts';
import { diagnosticsRouter } from './routers/diagnostics.ts';
import { drainRouter } from './routers/drain.ts';
import { groupsRouter } from './routers/groups.ts';
import { health } from './routers/health.ts';
import { keysRouter } from './routers/keys.ts';
import { listenersRouter } from './routers/listeners.ts';
import { metricsRouter } from './routers/metrics.ts';
import { nodesRouter } from './routers/nodes.ts';
import { quotasRouter } from './routers/quotas.ts';
import { rollingRestartRouter } from './routers/rolling-restart.ts';
import { s3Router } from './routers/s3.ts';
import { usersRouter } from './routers/users.ts';
import { createCallerFactory, router } from './trpc.ts';

/** The router is stateless: everything per-gateway or per-request comes in through Context. */
export const appRouter = router({
  health,
  auth: authRouter,
  metrics: metricsRouter,
  listeners: listenersRouter,
  nodes: nodesRouter,
  rollingRestart: rollingRestartRouter,
  connections: connectionsRouter,
  circuits: circuitsRouter,
  cache: cacheRouter,
  drain: drainRouter,
  config: configRouter,
  quotas: quotasRouter,
  s3: s3Router,
  users: usersRouter,
  groups: groupsRouter,
  keys: keysRouter,
  certs: certsRouter,
  audit: auditRouter,
  diagnostics: diagnosticsRouter,
});

export type AppRouter = typeof appRouter;

export function createAppRouter(): AppRouter {
  return appRouter;
}

/** Server-side caller (tests, the gateway's own use): `createCaller(ctx).health()`. */
export const createCaller = createCallerFactory(appRouter);
