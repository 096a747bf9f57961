import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Closes a keep-alive connection whose idle time ran out, unless bytes have come in meanwhile.
 *
 * After the whole process stood still (a VM stall, a long collection, a heap snapshot) for longer
 * than the idle time, the event loop runs its timers before the poll that reads what clients
 * sent in the meantime. Closing then would discard a request the client sent in time, and the
 * unread bytes make the kernel answer with a reset (the client's ECONNRESET). So the close waits
 * for that poll: the check runs after it (setImmediate), and a connection that has read bytes
 * since the timer fired stays open.
 */
export function closeIfStillIdle(socket: Socket, idle: () => boolean = () => true): void {
  const read = socket.bytesRead;
  setImmediate(() => {
    if (!socket.destroyed && socket.bytesRead === read && idle()) socket.destroy();
  });
}

/**
 * node:http's keep-alive timeout through closeIfStillIdle: with a 'timeout' listener on the
 * server, node leaves the close to it. The servers set no other socket timeout, so the event
 * only ever comes for a connection idle between requests.
 */
export function closeIdleAfterPoll(server: Server): void {
  server.on('timeout', (socket: Socket) => closeIfStillIdle(socket));
}
