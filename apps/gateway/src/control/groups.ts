import type { PrismaClient } from '../generated/prisma/client.ts';
import { ControlError, invalid, isUniqueViolation, notFound } from './errors.ts';
import { checkId, checkName, FIRST_AUTO_ID, withIdRetry } from './validate.ts';

export interface GroupRecord {
  id: number;
  name: string;
  gid: number;
  createdAt: Date;
}

export interface GroupMember {
  name: string;
  uid: number;
  /** True when this is the user's primary group (User.gid), false for a supplementary membership. */
  primary: boolean;
}

export interface Groups {
  /** gid defaults to the next free gid ≥ 1000. Throws EXISTS for a taken name or gid. */
  add(input: { name: string; gid?: number }): Promise<GroupRecord>;
  /** The group with this name; when absent, created with `preferGid` if that is free, else the next free gid ≥ 1000. */
  ensure(name: string, preferGid?: number): Promise<GroupRecord>;
  get(nameOrGid: string | number): Promise<GroupRecord | null>;
  list(): Promise<GroupRecord[]>;
  /** Users whose primary gid is this group's, then supplementary members; sorted by name within each. */
  members(name: string): Promise<GroupMember[]>;
  remove(name: string): Promise<void>;
}

const plain = (g: { id: number; name: string; gid: number; createdAt: Date }): GroupRecord => ({
  id: g.id,
  name: g.name,
  gid: g.gid,
  createdAt: g.createdAt,
});

export function createGroups(prisma: PrismaClient): Groups {
  const get = async (nameOrGid: string | number) => {
    const g = await prisma.group.findUnique({
      where: typeof nameOrGid === 'number' ? { gid: nameOrGid } : { name: nameOrGid },
    });
    return g ? plain(g) : null;
  };

  const nextGid = async () => {
    const top = await prisma.group.aggregate({ _max: { gid: true }, where: { gid: { gte: FIRST_AUTO_ID } } });
    return Math.max(FIRST_AUTO_ID, (top._max.gid ?? FIRST_AUTO_ID - 1) + 1);
  };

  const add = async (input: { name: string; gid?: number }) => {
    checkName('group', input.name);
    if (input.gid !== undefined) checkId('gid', input.gid);
    return withIdRetry(
      async () => {
        const gid = input.gid ?? (await nextGid());
        try {
          return plain(await prisma.group.create({ data: { name: input.name, gid } }));
        } catch (err) {
          if (!isUniqueViolation(err)) throw err;
          if (await get(input.name)) throw new ControlError('EXISTS', `group ${input.name} already exists`);
          if (input.gid !== undefined) throw new ControlError('EXISTS', `gid ${gid} is already taken`);
          throw err;
        }
      },
      async (err) => isUniqueViolation(err) && input.gid === undefined,
    );
  };

  return {
    add,
    get,
    async ensure(name, preferGid) {
      for (const gid of preferGid === undefined ? [undefined] : [preferGid, undefined]) {
        const existing = await get(name);
        if (existing) return existing;
        if (gid !== undefined && (await get(gid))) continue;
        try {
          return await add(gid === undefined ? { name } : { name, gid });
        } catch (err) {
          // Lost a race for the name (or the preferred gid): re-read, or fall back to any free gid.
          if (!(err instanceof ControlError && err.code === 'EXISTS')) throw err;
        }
      }
      const winner = await get(name);
      if (!winner) throw new ControlError('EXISTS', `could not create group ${name}`);
      return winner;
    },
    async list() {
      return (await prisma.group.findMany({ orderBy: { gid: 'asc' } })).map(plain);
    },
    async members(name) {
      const g = await prisma.group.findUnique({
        where: { name },
        include: { memberships: { include: { user: { select: { name: true, uid: true } } } } },
      });
      if (!g) throw notFound(`group ${name}`);
      const primary = await prisma.user.findMany({
        where: { gid: g.gid },
        select: { name: true, uid: true },
      });
      const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
      const seen = new Set(primary.map((u) => u.name));
      return [
        ...primary.sort(byName).map((u) => ({ ...u, primary: true })),
        ...g.memberships
          .map((m) => m.user)
          .filter((u) => !seen.has(u.name))
          .sort(byName)
          .map((u) => ({ ...u, primary: false })),
      ];
    },
    /** Refused while the group is some user's primary group, as groupdel does. */
    async remove(name) {
      const g = await get(name);
      if (!g) throw notFound(`group ${name}`);
      const owner = await prisma.user.findFirst({ where: { gid: g.gid }, select: { name: true } });
      if (owner) throw invalid(`group ${name} is the primary group of user ${owner.name}`);
      await prisma.group.deleteMany({ where: { name } });
    },
  };
}
