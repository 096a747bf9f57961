import { BlockList, isIP } from 'node:net';

/** `::ffff:10.0.0.5` (an IPv4 client on a dual-stack socket) as `10.0.0.5`; others as given. */
function plain(address) {
  const a = address.trim();
  return a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

/**
 * The reverse proxies in front of the console whose `X-Forwarded-For` it believes, from
 * CFS_CONSOLE_TRUSTED_PROXIES: addresses and CIDR ranges, comma-separated (`10.0.0.5,
 * 192.168.0.0/24, ::1`). Empty: none. Throws naming the entry it cannot read.
 */
export function trustedProxies(text = '') {
  const list = new BlockList();
  for (const entry of text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const [address = '', bits, extra] = entry.split('/');
    const family = isIP(address);
    const max = family === 4 ? 32 : 128;
    const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : Number.NaN;
    if (family === 0 || extra !== undefined || !(prefix >= 0 && prefix <= max)) {
      throw new Error(
        `CFS_CONSOLE_TRUSTED_PROXIES: "${entry}" is not an address or a CIDR range (such as 10.0.0.5 or 192.168.0.0/24)`,
      );
    }
    list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return (address) => {
    const family = isIP(address);
    return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  };
}

/**
 * The browser's address: the connection's own, unless it comes from a trusted proxy. Then the
 * `X-Forwarded-For` entries are read from the right (each proxy appends whom it served):
 * the first that is not a trusted proxy is the browser. A header a browser sends itself is
 * never read: its connection does not come from a trusted proxy.
 */
export function browserAddress(peer, forwardedFor, trusted) {
  let client = plain(peer);
  if (!trusted(client) || typeof forwardedFor !== 'string') return client;
  const chain = forwardedFor.split(',').map(plain);
  for (let i = chain.length - 1; i >= 0 && trusted(client); i--) {
    if (isIP(chain[i]) === 0) break;
    client = chain[i];
  }
  return client;
}

/** Headers a proxy sets about the browser's request, believed only from a trusted proxy. */
const PROXY_HEADERS = ['x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port'];

/**
 * Rewrites a request's headers (Node's lower-case record) before Next.js reads them:
 * `X-Forwarded-For` becomes the browser's address alone, and the other `X-Forwarded-*`
 * headers go unless a trusted proxy sent them (Next.js then sets them from the connection).
 */
export function vouchFor(headers, peer, trusted) {
  if (!trusted(plain(peer))) for (const h of PROXY_HEADERS) delete headers[h];
  headers['x-forwarded-for'] = browserAddress(peer, headers['x-forwarded-for'], trusted);
}
