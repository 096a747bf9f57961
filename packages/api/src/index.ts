export type {
  Context,
  GatewayControl,
  HealthCheck,
  HealthReport,
  HealthStatus,
  Role,
  Session,
} from './control.ts';
export { type AppRouter, appRouter, createAppRouter, createCaller } from './router.ts';
export { roleAtLeast } from './trpc.ts';
