import { resolveUserCredential } from '../../ops/identity/credentials.ts';
import type { ServerEnv } from './context.ts';
import type { NtlmUserRecord } from './deps.ts';

/**
 * The acceptor's user lookup: the NT hash from the control plane and the namespace credential
 * (uid, gid, supplementary gids, host groups when configured) from the credential resolver.
 * User names are case-insensitive over SMB; the control plane keeps them lowercase.
 */
export async function lookupSmbUser(env: ServerEnv, user: string): Promise<NtlmUserRecord | null> {
  const name = user.toLowerCase();
  if (name === '') return null;
  const cred = await resolveUserCredential(env, name);
  if (!cred) {
    // Disabled (the resolver knows only usable accounts): its password is still checked, and
    // only the right one is told STATUS_ACCOUNT_DISABLED.
    const [u, logon] = await Promise.all([env.control.users.get(name), env.control.users.ntLogon(name)]);
    return u?.disabled && logon
      ? { name: u.name, ntHash: logon.ntHash, disabled: true, uid: u.uid, gid: u.gid, gids: [...u.gids] }
      : null;
  }
  if (cred.accessKeyId !== undefined) return null;
  const logon = await env.control.users.ntLogon(cred.name);
  if (!logon) return null;
  const { ntHash, disabled } = logon;
  return { name: cred.name, ntHash, disabled, uid: cred.uid, gid: cred.gid, gids: [...cred.gids] };
}
