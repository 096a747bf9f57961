import type { IncomingMessage, ServerResponse } from 'node:http';
import { appRouter, type Context, type GatewayControl, type Session, type Transport } from '@claudefs/api';
import { nodeHTTPRequestHandler } from '@trpc/server/adapters/node-http';
import type { Gateway } from '../../daemon/gateway.ts';
import { createAuthenticator } from '../admin/auth.ts';
import { type Authenticator, MAX_ADMIN_BODY } from '../admin/routes.ts';
import { sendJson } from '../http-server.ts';
import { clientAddressOf } from './client-address.ts';
import { asTrpcError } from './errors.ts';
import {
  clearedSessionCookie,
  resumeSession,
  SESSION_IDLE_MS,
  sessionCookie,
  sessionCredentialOf,
} from './session.ts';

export const TRPC_PREFIX = '/trpc';

/** The header a mutation must carry; see Transport.csrfHeader for why it stops CSRF. */
export const CSRF_HEADER = 'x-cfs-csrf';

const EXPIRED = 'your console session has expired or was ended: sign in again';

/** The browser reached the console over HTTPS (the console's proxy says so), so the cookie is Secure. */
function overHttps(req: IncomingMessage): boolean {
  const proto = req.headers['x-forwarded-proto'];
  const first = (Array.isArray(proto) ? proto[0] : proto)?.split(',')[0]?.trim().toLowerCase();
  return first === 'https' || (req.socket as { encrypted?: boolean }).encrypted === true;
}

/**
 * Who is calling, from the request alone: an `Authorization: Bearer` admin token (checked by
 * the admin API's authenticator), else the `cfs_session` cookie, whose idle expiry each use
 * pushes back. Never the address: the console's server calls for everyone (it only says where
 * a browser is, client-address.ts).
 */
async function requestContext(
  gw: Gateway,
  control: GatewayControl,
  bearer: Authenticator,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<Context> {
  const secure = overHttps(req);
  // One Set-Cookie per response: the last decision (refresh, sign-in, sign-out) wins.
  const setCookie = (value: string) => res.setHeader('set-cookie', value);
  const credential = sessionCredentialOf(req.headers.cookie);
  let session: Session | null = null;
  let authProblem: string | undefined;
  if (req.headers.authorization !== undefined) {
    const who = await bearer(req, 'viewer');
    if ('status' in who) authProblem = who.error;
    else session = { user: who.actor.replace(/^token:/, ''), role: who.role, via: 'token' };
  } else if (credential !== null) {
    session = await resumeSession(gw, credential);
    if (session) setCookie(sessionCookie(credential, SESSION_IDLE_MS / 1000, secure));
    else {
      authProblem = EXPIRED;
      setCookie(clearedSessionCookie(secure));
    }
  }
  const transport: Transport = {
    remoteAddress: await clientAddressOf(req),
    csrfHeader: req.headers[CSRF_HEADER] === '1',
    sessionCredential: credential,
    ...(authProblem === undefined ? {} : { authProblem }),
    issueSession: (value, expiresAt) =>
      setCookie(
        sessionCookie(value, Math.max(0, Math.round((Date.parse(expiresAt) - Date.now()) / 1000)), secure),
      ),
    endSession: () => setCookie(clearedSessionCookie(secure)),
  };
  return { control, session, transport };
}

/**
 * `/trpc/*` on the ops listener: the console's API. Bodies are limited as the admin API's
 * are; nothing about a request's input, cookies or headers is logged.
 */
export function mountTrpc(gw: Gateway, control: GatewayControl): void {
  const log = gw.log.child({ feature: 'trpc' });
  // Tokens only: loopback is never trusted here, since the console's proxy runs on loopback.
  const bearer = createAuthenticator(gw.control, { enabled: () => false, boundHost: () => '' });
  gw.ops.routePrefix('*', TRPC_PREFIX, async (req, res, url) => {
    if (url.pathname !== TRPC_PREFIX && !url.pathname.startsWith(`${TRPC_PREFIX}/`)) {
      sendJson(res, 404, { error: 'not found', path: url.pathname });
      return;
    }
    res.setHeader('cache-control', 'no-store');
    await nodeHTTPRequestHandler({
      router: appRouter,
      req,
      res,
      path: url.pathname.slice(TRPC_PREFIX.length + 1),
      maxBodySize: MAX_ADMIN_BODY,
      // Resolving the caller reads the control plane: its outage is a 503 the console can say, not a 500.
      createContext: ({ req: r, res: s }) =>
        requestContext(gw, control, bearer, r, s).catch((e: unknown) => {
          throw asTrpcError(e);
        }),
      onError: ({ error, path }) => {
        if (error.code === 'INTERNAL_SERVER_ERROR') {
          log.error(
            { err: error.cause ?? error, procedure: path },
            `tRPC ${path ?? '?'} failed: ${error.message}`,
          );
        } else {
          log.debug({ procedure: path, code: error.code }, `tRPC ${path ?? '?'} refused: ${error.code}`);
        }
      },
    });
  });
}
