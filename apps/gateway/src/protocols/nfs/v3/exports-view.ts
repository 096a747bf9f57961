import { BlockList, isIP } from 'node:net';
import type { NfsExport } from '../../../config/types.ts';
import type { Credential } from '../../../storage/types.ts';
import { unmappedAddress } from '../../client-access.ts';
import type { RpcCred } from '../../rpc/program.ts';

/*
 * The NFS program's view of `nfs.exports`: who a caller is on an export, and whether its
 * address may use the export at all. MOUNT (protocols/mount/exports.ts) decides which export a
 * path is in and resolves host-name client patterns.
 */

/**
 * The namespace credential of an RPC caller on an export (exports(5) semantics):
 * AUTH_NONE is always the anonymous id; `squash: all` makes everyone anonymous; `squash: root`
 * maps uid 0 to anon_uid and gid 0 (primary or supplementary) to anon_gid; `squash: none`
 * trusts the AUTH_SYS ids as sent.
 */
export function effectiveCredential(exp: NfsExport, cred: RpcCred): Credential {
  if (cred.flavor === 'none' || exp.squash === 'all') {
    return { uid: exp.anonUid, gid: exp.anonGid, gids: [] };
  }
  if (exp.squash === 'root') {
    const uid = cred.uid === 0 ? exp.anonUid : cred.uid;
    const gid = cred.gid === 0 ? exp.anonGid : cred.gid;
    const gids = cred.gids.includes(0) ? cred.gids.map((g) => (g === 0 ? exp.anonGid : g)) : cred.gids;
    return { uid, gid, gids };
  }
  return { uid: cred.uid, gid: cred.gid, gids: cred.gids };
}

/** Decides per call whether an address may use an export (MOUNT's ClientAccess fits). */
export interface ClientCheck {
  allowed(exp: NfsExport, address: string): Promise<boolean> | boolean;
}

interface Networks {
  list: BlockList;
  /** Answers by address: clients are few and BlockList.check allocates on every call. */
  seen: Map<string, boolean>;
}

const networks = new WeakMap<NfsExport, Networks>();
const SEEN_MAX = 4096;

function networksOf(exp: NfsExport): Networks {
  let n = networks.get(exp);
  if (!n) {
    const list = new BlockList();
    for (const c of exp.clients) {
      if (c.kind === 'cidr') list.addSubnet(c.address, c.prefix, c.family === 4 ? 'ipv4' : 'ipv6');
    }
    n = { list, seen: new Map() };
    networks.set(exp, n);
  }
  return n;
}

/**
 * The check made on every call when no ClientCheck is given (a handle learned on one host is
 * no key on another): address entries are matched here; host-name patterns need the DNS
 * lookups MOUNT makes, so an export listing any (`*` included) admits every address.
 */
export const networkClientCheck: ClientCheck = {
  allowed(exp, address) {
    if (exp.clients.length === 0 || exp.clients.some((c) => c.kind === 'host')) return true;
    const n = networksOf(exp);
    const known = n.seen.get(address);
    if (known !== undefined) return known;
    const ip = unmappedAddress(address);
    const family = isIP(ip);
    const ok = family !== 0 && n.list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
    if (n.seen.size >= SEEN_MAX) n.seen.clear();
    n.seen.set(address, ok);
    return ok;
  },
};
