import { z } from 'zod';
import { accountName, id } from '../schemas.ts';
import { adminProcedure, field, router, viewerProcedure } from '../trpc.ts';
import type { GroupView } from '../types/identity.ts';

export const addGroupInput = z.object({ name: accountName('group'), gid: id('gid').optional() });
export const groupNameInput = z.object({ name: accountName('group') });
export const memberInput = z.object({ name: accountName('group'), user: accountName('user') });

const groupTarget = (i: Readonly<Record<string, unknown>>) => `group:${field(i, 'name')}`;

/** Groups with their members (primary and supplementary). */
export const groupsRouter = router({
  list: viewerProcedure.query(({ ctx }): Promise<GroupView[]> => ctx.control.listGroups()),
  add: adminProcedure
    .meta({ audit: { action: 'group.add', target: groupTarget } })
    .input(addGroupInput)
    .mutation(({ ctx, input }): Promise<GroupView> => ctx.control.addGroup(input)),
  /** Refused while the group is some user's primary group. */
  remove: adminProcedure
    .meta({ audit: { action: 'group.remove', target: groupTarget } })
    .input(groupNameInput)
    .mutation(async ({ ctx, input }): Promise<{ removed: string }> => {
      await ctx.control.removeGroup(input.name);
      return { removed: input.name };
    }),
  /** Takes effect at the user's next sign-in or request (the gateway's cached credentials are dropped). */
  addMember: adminProcedure
    .meta({
      audit: { action: 'group.add-member', target: groupTarget, detail: (i) => ({ user: field(i, 'user') }) },
    })
    .input(memberInput)
    .mutation(({ ctx, input }): Promise<GroupView> => ctx.control.addGroupMember(input.name, input.user)),
  removeMember: adminProcedure
    .meta({
      audit: {
        action: 'group.remove-member',
        target: groupTarget,
        detail: (i) => ({ user: field(i, 'user') }),
      },
    })
    .input(memberInput)
    .mutation(({ ctx, input }): Promise<GroupView> => ctx.control.removeGroupMember(input.name, input.user)),
});
