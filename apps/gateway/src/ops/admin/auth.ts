import type { IncomingMessage } from 'node:http';
import type { ControlPlane, Role } from '../../control/index.ts';
import { type Authenticator, roleAllows } from './routes.ts';

/**
 * Headers a browser sends and command-line clients don't: a request carrying any of them is
 * never trusted for being local. (Not Sec-Fetch-Mode: Node's fetch sends it too.)
 */
const BROWSER_HEADERS = ['origin', 'cookie', 'referer', 'sec-fetch-site'];

/**
 * The header `./cfs` names its operating-system user in (`cli:root`), so a loopback call is
 * audited under the same name as the CLI's control-plane actions. Only read for a caller
 * already trusted for being local: it labels the entry, it grants nothing.
 */
export const CLI_ACTOR_HEADER = 'x-cfs-actor';
const CLI_ACTOR = /^cli:[\w.@-]{1,64}$/;

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

/**
 * The admin API's one authentication check. A bearer token (hashed in the control plane)
 * names a role; without one, a request from loopback is trusted as an admin when
 * `admin.trust_loopback` is on — unless it looks like it came from a browser (Origin, Cookie,
 * Referer, Sec-Fetch-*), so a web page cannot ride on the operator's localhost (CSRF).
 */
export function createAuthenticator(control: ControlPlane, trustLoopback: () => boolean): Authenticator {
  return async (req: IncomingMessage, minRole: Role) => {
    const remoteAddress = req.socket.remoteAddress ?? '';
    const header = req.headers.authorization;
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!m) return { status: 401, error: 'malformed Authorization header: expected "Bearer <token>"' };
      const who = await control.adminTokens.verify(m[1]!);
      if (!who) return { status: 401, error: 'invalid or revoked admin token' };
      if (!roleAllows(who.role, minRole)) {
        return {
          status: 403,
          error: `token '${who.name}' has role ${who.role}; this action needs ${minRole}`,
        };
      }
      return { actor: `token:${who.name}`, role: who.role, remoteAddress };
    }
    if (trustLoopback() && isLoopback(remoteAddress)) {
      const browser = BROWSER_HEADERS.find((h) => req.headers[h] !== undefined);
      if (!browser) {
        const named = req.headers[CLI_ACTOR_HEADER];
        const actor = typeof named === 'string' && CLI_ACTOR.test(named) ? named : 'loopback';
        return { actor, role: 'admin', remoteAddress };
      }
      return {
        status: 401,
        error: `a browser request (${browser} header) needs a token even from localhost`,
      };
    }
    return {
      status: 401,
      error: 'admin token required: Authorization: Bearer <token> (./cfs admin token create)',
    };
  };
}
