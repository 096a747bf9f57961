import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { accountName, id, newPassword, role } from '../schemas.ts';
import { adminProcedure, field, router, viewerProcedure } from '../trpc.ts';
import type { Session } from '../types/auth.ts';
import type { NewUser, UserView } from '../types/identity.ts';

export const addUserInput = z.object({
  name: accountName('user'),
  uid: id('uid').optional(),
  gid: id('gid').optional(),
  group: accountName('group').optional(),
  groups: z.array(accountName('group')).max(64).optional(),
  role: role.nullable().optional(),
  password: newPassword.optional(),
});

export const nameInput = z.object({ name: accountName('user') });
export const setPasswordInput = z.object({ name: accountName('user'), password: newPassword });
export const setRoleInput = z.object({ name: accountName('user'), role: role.nullable() });
export const setDisabledInput = z.object({ name: accountName('user'), disabled: z.boolean() });

const userTarget = (i: Readonly<Record<string, unknown>>) => `user:${field(i, 'name')}`;

/**
 * An admin cannot remove, disable or change the role of the console account they are signed in
 * with: the console could not undo it (`./cfs user …` on the gateway host can). Admin tokens
 * name no account and are not held to it.
 */
function notSelf(session: Session | null, name: string, what: string): void {
  if (session?.via !== 'token' && session?.user === name) {
    throw new TRPCError({
      code: 'BAD_REQUEST',
      message: `you cannot ${what} the account you are signed in with`,
    });
  }
}

/** Accounts: one identity for NFS uid/gid, S3 keys, SMB's NT hash and the console role. */
export const usersRouter = router({
  list: viewerProcedure.query(({ ctx }): Promise<UserView[]> => ctx.control.listUsers()),
  add: adminProcedure
    .meta({
      audit: {
        action: 'user.add',
        target: userTarget,
        detail: ({ password: given, ...rest }) => ({
          ...rest,
          password: given === undefined ? 'none' : 'set',
        }),
      },
    })
    .input(addUserInput)
    .mutation(({ ctx, input }): Promise<UserView> => ctx.control.addUser(input as NewUser)),
  remove: adminProcedure
    .meta({ audit: { action: 'user.remove', target: userTarget } })
    .input(nameInput)
    .mutation(async ({ ctx, input }): Promise<{ removed: string }> => {
      notSelf(ctx.session, input.name, 'remove');
      await ctx.control.removeUser(input.name);
      return { removed: input.name };
    }),
  /** Sets both the console password and SMB's NT hash. */
  setPassword: adminProcedure
    .meta({ audit: { action: 'user.passwd', target: userTarget, detail: () => undefined } })
    .input(setPasswordInput)
    .mutation(async ({ ctx, input }): Promise<{ changed: string }> => {
      // The user's other console sessions end; an admin changing their own keeps this one.
      const own = ctx.session?.user === input.name ? (ctx.transport?.sessionCredential ?? null) : null;
      await ctx.control.setUserPassword(input.name, input.password, own);
      return { changed: input.name };
    }),
  setDisabled: adminProcedure
    .meta({
      audit: {
        action: (i) => (i.disabled === true ? 'user.disable' : 'user.enable'),
        target: userTarget,
        detail: () => undefined,
      },
    })
    .input(setDisabledInput)
    .mutation(({ ctx, input }): Promise<UserView> => {
      if (input.disabled) notSelf(ctx.session, input.name, 'disable');
      return ctx.control.setUserDisabled(input.name, input.disabled);
    }),
  setRole: adminProcedure
    .meta({ audit: { action: 'user.role', target: userTarget } })
    .input(setRoleInput)
    .mutation(({ ctx, input }): Promise<UserView> => {
      notSelf(ctx.session, input.name, 'change the role of');
      return ctx.control.setUserRole(input.name, input.role);
    }),
});
