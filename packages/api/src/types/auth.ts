export const ROLES = ['viewer', 'operator', 'admin'] as const;

/** viewer reads; operator also drains, invalidates caches, resets circuits; admin also edits. */
export type Role = (typeof ROLES)[number];

/** Who is calling, as the gateway established it for this request. */
export interface Session {
  /** The console user's name, or the admin token's name. */
  user: string;
  role: Role;
  /** A console session cookie (default) or an `Authorization: Bearer` admin token. */
  via?: 'console' | 'token';
  /** Idle expiry of a console session (ISO 8601), pushed back on every use. */
  expiresAt?: string;
}

/** `auth.session`: the signed-in caller, as the console shows it. */
export interface SessionView {
  user: string;
  role: Role;
  via: 'console' | 'token';
  /** The name audit entries carry: `console:<user>` or `token:<name>`. */
  actor: string;
  expiresAt: string | null;
}

/** What the gateway hands back for a good user name and password. */
export interface IssuedSession {
  /** The session's secret: goes only into the httpOnly cookie, never into a response body or a log. */
  credential: string;
  user: string;
  role: Role;
  /** Idle expiry (ISO 8601). */
  expiresAt: string;
}

/** `auth.signIn`'s result: the cookie carries the session; the body only says who. */
export interface SignedIn {
  user: string;
  role: Role;
  expiresAt: string;
}
