import { health } from './routers/health.ts';
import { createCallerFactory, router } from './trpc.ts';

/** The router is stateless: everything per-gateway or per-request comes in through Context. */
export const appRouter = router({
  health,
});

export type AppRouter = typeof appRouter;

export function createAppRouter(): AppRouter {
  return appRouter;
}

/** Server-side caller (tests, the gateway's own use): `createCaller(ctx).health()`. */
export const createCaller = createCallerFactory(appRouter);
