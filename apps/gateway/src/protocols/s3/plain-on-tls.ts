import type { Socket } from 'node:net';

/** A TLS record's first byte: ContentType handshake (RFC 8446 §5.1). */
const HANDSHAKE = 0x16;
/** How long a connection may stay silent before its first byte tells TLS from plain HTTP. */
const FIRST_BYTE_MS = 30_000;

const BODY =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>BadRequest</Code>' +
  '<Message>The plain HTTP request was sent to HTTPS port: use https://</Message></Error>';
const ANSWER = Buffer.from(
  'HTTP/1.1 400 Bad Request\r\nContent-Type: application/xml\r\n' +
    `Content-Length: ${Buffer.byteLength(BODY)}\r\nConnection: close\r\n\r\n${BODY}`,
);

/**
 * On the HTTPS listener: a connection that opens with a TLS handshake goes to `tls` (its first
 * bytes put back for it); one that opens with anything else — `curl http://` to the HTTPS port,
 * as the runbook's health check does — is answered 400 and closed, as nginx and MinIO answer it,
 * rather than closed without a word (curl: "Empty reply from server").
 */
export function tlsOrPlain(socket: Socket, tls: (s: Socket) => void): void {
  socket.setTimeout(FIRST_BYTE_MS, () => socket.destroy());
  socket.once('data', (first: Buffer) => {
    socket.setTimeout(0);
    socket.pause();
    socket.unshift(first);
    if (first[0] === HANDSHAKE) {
      tls(socket);
      return;
    }
    socket.end(ANSWER);
  });
}
