import { createHash } from 'node:crypto';
import type { GatewayControl, IssuedSession, Session } from '@claudefs/api';
import { TRPCError } from '@trpc/server';
import type { Gateway } from '../../daemon/gateway.ts';
import { logRefusal } from '../../daemon/refusal-log.ts';
import { SIGN_IN_THROTTLE_DEFAULTS, SignInThrottle } from './sign-in-throttle.ts';

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

const throttles = new WeakMap<Gateway, SignInThrottle>();

/** The gateway's sign-in throttle (one per gateway; for tests and diagnostics). */
export function signInThrottle(gw: Gateway): SignInThrottle {
  let t = throttles.get(gw);
  if (!t) {
    t = new SignInThrottle();
    throttles.set(gw, t);
  }
  return t;
}

/**
 * Console sign-in and sign-out over the control plane's users and sessions. Password checks
 * pass the gateway's SignInThrottle: one at a time, and a user's wrong passwords from one
 * address slow that address down (TOO_MANY_REQUESTS, not audited one by one).
 */
export function sessionControl(gw: Gateway): Pick<GatewayControl, 'signIn' | 'signOut'> {
  const throttle = signInThrottle(gw);
  return {
    async signIn(name, password, from = 'in-process'): Promise<IssuedSession | null> {
      // verifyPassword takes as long for an unknown user as for a wrong password.
      const ok = await throttle.verify(from, name, () => gw.control.users.verifyPassword(name, password));
      if (typeof ok === 'object') {
        const seconds = Math.max(1, Math.ceil(ok.retryAfterMs / 1000));
        throw new TRPCError({
          code: 'TOO_MANY_REQUESTS',
          message:
            ok.reason === 'busy'
              ? 'too many sign-ins at once; try again in a second'
              : `too many wrong passwords; try again in ${seconds} s`,
        });
      }
      const streak = throttle.failuresOf(from, name);
      if (streak === SIGN_IN_THROTTLE_DEFAULTS.freeFailures || (streak > 0 && streak % 50 === 0)) {
        // Once when a streak starts to be slowed down, then every 50: its refusals are not audited.
        gw.log.warn(
          { from, failures: streak },
          `console sign-in: ${streak} wrong passwords in a row from ${from}; further attempts for that user from there wait, longer each time`,
        );
      }
      const user = ok ? await gw.control.users.get(name) : null;
      if (!user || user.role === null) {
        // Which part was wrong is nobody's business, the log's included; the audit entry names the user tried.
        logRefusal(gw.log, 'warn', from, 'console sign-in refused: wrong user name or password', { from });
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
