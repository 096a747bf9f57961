import type { IncomingMessage } from 'node:http';
import { isIP, type Socket } from 'node:net';
import { isLoopback } from '../admin/auth.ts';
import { loopbackPeerUid } from '../admin/loopback-peer.ts';

/** Per connection: whether its peer may state the browser's address (asked once, kept). */
const vouching = new WeakMap<Socket, Promise<boolean>>();

/**
 * Where a console request comes from. Every browser reaches the gateway through the console's
 * server, so the connection's own address is the console's, the same for everyone: the sign-in
 * throttle would slow every operator down for one stranger's wrong passwords, and the audit
 * would name nobody's address. The console's server states the browser's address in
 * `X-Forwarded-For` (apps/web/server.mjs, which believes no header a browser sends itself). It
 * is taken from a loopback peer running as root or as the gateway's own user, which could
 * read the gateway's state anyway; anyone else's claim is ignored, and the connection's
 * address stands.
 */
export async function clientAddressOf(req: IncomingMessage): Promise<string> {
  const peer = req.socket.remoteAddress ?? '';
  const header = req.headers['x-forwarded-for'];
  if (typeof header !== 'string' || !isLoopback(peer)) return peer;
  const stated = header.slice(header.lastIndexOf(',') + 1).trim();
  if (isIP(stated) === 0) return peer;
  let trusted = vouching.get(req.socket);
  if (!trusted) {
    trusted = loopbackPeerUid(req.socket.remotePort ?? 0, req.socket.localPort ?? 0).then(
      (uid) => uid !== undefined && (uid === 0 || uid === process.geteuid?.()),
    );
    vouching.set(req.socket, trusted);
  }
  return (await trusted) ? stated : peer;
}
