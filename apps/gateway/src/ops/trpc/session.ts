import { createHash } from 'node:crypto';
import type { GatewayControl, IssuedSession, Session } from '@claudefs/api';
import type { Gateway } from '../../daemon/gateway.ts';

/** The console session cookie. */
export const SESSION_COOKIE = 'cfs_session';

/** A console session ends after this long without a request; each request pushes it back. */
export const SESSION_IDLE_MS = 30 * 60_000;

/** sessions.create's credential: 32 random bytes, base64url. Anything else is not looked up. */
const CREDENTIAL = /^[A-Za-z0-9_-]{43}$/;

/** The `cfs_session` value of a Cookie header, or null. */
export function sessionCredentialOf(cookieHeader: string | undefined): string | null {
  if (!cookieHeader) return null;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    return CREDENTIAL.test(value) ? value : null;
  }
  return null;
}

/**
 * Set-Cookie for the session: HttpOnly (page scripts cannot read it), SameSite=Strict (never
 * sent on a cross-site request), Path=/ (the console proxies /api/trpc from its own origin),
 * Max-Age = the idle timeout; Secure when the browser reached the console over HTTPS.
 */
export function sessionCookie(credential: string, maxAgeSeconds: number, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${credential}`,
    'HttpOnly',
    'SameSite=Strict',
    'Path=/',
    `Max-Age=${maxAgeSeconds}`,
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

export function clearedSessionCookie(secure: boolean): string {
  return sessionCookie('', 0, secure);
}

/**
 * Pushes a session's idle expiry back. The control plane's Sessions has no call for this yet,
 * so it updates the row that `sessions.create` keyed by the credential's sha256.
 */
async function extendSession(gw: Gateway, credential: string, expiresAt: Date): Promise<void> {
  const id = createHash('sha256').update(credential, 'utf8').digest('hex');
  await gw.control.prisma.consoleSession.updateMany({ where: { id }, data: { expiresAt } });
}

/**
 * The console user a session cookie names, with its idle expiry pushed back; null when the
 * session is unknown or expired, or its user was disabled or lost the console role.
 */
export async function resumeSession(gw: Gateway, credential: string): Promise<Session | null> {
  const who = await gw.control.sessions.resolve(credential);
  if (!who) return null;
  const expiresAt = new Date(Date.now() + SESSION_IDLE_MS);
  await extendSession(gw, credential, expiresAt);
  return { user: who.name, role: who.role, via: 'console', expiresAt: expiresAt.toISOString() };
}

/** Console sign-in and sign-out over the control plane's users and sessions. */
export function sessionControl(gw: Gateway): Pick<GatewayControl, 'signIn' | 'signOut'> {
  return {
    async signIn(name, password): Promise<IssuedSession | null> {
      // verifyPassword takes as long for an unknown user as for a wrong password.
      const ok = await gw.control.users.verifyPassword(name, password);
      const user = ok ? await gw.control.users.get(name) : null;
      if (!user || user.role === null) {
        // Which part was wrong is nobody's business, the log's included; the audit entry names the user tried.
        gw.log.warn('console sign-in refused: wrong user name or password');
        return null;
      }
      const { cookie, expiresAt } = await gw.control.sessions.create(user.name, SESSION_IDLE_MS);
      gw.log.info({ user: user.name, role: user.role }, `console sign-in: ${user.name} (${user.role})`);
      return { credential: cookie, user: user.name, role: user.role, expiresAt: expiresAt.toISOString() };
    },
    async signOut(credential) {
      await gw.control.sessions.revoke(credential);
    },
  };
}
