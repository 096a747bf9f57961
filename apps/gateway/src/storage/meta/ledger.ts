import type { QuotaUsage } from '../types.ts';
import { type TxContext, USAGE_GID, USAGE_UID } from './model.ts';
import { get, type Program, run } from './program.ts';

const KIND_CODE = { uid: USAGE_UID, gid: USAGE_GID } as const;

export function* usageOf(kind: 'uid' | 'gid', id: number): Program<QuotaUsage> {
  const r = yield* get<{ bytes: bigint; inodes: bigint }>('getUsage', KIND_CODE[kind], id);
  return { kind, id, bytes: BigInt(r?.bytes ?? 0n), inodes: BigInt(r?.inodes ?? 0n) };
}

/**
 * Bytes of the inode's named streams (STREAM_XATTR_PREFIX): they count with its data against
 * its owner's quota, as NTFS counts alternate data streams and ext4 the xattr blocks Samba's
 * streams_xattr writes.
 */
export function* streamBytes(ino: bigint): Program<bigint> {
  const r = yield* get<{ bytes: bigint | number }>('streamBytes', ino);
  return BigInt(r?.bytes ?? 0);
}

export function* addUsage(uid: number, gid: number, bytes: bigint, inodes: bigint): Program<void> {
  if (bytes === 0n && inodes === 0n) return;
  yield* run('addUsage', uid, bytes, inodes, gid, bytes, inodes);
}

/**
 * Asks the quota gate before usage grows. For each subject the gate watches, the program
 * takes the subject's ledger lock (PostgreSQL: concurrent writers on every node queue here,
 * so enforcement stays exact) and reads its usage inside the transaction.
 */
export function* charge(
  ctx: TxContext,
  uid: number,
  gid: number,
  addBytes: bigint,
  addInodes: bigint,
): Program<void> {
  if (addBytes <= 0n && addInodes <= 0n) return;
  const known = new Map<string, QuotaUsage>();
  for (const [kind, id] of [
    ['uid', uid],
    ['gid', gid],
  ] as const) {
    if (ctx.gate.watches && !ctx.gate.watches(kind, id)) continue;
    yield* run('lockUsage', (BigInt(KIND_CODE[kind]) << 32n) | BigInt(id >>> 0));
    known.set(`${kind}:${id}`, yield* usageOf(kind, id));
  }
  if (known.size === 0 && ctx.gate.watches) return;
  ctx.gate.check({
    uid,
    gid,
    addBytes: addBytes > 0n ? addBytes : 0n,
    addInodes: addInodes > 0n ? addInodes : 0n,
    usage: (kind, id) => known.get(`${kind}:${id}`) ?? { kind, id, bytes: 0n, inodes: 0n },
  });
}
