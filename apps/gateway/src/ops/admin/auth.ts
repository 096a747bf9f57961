import type { IncomingMessage } from 'node:http';
import type { ControlPlane, Role } from '../../control/index.ts';
import { isLocalHostHeader, loopbackPeerUid, userNameOf } from './loopback-peer.ts';
import { type Authenticator, roleAllows } from './routes.ts';

/**
 * Headers a browser sends and command-line clients don't: a request carrying any of them is
 * never trusted for being local. (Not Sec-Fetch-Mode: Node's fetch sends it too.)
 */
const BROWSER_HEADERS = ['origin', 'cookie', 'referer', 'sec-fetch-site'];

/**
 * The header `./cfs` sends with its operating-system user (`cli:root`). The audit entry of a
 * loopback call names the user that owns the client's socket instead (loopback-peer.ts);
 * where the kernel cannot say, the header is kept as what the caller claims.
 */
export const CLI_ACTOR_HEADER = 'x-cfs-actor';
const CLI_ACTOR = /^cli:[\w.@-]{1,64}$/;

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

export interface LoopbackTrust {
  /** `admin.trust_loopback`. */
  enabled: () => boolean;
  /** The host `health.bind` names (a Host header naming it is local). */
  boundHost: () => string;
}

/**
 * The admin API's one authentication check. A bearer token (hashed in the control plane)
 * names a role; without one, a request from loopback is trusted as an admin when
 * `admin.trust_loopback` is on — only from root or the gateway's own user (another local
 * account needs a token), never when it looks like it came from a browser (Origin, Cookie,
 * Referer, Sec-Fetch-Site: a web page cannot ride on the operator's localhost) or names a host
 * that is not this machine's (a DNS-rebound page).
 */
export function createAuthenticator(control: ControlPlane, loopback: LoopbackTrust): Authenticator {
  return async (req: IncomingMessage, minRole: Role) => {
    const remoteAddress = req.socket.remoteAddress ?? '';
    const header = req.headers.authorization;
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!m) return { status: 401, error: 'malformed Authorization header: expected "Bearer <token>"' };
      const who = await control.adminTokens.verify(m[1]!);
      if (!who) return { status: 401, error: 'invalid or revoked admin token' };
      const caller = { actor: `token:${who.name}`, role: who.role, remoteAddress };
      if (!roleAllows(who.role, minRole)) {
        return {
          status: 403,
          error: `token '${who.name}' has role ${who.role}; this action needs ${minRole}`,
          caller,
        };
      }
      return caller;
    }
    if (loopback.enabled() && isLoopback(remoteAddress)) {
      const browser = BROWSER_HEADERS.find((h) => req.headers[h] !== undefined);
      if (browser) {
        return {
          status: 401,
          error: `a browser request (${browser} header) needs a token even from localhost`,
        };
      }
      if (!isLocalHostHeader(req.headers.host, loopback.boundHost())) {
        return {
          status: 401,
          error: `a request naming host ${req.headers.host} needs a token even from localhost`,
        };
      }
      const uid = await loopbackPeerUid(req.socket.remotePort ?? 0, req.socket.localPort ?? 0);
      if (uid !== undefined && uid !== 0 && uid !== process.geteuid?.()) {
        return {
          status: 401,
          error: `loopback trust covers root and the gateway's own user; uid ${uid} needs a token: Authorization: Bearer <token> (./cfs admin token create)`,
        };
      }
      const named = req.headers[CLI_ACTOR_HEADER];
      const claimed = typeof named === 'string' && CLI_ACTOR.test(named) ? named : undefined;
      const actor =
        uid !== undefined
          ? `cli:${await userNameOf(uid)}`
          : claimed
            ? `loopback (says ${claimed})`
            : 'loopback';
      return { actor, role: 'admin', remoteAddress };
    }
    return {
      status: 401,
      error: 'admin token required: Authorization: Bearer <token> (./cfs admin token create)',
    };
  };
}
