import type { ByteRangeLock, LockOwner } from '../../storage/locks.ts';
import type { Nlm4Holder, Nlm4Lock } from './codec.ts';

/**
 * The lock table owner of an NLM lock: one process (svid) of one client (caller_name) with
 * its owner handle (oh), as the brief of the shared lock table names it.
 */
export function ownerOf(lock: Pick<Nlm4Lock, 'callerName' | 'svid' | 'oh'>): LockOwner {
  return {
    protocol: 'nfs',
    key: `${lock.callerName}:${lock.svid}:${lock.oh.toString('hex')}`,
    client: lock.callerName,
  };
}

/**
 * The nlm4_holder TEST reports for a conflicting lock. An NLM holder's svid and oh come back
 * out of its key; a holder of another protocol (SMB) has neither: svid 0, an empty oh.
 */
export function holderOf(l: ByteRangeLock): Nlm4Holder {
  const base = { exclusive: l.exclusive, offset: l.offset, length: l.length };
  if (l.owner.protocol === 'nfs') {
    const parts = l.owner.key.split(':');
    const ohHex = parts.at(-1) ?? '';
    const svid = Number(parts.at(-2));
    if (Number.isInteger(svid) && /^([0-9a-f]{2})*$/.test(ohHex)) {
      return { ...base, svid: svid | 0, oh: Buffer.from(ohHex, 'hex') };
    }
  }
  return { ...base, svid: 0, oh: Buffer.alloc(0) };
}
