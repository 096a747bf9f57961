import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { notFound } from './errors.ts';
import type { Role } from './validate.ts';

export interface SessionUser {
  name: string;
  uid: number;
  role: Role;
}

export interface Sessions {
  /** Returns the cookie value once; only its sha256 is stored. */
  create(userName: string, ttlMs: number): Promise<{ cookie: string; expiresAt: Date }>;
  /** The signed-in user, or null when the session is unknown or expired, or the user lost console access. */
  resolve(cookie: string): Promise<SessionUser | null>;
  revoke(cookie: string): Promise<void>;
  /**
   * Ends every console session of a user (its password changed, or it was disabled), but the one
   * whose cookie is `keep` (the browser that made the change); returns how many ended.
   */
  revokeUser(userName: string, keep?: string | null): Promise<number>;
  /** Deletes expired sessions; returns how many. */
  purgeExpired(now?: Date): Promise<number>;
}

const sessionId = (cookie: string) => createHash('sha256').update(cookie, 'utf8').digest('hex');

export function createSessions(prisma: PrismaClient): Sessions {
  return {
    async create(userName, ttlMs) {
      const user = await prisma.user.findUnique({ where: { name: userName }, select: { id: true } });
      if (!user) throw notFound(`user ${userName}`);
      const cookie = randomBytes(32).toString('base64url');
      const expiresAt = new Date(Date.now() + ttlMs);
      await prisma.consoleSession.create({ data: { id: sessionId(cookie), userId: user.id, expiresAt } });
      return { cookie, expiresAt };
    },
    async resolve(cookie) {
      const s = await prisma.consoleSession.findUnique({
        where: { id: sessionId(cookie) },
        include: { user: { select: { name: true, uid: true, role: true, disabled: true } } },
      });
      const now = new Date();
      if (!s || s.expiresAt <= now || s.user.disabled || s.user.role === null) return null;
      await prisma.consoleSession.update({ where: { id: s.id }, data: { lastSeenAt: now } });
      return { name: s.user.name, uid: s.user.uid, role: s.user.role as Role };
    },
    async revoke(cookie) {
      await prisma.consoleSession.deleteMany({ where: { id: sessionId(cookie) } });
    },
    async revokeUser(userName, keep) {
      const { count } = await prisma.consoleSession.deleteMany({
        where: { user: { name: userName }, ...(keep ? { id: { not: sessionId(keep) } } : {}) },
      });
      return count;
    },
    async purgeExpired(now = new Date()) {
      return (await prisma.consoleSession.deleteMany({ where: { expiresAt: { lte: now } } })).count;
    },
  };
}
