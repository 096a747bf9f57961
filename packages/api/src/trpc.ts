import { initTRPC, TRPCError } from '@trpc/server';
import type { Context, Role } from './control.ts';

const t = initTRPC.context<Context>().create();

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const middleware = t.middleware;

/** Needs no session. */
export const publicProcedure = t.procedure;

const ROLE_RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** True when `role` grants at least what `minimum` grants. */
export function roleAtLeast(role: Role, minimum: Role): boolean {
  return ROLE_RANK[role] >= ROLE_RANK[minimum];
}

/** A procedure that needs a session with at least `minimum` role (UNAUTHORIZED / FORBIDDEN). */
export function roleProcedure(minimum: Role) {
  return t.procedure.use(({ ctx, next }) => {
    if (ctx.session === null) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'sign in first' });
    if (!roleAtLeast(ctx.session.role, minimum)) {
      throw new TRPCError({ code: 'FORBIDDEN', message: `needs the ${minimum} role` });
    }
    return next({ ctx: { ...ctx, session: ctx.session } });
  });
}
