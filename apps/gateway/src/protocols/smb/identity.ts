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
  if (!cred || cred.accessKeyId !== undefined) return null;
  const ntHash = await env.control.users.getNtHash(cred.name);
  if (!ntHash) return null;
  return { name: cred.name, ntHash, uid: cred.uid, gid: cred.gid, gids: [...cred.gids] };
}
