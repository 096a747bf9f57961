import type { GatewayConfig } from '../../config/types.ts';
import type { ControlPlane } from '../../control/index.ts';
import { TtlCache } from '../../storage/ttl-cache.ts';
import type { Credential } from '../../storage/types.ts';
import { type HostFiles, hostGroupIds } from './host-groups.ts';

/** What the resolver needs: a Gateway, or a protocol server's context, both have it. */
export interface IdentitySource {
  readonly control: ControlPlane;
  readonly config: Pick<GatewayConfig, 'identity'>;
}

/** The namespace credential of a user, found by user name or by S3 access key id. */
export interface ResolvedUser extends Credential {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  /** Supplementary gids, sorted, without the primary gid. */
  readonly gids: readonly number[];
  /** Set when resolved by access key. */
  readonly accessKeyId?: string;
  /** The key's plain secret, for SigV4 verification only; never log it. */
  readonly secret?: string;
}

/**
 * Hits are served for this long, so a revoked key, removed user or changed membership takes
 * effect within it; misses are never cached, so a new user or key works at once.
 */
export const CREDENTIAL_TTL_MS = 1000;

const caches = new WeakMap<ControlPlane, TtlCache<string, ResolvedUser>>();

function cacheFor(control: ControlPlane): TtlCache<string, ResolvedUser> {
  let c = caches.get(control);
  if (!c) {
    c = new TtlCache('credentials', CREDENTIAL_TTL_MS, 10_000);
    caches.set(control, c);
  }
  return c;
}

/** Hit and miss counters of the credential cache (for metrics). */
export function credentialCache(gw: IdentitySource): TtlCache<string, ResolvedUser> {
  return cacheFor(gw.control);
}

type Drop = (nameOrAccessKey?: string) => void;
const dependents = new WeakMap<ControlPlane, Set<Drop>>();

/**
 * A protocol's own cache of what it looked up in the control plane (S3's access keys) is
 * dropped with these credentials, so a change made through the gateway applies at once there
 * too. Returns the function that stops it.
 */
export function onCredentialsInvalidated(control: ControlPlane, drop: Drop): () => void {
  let set = dependents.get(control);
  if (!set) {
    set = new Set();
    dependents.set(control, set);
  }
  set.add(drop);
  return () => set.delete(drop);
}

/** Drops cached credentials: one name or key, or all (and the protocols' caches that follow them). */
export function invalidateCredentials(gw: IdentitySource, nameOrAccessKey?: string): void {
  const c = cacheFor(gw.control);
  if (nameOrAccessKey === undefined) c.invalidate();
  else c.delete(nameOrAccessKey);
  for (const drop of dependents.get(gw.control) ?? []) drop(nameOrAccessKey);
}

const USER_NAME = /^[a-z_][a-z0-9_.-]{0,31}$/;
const ACCESS_KEY_ID = /^[A-Za-z0-9]{16,128}$/;

async function lookup(gw: IdentitySource, nameOrAccessKey: string): Promise<ResolvedUser | null> {
  // User names are lowercase (control/validate.ts), so a name typed as `Alice` over SMB is alice.
  const asName = nameOrAccessKey.toLowerCase();
  let found: ResolvedUser | null = null;
  if (USER_NAME.test(asName)) {
    const u = await gw.control.users.get(asName);
    if (u && !u.disabled) found = { name: u.name, uid: u.uid, gid: u.gid, gids: u.gids };
  }
  if (!found && ACCESS_KEY_ID.test(nameOrAccessKey)) {
    const k = await gw.control.s3Keys.lookup(nameOrAccessKey);
    if (k) {
      found = {
        name: k.userName,
        uid: k.uid,
        gid: k.gid,
        gids: k.gids,
        accessKeyId: k.accessKeyId,
        secret: k.secret,
      };
    }
  }
  return found;
}

async function withHostGroups(u: ResolvedUser, files: HostFiles): Promise<ResolvedUser> {
  const merged = new Set([...u.gids, ...(await hostGroupIds(u.name, files))]);
  merged.delete(u.gid);
  return { ...u, gids: [...merged].sort((a, b) => a - b) };
}

/**
 * The credential {uid, gid, gids} and name of a user, by user name or S3 access key id; null
 * for an unknown or disabled user or an unknown or revoked key. With
 * `identity.groups_from_host: true` the host's groups for the name (/etc/group members and
 * the passwd primary group) are merged into `gids`.
 */
export async function resolveUserCredential(
  gw: IdentitySource,
  nameOrAccessKey: string,
  files: HostFiles = {},
): Promise<ResolvedUser | null> {
  const cache = cacheFor(gw.control);
  const hit = cache.get(nameOrAccessKey);
  if (hit) return hit;
  let found = await lookup(gw, nameOrAccessKey);
  if (!found) return null;
  found = gw.config.identity.groupsFromHost
    ? await withHostGroups(found, files)
    : { ...found, gids: found.gids.filter((g) => g !== found!.gid) };
  cache.set(nameOrAccessKey, found);
  return found;
}
