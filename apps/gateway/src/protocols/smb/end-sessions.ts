import type { SmbSessionEnded } from '@claudefs/api';
import type { SmbConnection } from './connection.ts';
import type { ServerEnv } from './context.ts';
import type { Session } from './session.ts';

/** How often live sessions' accounts are looked up again (a disabled or removed one ends). */
export const ACCOUNT_CHECK_MS = 5000;

const hex = (n: bigint) => `0x${n.toString(16)}`;

/**
 * Which sessions to end: one, as `./cfs smb status` lists it (0x…); every one of a user; or
 * every one on a connection, as the connection registry numbers it (the console's Connections).
 */
export type SessionsToEnd = { session: string } | { user: string } | { connection: number };

function chosen(c: SmbConnection, s: Session, which: SessionsToEnd): boolean {
  if (s.state !== 'valid' || !s.user) return false;
  if ('session' in which) return hex(s.id) === which.session;
  if ('user' in which) return !s.guest && s.user.name === which.user;
  return c.id === which.connection;
}

/**
 * Ends sessions as Windows Server's "Close Session" (`net session \\CLIENT /delete`) does: each
 * is logged off — its opens close, durable ones too, with their locks, share modes and leases —
 * and a connection left with no session is closed, so that the client sets up a new one (and an
 * account disabled or removed meanwhile is refused there). A request the client sends on an
 * ended session over a connection that stays is answered STATUS_USER_SESSION_DELETED.
 */
export async function endSessions(
  connections: Iterable<SmbConnection>,
  env: ServerEnv,
  which: SessionsToEnd,
  reason: string,
): Promise<SmbSessionEnded[]> {
  const ended: SmbSessionEnded[] = [];
  for (const c of [...connections]) {
    const mine = [...c.sessions.values()].filter((s) => chosen(c, s, which));
    if (mine.length === 0) continue;
    const remote = `${c.remoteAddress}:${c.registry.info.remotePort}`;
    for (const s of mine) {
      const openFiles = [...s.opens.values()].filter((o) => o.kind !== 'pipe').length;
      await c.logoff(s);
      const row = { session: hex(s.id), user: s.user!.name, remote, openFiles };
      ended.push(row);
      env.log.warn(
        { ...row, reason },
        `SMB session ${row.session} of ${row.user} from ${remote} ended (${openFiles} open ${openFiles === 1 ? 'file' : 'files'} closed): ${reason}`,
      );
    }
    if (![...c.sessions.values()].some((s) => s.state === 'valid'))
      await c.close(`SMB session ended: ${reason}`);
  }
  return ended;
}

/** What a session's account is now: null when it is gone. */
export type AccountLookup = (name: string) => Promise<{ uid: number; disabled: boolean } | null>;

/**
 * Looks up the account of every live session (guests aside) and ends the sessions of one that
 * was disabled, removed or given another uid since it signed in — by `./cfs user disable|remove`, the console or
 * another node. Resolves to the sessions ended.
 */
export async function endSessionsOfClosedAccounts(
  connections: Iterable<SmbConnection>,
  env: ServerEnv,
  account: AccountLookup,
): Promise<SmbSessionEnded[]> {
  const uids = new Map<string, number>();
  for (const c of connections)
    for (const s of c.sessions.values())
      if (s.state === 'valid' && s.user && !s.guest) uids.set(s.user.name, s.user.uid);
  const ended: SmbSessionEnded[] = [];
  for (const [name, uid] of uids) {
    const u = await account(name);
    if (u && !u.disabled && u.uid === uid) continue;
    // Removed and added again under the same name: the sessions still act as the old uid.
    const what = !u ? 'removed' : u.disabled ? 'disabled' : `given uid ${u.uid}`;
    ended.push(...(await endSessions(connections, env, { user: name }, `the account ${name} was ${what}`)));
  }
  return ended;
}
