import { randomBytes, randomInt } from 'node:crypto';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { ControlError, invalid, isUniqueViolation, notFound } from './errors.ts';
import { open, seal } from './secret-box.ts';

export type S3KeyStatus = 'active' | 'inactive';

export interface S3KeyRecord {
  accessKeyId: string;
  userName: string;
  uid: number;
  status: S3KeyStatus;
  /** Its user is disabled: S3 refuses the key whatever its status. */
  userDisabled: boolean;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export interface S3Credential {
  accessKeyId: string;
  /** Plain secret, for SigV4 verification only; never log it. */
  secret: string;
  userName: string;
  uid: number;
  gid: number;
  /** Supplementary gids. */
  gids: number[];
}

export interface S3Keys {
  /** The plain secret is returned here once; only its AES-256-GCM ciphertext is stored. */
  create(
    userName: string,
    opts?: { accessKeyId?: string; secret?: string },
  ): Promise<S3KeyRecord & { secret: string }>;
  /** Null unless the key exists, is active and its user is enabled. */
  lookup(accessKeyId: string): Promise<S3Credential | null>;
  list(userName?: string): Promise<S3KeyRecord[]>;
  /** Marks the key inactive; lookups fail from then on. */
  revoke(accessKeyId: string): Promise<void>;
  /** Deletes the key for good. */
  remove(accessKeyId: string): Promise<void>;
  /** Records use; callers may throttle this. */
  touch(accessKeyId: string, at?: Date): Promise<void>;
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const ACCESS_KEY_ID = /^[A-Za-z0-9]{16,128}$/;

/** 20 characters like AWS key ids: "CFS" + 17 random base32 characters (85 bits). */
function newAccessKeyId(): string {
  let id = 'CFS';
  for (let i = 0; i < 17; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

const plain = (k: {
  accessKeyId: string;
  status: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  user: { name: string; uid: number; disabled: boolean };
}): S3KeyRecord => ({
  accessKeyId: k.accessKeyId,
  userName: k.user.name,
  uid: k.user.uid,
  status: k.status as S3KeyStatus,
  userDisabled: k.user.disabled,
  createdAt: k.createdAt,
  lastUsedAt: k.lastUsedAt,
});

/** `key` is the cluster's S3 secret-encryption key (32 bytes, from Setting). */
export function createS3Keys(prisma: PrismaClient, key: Buffer): S3Keys {
  const userSel = { select: { name: true, uid: true, disabled: true } } as const;
  return {
    async create(userName, opts = {}) {
      const user = await prisma.user.findUnique({ where: { name: userName }, select: { id: true } });
      if (!user) throw notFound(`user ${userName}`);
      const accessKeyId = opts.accessKeyId ?? newAccessKeyId();
      if (!ACCESS_KEY_ID.test(accessKeyId)) throw invalid(`access key id must match ${ACCESS_KEY_ID.source}`);
      const secret = opts.secret ?? randomBytes(30).toString('base64');
      if (secret.length < 16 || secret.length > 128) throw invalid('secret must be 16 to 128 characters');
      try {
        const k = await prisma.s3Key.create({
          data: { accessKeyId, userId: user.id, secretCiphertext: seal(key, secret, accessKeyId) },
          include: { user: userSel },
        });
        return { ...plain(k), secret };
      } catch (err) {
        if (isUniqueViolation(err))
          throw new ControlError('EXISTS', `access key ${accessKeyId} already exists`);
        throw err;
      }
    },
    async lookup(accessKeyId) {
      const k = await prisma.s3Key.findUnique({
        where: { accessKeyId },
        include: {
          user: {
            select: {
              name: true,
              uid: true,
              gid: true,
              disabled: true,
              memberships: { select: { group: true } },
            },
          },
        },
      });
      if (k?.status !== 'active' || k.user.disabled) return null;
      return {
        accessKeyId,
        secret: open(key, k.secretCiphertext, accessKeyId),
        userName: k.user.name,
        uid: k.user.uid,
        gid: k.user.gid,
        gids: k.user.memberships.map((m) => m.group.gid).sort((a, b) => a - b),
      };
    },
    async list(userName) {
      const keys = await prisma.s3Key.findMany({
        where: userName === undefined ? {} : { user: { name: userName } },
        include: { user: userSel },
        orderBy: { createdAt: 'asc' },
      });
      return keys.map(plain);
    },
    async revoke(accessKeyId) {
      const { count } = await prisma.s3Key.updateMany({
        where: { accessKeyId },
        data: { status: 'inactive' },
      });
      if (count === 0) throw notFound(`access key ${accessKeyId}`);
    },
    async remove(accessKeyId) {
      const { count } = await prisma.s3Key.deleteMany({ where: { accessKeyId } });
      if (count === 0) throw notFound(`access key ${accessKeyId}`);
    },
    async touch(accessKeyId, at = new Date()) {
      await prisma.s3Key.updateMany({ where: { accessKeyId }, data: { lastUsedAt: at } });
    },
  };
}
