import net from 'node:net';

/**
 * Bytes one read may bring. Node's own reads take a fresh 64 KiB buffer each: a 1 GiB upload
 * is 16,384 of them, whose memory V8 counts as external and frees only when it collects. That
 * count set off a full (mark-compact) collection every 64 MiB received — 148 of them in four
 * 1 GiB SMB puts, against 14 reading into one buffer per connection (puts at 1,620–1,860
 * MiB/s instead of 570–1,570 in alternating runs).
 */
const READ_BUFFER_BYTES = 256 * 1024;

/**
 * A server that hands each accepted connection over as a socket reading into its own reusable
 * buffer. `onSocket` gets that socket; its 'data' events carry a view of the buffer that is
 * valid only while the event runs: a listener copies what it keeps. Pausing and resuming work
 * as on any socket.
 *
 * Node offers such reads (`onread`) to sockets it connects, not to those a server accepts;
 * the server is created with `pauseOnConnect`, and the accepted socket's handle, not yet
 * reading, is given to a new socket that reads this way (the same handle, so the same
 * descriptor and options). The server's count of open connections moves with it.
 */
export function createReadBufferServer(
  options: { allowHalfOpen?: boolean },
  onSocket: (socket: net.Socket) => void,
): net.Server {
  return net.createServer({ ...options, noDelay: true, pauseOnConnect: true }, (accepted) => {
    onSocket(readIntoBuffer(accepted, options.allowHalfOpen ?? false));
  });
}

/**
 * Where a socket's next read may go instead of its own buffer: the unfilled rest of a large
 * message being received (arriving.ts), so its bytes land where they are kept without a copy.
 * Asked after every read, for the next one; undefined: the socket's own buffer.
 */
export type ReadTarget = () => Buffer | undefined;

const targets = new WeakMap<net.Socket, ReadTarget>();

/**
 * Lets `socket` (one this module made) read straight into what `target` returns. The memory
 * handed out must stay untouched by anyone else until the next read arrives or the socket
 * closes: a message's buffer given to reads is never pooled again before it is whole.
 */
export function setReadTarget(socket: net.Socket, target: ReadTarget): void {
  targets.set(socket, target);
}

interface Internals {
  _handle: unknown;
  _server: net.Server | null;
}

function readIntoBuffer(accepted: net.Socket, allowHalfOpen: boolean): net.Socket {
  const inner = accepted as unknown as Internals;
  if (!inner._handle) {
    // Gone before it was handed over: the accepted socket reports that itself.
    accepted.resume();
    return accepted;
  }
  const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  let made: net.Socket | undefined;
  const socket: net.Socket = new net.Socket({
    handle: inner._handle,
    allowHalfOpen,
    readable: true,
    writable: true,
    onread: {
      // Called for each read's buffer: a large message's own memory while one is arriving.
      // (The first call may come while the socket is being made.)
      buffer: () => (made && targets.get(made)?.()) || buffer,
      callback: (n: number, buf: Uint8Array) => {
        socket.emit('data', (buf as Buffer).subarray(0, n));
        return true;
      },
    },
  } as net.SocketConstructorOpts);
  made = socket;
  (socket as unknown as Internals)._server = inner._server;
  inner._server = null;
  socket.setNoDelay(true);
  // Reading has started: the first bytes arrive in a later turn, after `onSocket` attached its
  // listeners.
  return socket;
}
