import { randomBytes } from 'node:crypto';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { isUniqueViolation } from './errors.ts';

/** Setting keys of the cluster-wide secrets created on first open. */
export const SECRET_KEYS = {
  nfsHandleKey: 'nfs.handleMacKey',
  s3SecretKey: 's3.secretEncryptionKey',
} as const;

export interface Settings {
  get(key: string): Promise<string | null>;
  /**
   * Returns the stored value, storing `init()` first when the key is absent (default: 32
   * random bytes, base64). When several processes race, all of them get the first value written.
   */
  ensure(key: string, init?: () => string): Promise<string>;
}

export function randomSecret(): string {
  return randomBytes(32).toString('base64');
}

export function createSettings(prisma: PrismaClient): Settings {
  const get = async (key: string) => (await prisma.setting.findUnique({ where: { key } }))?.value ?? null;
  return {
    get,
    async ensure(key, init = randomSecret) {
      const existing = await get(key);
      if (existing !== null) return existing;
      try {
        return (await prisma.setting.create({ data: { key, value: init() } })).value;
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        const winner = await get(key);
        if (winner === null) throw err;
        return winner;
      }
    },
  };
}
