import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { password } from '../schemas.ts';
import { actorOf, field, publicProcedure, router } from '../trpc.ts';
import type { SessionView, SignedIn } from '../types/auth.ts';

/** The same words for every refusal: the caller must not learn whether the user exists. */
export const SIGN_IN_REFUSED = 'wrong user name or password';

export const signInInput = z.object({
  user: z.string().min(1, 'user name is required').max(64),
  password,
});

/**
 * Console sign-in and sign-out. The session is an httpOnly cookie the HTTP mount sets from
 * `transport.issueSession`; sign-in is a mutation, so it needs the CSRF header like any other.
 */
export const authRouter = router({
  signIn: publicProcedure
    .meta({
      audit: {
        action: 'console.signin',
        target: (i) => `user:${field(i, 'user')}`,
        actor: (i) => `console:${field(i, 'user')}`,
        detail: () => undefined,
      },
    })
    .input(signInInput)
    .mutation(async ({ ctx, input }): Promise<SignedIn> => {
      const transport = ctx.transport;
      if (!transport) {
        throw new TRPCError({
          code: 'PRECONDITION_FAILED',
          message: 'sign-in needs the HTTP transport: the session travels as a cookie',
        });
      }
      const issued = await ctx.control.signIn(input.user, input.password, transport.remoteAddress);
      if (!issued) throw new TRPCError({ code: 'UNAUTHORIZED', message: SIGN_IN_REFUSED });
      transport.issueSession(issued.credential, issued.expiresAt);
      return { user: issued.user, role: issued.role, expiresAt: issued.expiresAt };
    }),

  /** Ends this browser's session; harmless without one. */
  signOut: publicProcedure
    .meta({ audit: { action: 'console.signout', target: () => 'session' } })
    .mutation(async ({ ctx }): Promise<{ signedOut: boolean }> => {
      const credential = ctx.transport?.sessionCredential ?? null;
      if (credential !== null) await ctx.control.signOut(credential);
      ctx.transport?.endSession();
      return { signedOut: credential !== null };
    }),

  /** Who the console is signed in as, or null. */
  session: publicProcedure.query(({ ctx }): SessionView | null => {
    const s = ctx.session;
    if (!s) return null;
    return {
      user: s.user,
      role: s.role,
      via: s.via ?? 'console',
      actor: actorOf(s),
      expiresAt: s.expiresAt ?? null,
    };
  }),
});
