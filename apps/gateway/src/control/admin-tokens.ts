import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { ControlError, invalid, isUniqueViolation, notFound } from './errors.ts';
import { checkRole, type Role } from './validate.ts';

export interface AdminTokenRecord {
  name: string;
  role: Role;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revoked: boolean;
}

export interface AdminTokens {
  /** The token is returned here once; only its sha256 is stored. Throws EXISTS for a taken name. */
  create(
    name: string,
    role: Role,
    opts?: { expiresAt?: Date },
  ): Promise<AdminTokenRecord & { token: string }>;
  /** The token's name and role, or null when unknown, revoked or expired. Records the use. */
  verify(token: string): Promise<{ name: string; role: Role } | null>;
  list(): Promise<AdminTokenRecord[]>;
  revoke(name: string): Promise<void>;
}

/** Tokens carry 256 random bits, so a plain sha256 (no salt, no stretching) is enough to store them. */
const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

const plain = (t: {
  name: string;
  role: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revoked: boolean;
}): AdminTokenRecord => ({
  name: t.name,
  role: t.role as Role,
  createdAt: t.createdAt,
  lastUsedAt: t.lastUsedAt,
  expiresAt: t.expiresAt,
  revoked: t.revoked,
});

export function createAdminTokens(prisma: PrismaClient): AdminTokens {
  return {
    async create(name, role, opts = {}) {
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw invalid('token name must be 1-64 of A-Z a-z 0-9 _ . -');
      checkRole(role);
      const token = `cfs_${randomBytes(32).toString('base64url')}`;
      try {
        const t = await prisma.adminToken.create({
          data: { name, role, tokenHash: hashToken(token), expiresAt: opts.expiresAt ?? null },
        });
        return { ...plain(t), token };
      } catch (err) {
        if (isUniqueViolation(err)) throw new ControlError('EXISTS', `admin token ${name} already exists`);
        throw err;
      }
    },
    async verify(token) {
      const t = await prisma.adminToken.findUnique({ where: { tokenHash: hashToken(token) } });
      const now = new Date();
      if (!t || t.revoked || (t.expiresAt !== null && t.expiresAt <= now)) return null;
      await prisma.adminToken.update({ where: { id: t.id }, data: { lastUsedAt: now } });
      return { name: t.name, role: t.role as Role };
    },
    async list() {
      return (await prisma.adminToken.findMany({ orderBy: { createdAt: 'asc' } })).map(plain);
    },
    async revoke(name) {
      const { count } = await prisma.adminToken.updateMany({ where: { name }, data: { revoked: true } });
      if (count === 0) throw notFound(`admin token ${name}`);
    },
  };
}
