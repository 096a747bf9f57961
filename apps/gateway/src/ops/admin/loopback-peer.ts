import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

/**
 * Who is at the other end of a loopback TCP connection: the uid that owns the client's socket,
 * from the kernel's socket tables (/proc/net/tcp and tcp6 list each socket's ports and its
 * owner's uid). The client's socket is the one whose local port is the connection's remote
 * port and whose remote port is the connection's local port. Undefined where /proc has no
 * such tables (not Linux) or the client's socket is already gone. Read synchronously, as
 * /etc/passwd below: both are in memory, while the libuv pool an async read queues on may be
 * taken by calls waiting on a hung data disk — and the admin API (drain, status) must answer
 * then most of all.
 */
export async function loopbackPeerUid(remotePort: number, localPort: number): Promise<number | undefined> {
  const local = `:${hexPort(remotePort)}`;
  const remote = `:${hexPort(localPort)}`;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = readOr(table, 'latin1');
    for (const line of text.split('\n')) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid …
      const f = line.trim().split(/\s+/);
      if (f.length <= 7 || !f[1]!.endsWith(local) || !f[2]!.endsWith(remote)) continue;
      if (isLoopbackHex(f[1]!) && isLoopbackHex(f[2]!)) return Number(f[7]);
    }
  }
  return undefined;
}

/**
 * Whether a socket table address (`0100007F:1F90`: the address's 32-bit words in the host's
 * byte order, here little-endian) is a loopback one: 127/8, ::1 or ::ffff:127/104.
 */
function isLoopbackHex(address: string): boolean {
  const hex = address.slice(0, address.indexOf(':'));
  if (hex.length === 8) return hex.endsWith('7F');
  return (
    hex === '00000000000000000000000001000000' ||
    (hex.startsWith('0000000000000000FFFF0000') && hex.endsWith('7F'))
  );
}

function readOr(path: string, encoding: BufferEncoding): string {
  try {
    return readFileSync(path, encoding);
  } catch {
    return '';
  }
}

function hexPort(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, '0');
}

/** A uid's user name from /etc/passwd; the number itself when it has none. */
export async function userNameOf(uid: number): Promise<string> {
  const passwd = readOr('/etc/passwd', 'utf8');
  for (const line of passwd.split('\n')) {
    const [name, , id] = line.split(':');
    if (name && Number(id) === uid && id !== '') return name;
  }
  return String(uid);
}

/**
 * Whether a Host header can only be the operator's own machine: an IP literal (a browser page
 * reaches one by its address, never through a name a DNS rebinding could move), `localhost`,
 * or the name the listener was bound to. A page on evil.example whose name was rebound to
 * 127.0.0.1 sends `Host: evil.example`.
 */
export function isLocalHostHeader(host: string | undefined, boundHost: string): boolean {
  if (host === undefined) return true;
  const name = (
    host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '')
  ).toLowerCase();
  return isIP(name) !== 0 || name === 'localhost' || name === boundHost.toLowerCase();
}
