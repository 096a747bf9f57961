import type { NewUser, UserView } from '@claudefs/api';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { ControlError, invalid, isUniqueViolation, notFound } from './errors.ts';
import type { GroupRecord, Groups } from './groups.ts';
import { hashPassword, ntHash, verifyPassword } from './passwords.ts';
import {
  checkId,
  checkName,
  checkRole,
  FIRST_AUTO_ID,
  MIN_PASSWORD_LENGTH,
  type Role,
  withIdRetry,
} from './validate.ts';

/** A user as the control plane holds it: the API's view, with its id and times as Dates. */
export type UserRecord = Omit<UserView, 'createdAt' | 'updatedAt'> & {
  id: number;
  createdAt: Date;
  updatedAt: Date;
};

/** What `add` takes: the API's NewUser (the console and `./cfs user add` ask the same). */
export type AddUserInput = NewUser;

export interface Users {
  /** Throws EXISTS for a taken name or explicit uid, INVALID for a bad name, uid or role. */
  add(input: AddUserInput): Promise<UserRecord>;
  list(): Promise<UserRecord[]>;
  get(nameOrUid: string | number): Promise<UserRecord | null>;
  /** Also deletes the user's S3 keys, console sessions, memberships and unused private group. */
  remove(name: string): Promise<void>;
  /** Stores both the scrypt hash (console) and the NT hash (SMB). */
  setPassword(name: string, password: string): Promise<void>;
  /** False for an unknown or disabled user or one without a password; takes the same time either way. */
  verifyPassword(name: string, password: string): Promise<boolean>;
  /** The 16-byte NT hash for SMB authentication; null when unknown, disabled or no password is set. */
  getNtHash(name: string): Promise<Buffer | null>;
  /**
   * For an SMB logon: the NT hash and whether the account is disabled (the acceptor checks the
   * password first, so only the right one learns that: STATUS_ACCOUNT_DISABLED); null when the
   * user is unknown or has no password.
   */
  ntLogon(name: string): Promise<{ ntHash: Buffer; disabled: boolean } | null>;
  setRole(name: string, role: Role | null): Promise<void>;
  setDisabled(name: string, disabled: boolean): Promise<void>;
  /** A supplementary membership; adding one the user has is harmless. */
  addToGroup(name: string, group: string): Promise<void>;
  /** INVALID when the user is not a supplementary member (its primary group included). */
  removeFromGroup(name: string, group: string): Promise<void>;
}

const withGroups = { memberships: { include: { group: { select: { name: true, gid: true } } } } } as const;

interface UserRow {
  id: number;
  name: string;
  uid: number;
  gid: number;
  ntHash: string | null;
  passwordHash: string | null;
  role: string | null;
  disabled: boolean;
  createdAt: Date;
  updatedAt: Date;
  memberships: { group: { name: string; gid: number } }[];
}

function plain(u: UserRow): UserRecord {
  const groups = u.memberships.map((m) => m.group).sort((a, b) => a.gid - b.gid);
  return {
    id: u.id,
    name: u.name,
    uid: u.uid,
    gid: u.gid,
    groups: groups.map((g) => g.name),
    gids: groups.map((g) => g.gid),
    role: u.role as Role | null,
    disabled: u.disabled,
    hasPassword: u.passwordHash !== null,
    hasNtHash: u.ntHash !== null,
    createdAt: u.createdAt,
    updatedAt: u.updatedAt,
  };
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > 256)
    throw invalid(`password must be ${MIN_PASSWORD_LENGTH} to 256 characters`);
}

export function createUsers(prisma: PrismaClient, groups: Groups): Users {
  const row = (nameOrUid: string | number) =>
    prisma.user.findUnique({
      where: typeof nameOrUid === 'number' ? { uid: nameOrUid } : { name: nameOrUid },
      include: withGroups,
    });
  const get = async (nameOrUid: string | number) => {
    const u = await row(nameOrUid);
    return u ? plain(u) : null;
  };
  const must = async (name: string) => {
    const u = await prisma.user.findUnique({ where: { name }, select: { id: true } });
    if (!u) throw notFound(`user ${name}`);
    return u.id;
  };
  const nextUid = async () => {
    const top = await prisma.user.aggregate({ _max: { uid: true }, where: { uid: { gte: FIRST_AUTO_ID } } });
    return Math.max(FIRST_AUTO_ID, (top._max.uid ?? FIRST_AUTO_ID - 1) + 1);
  };
  const update = async (name: string, data: Record<string, unknown>) => {
    const { count } = await prisma.user.updateMany({ where: { name }, data });
    if (count === 0) throw notFound(`user ${name}`);
  };

  return {
    get,
    async add(input) {
      checkName('user', input.name);
      if (input.uid !== undefined) checkId('uid', input.uid);
      if (input.gid !== undefined) checkId('gid', input.gid);
      const role = input.role == null ? null : checkRole(input.role);
      if (input.password !== undefined) checkPassword(input.password);
      if (await prisma.user.findUnique({ where: { name: input.name }, select: { id: true } })) {
        throw new ControlError('EXISTS', `user ${input.name} already exists`);
      }
      // Before any group is made for it: a refused add leaves nothing behind.
      if (
        input.uid !== undefined &&
        (await prisma.user.findUnique({ where: { uid: input.uid }, select: { id: true } }))
      ) {
        throw new ControlError('EXISTS', `uid ${input.uid} is already taken`);
      }
      // A new private group takes gid = uid when that gid is free, as useradd does.
      const gid =
        input.gid ?? (await groups.ensure(input.group ?? input.name, input.uid ?? (await nextUid()))).gid;
      const supplementary: GroupRecord[] = [];
      for (const g of input.groups ?? []) supplementary.push(await groups.ensure(g));
      const secrets =
        input.password === undefined
          ? {}
          : { passwordHash: await hashPassword(input.password), ntHash: ntHash(input.password) };
      const created = await withIdRetry(
        async () => {
          const uid = input.uid ?? (await nextUid());
          try {
            return await prisma.user.create({
              data: {
                name: input.name,
                uid,
                gid,
                role,
                ...secrets,
                memberships: { create: supplementary.map((g) => ({ groupId: g.id })) },
              },
              include: withGroups,
            });
          } catch (err) {
            if (!isUniqueViolation(err)) throw err;
            if (await row(input.name)) throw new ControlError('EXISTS', `user ${input.name} already exists`);
            if (input.uid !== undefined) throw new ControlError('EXISTS', `uid ${uid} is already taken`);
            throw err;
          }
        },
        async (err) => isUniqueViolation(err) && input.uid === undefined,
      );
      return plain(created);
    },
    async list() {
      return (await prisma.user.findMany({ orderBy: { uid: 'asc' }, include: withGroups })).map(plain);
    },
    async remove(name) {
      const u = await prisma.user.findUnique({ where: { name }, select: { gid: true } });
      const { count } = await prisma.user.deleteMany({ where: { name } });
      if (!u || count === 0) throw notFound(`user ${name}`);
      // The user's private group goes too once nobody else has it as primary group, as userdel does.
      if (!(await prisma.user.findFirst({ where: { gid: u.gid }, select: { id: true } }))) {
        await prisma.group.deleteMany({ where: { name, gid: u.gid } });
      }
    },
    async setPassword(name, password) {
      checkPassword(password);
      await update(name, { passwordHash: await hashPassword(password), ntHash: ntHash(password) });
    },
    async verifyPassword(name, password) {
      const u = await prisma.user.findUnique({
        where: { name },
        select: { passwordHash: true, disabled: true },
      });
      const ok = await verifyPassword(password, u?.passwordHash ?? null);
      return ok && u !== null && !u.disabled;
    },
    async getNtHash(name) {
      const u = await prisma.user.findUnique({ where: { name }, select: { ntHash: true, disabled: true } });
      return u && !u.disabled && u.ntHash !== null ? Buffer.from(u.ntHash, 'hex') : null;
    },
    async ntLogon(name) {
      const u = await prisma.user.findUnique({ where: { name }, select: { ntHash: true, disabled: true } });
      return u && u.ntHash !== null ? { ntHash: Buffer.from(u.ntHash, 'hex'), disabled: u.disabled } : null;
    },
    async setRole(name, role) {
      await update(name, { role: role === null ? null : checkRole(role) });
    },
    async setDisabled(name, disabled) {
      await update(name, { disabled });
    },
    async addToGroup(name, group) {
      const userId = await must(name);
      const g = await groups.get(group);
      if (!g) throw notFound(`group ${group}`);
      await prisma.userGroup.upsert({
        where: { userId_groupId: { userId, groupId: g.id } },
        create: { userId, groupId: g.id },
        update: {},
      });
    },
    async removeFromGroup(name, group) {
      const userId = await must(name);
      const g = await groups.get(group);
      if (!g) throw notFound(`group ${group}`);
      const { count } = await prisma.userGroup.deleteMany({ where: { userId, groupId: g.id } });
      if (count > 0) return;
      const primary = await prisma.user.findFirst({
        where: { id: userId, gid: g.gid },
        select: { id: true },
      });
      throw invalid(
        primary
          ? `group ${group} is the primary group of user ${name}: give ${name} another primary group first`
          : `user ${name} is not a member of group ${group}`,
      );
    },
  };
}
