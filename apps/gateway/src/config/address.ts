import { isIP, isIPv4, isIPv6 } from 'node:net';
import { InvalidValue } from './invalid-value.ts';

/** Where a listener binds. `host` is bare (no brackets for IPv6); `text` is what was written. */
export interface ListenAddress {
  host: string;
  port: number;
  text: string;
}

/** Who may mount an NFS export: a network (a bare address is a /32 or /128) or a host pattern. */
export type ClientMatch =
  | { kind: 'cidr'; text: string; family: 4 | 6; address: string; prefix: number }
  | { kind: 'host'; text: string; pattern: string };

const HOST_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
/** NFS export client patterns may use `*` and `?` in labels, as exports(5) allows. */
const PATTERN_LABEL = /^[a-z0-9*?]([a-z0-9*?-]{0,61}[a-z0-9*?])?$/i;

export function isDnsName(text: string, label = HOST_LABEL): boolean {
  const name = text.endsWith('.') ? text.slice(0, -1) : text;
  return name.length > 0 && name.length <= 253 && name.split('.').every((l) => label.test(l));
}

function looksLikeIPv4(text: string): boolean {
  return /^[\d.]+$/.test(text);
}

function checkHost(host: string, text: string): void {
  if (host === '') {
    throw new InvalidValue(`'${text}' has no host: write 0.0.0.0${text} to listen on every interface`);
  }
  if (looksLikeIPv4(host)) {
    if (!isIPv4(host)) throw new InvalidValue(`'${host}' is not an IPv4 address`);
    return;
  }
  if (!isDnsName(host)) throw new InvalidValue(`'${host}' is not an IP address or host name`);
}

function parsePort(digits: string, text: string): number {
  if (!/^\d+$/.test(digits)) {
    throw new InvalidValue(`'${text}' has no valid port: write host:port, e.g. 0.0.0.0:2049`);
  }
  const port = Number(digits);
  if (port < 1 || port > 65535) throw new InvalidValue(`port ${digits} in '${text}' is outside 1-65535`);
  return port;
}

/** `host:port`, `[v6]:port`. */
export function parseListenAddress(text: string): ListenAddress {
  const bracketed = /^\[([^\]]*)\]:(.*)$/.exec(text);
  if (bracketed) {
    const [, host = '', digits = ''] = bracketed;
    if (!isIPv6(host)) throw new InvalidValue(`'${host}' in '${text}' is not an IPv6 address`);
    return { host, port: parsePort(digits, text), text };
  }
  const colon = text.lastIndexOf(':');
  if (colon < 0) {
    if (/^\d+$/.test(text)) {
      throw new InvalidValue(`'${text}' has no host: write 0.0.0.0:${text} to listen on every interface`);
    }
    throw new InvalidValue(`'${text}' is not host:port, e.g. 0.0.0.0:2049`);
  }
  const host = text.slice(0, colon);
  if (host.includes(':')) {
    throw new InvalidValue(`IPv6 addresses need brackets: write '[${host}]:${text.slice(colon + 1)}'`);
  }
  checkHost(host, text);
  return { host, port: parsePort(text.slice(colon + 1), text), text };
}

/** Binding a wildcard takes the port on every address of its family, and on Linux of both. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/** An exports(5)-style client: `10.0.0.0/8`, `fd00::/8`, `192.0.2.7`, `*.lab.example`, `*`. */
export function parseClientMatch(text: string): ClientMatch {
  const slash = text.indexOf('/');
  if (slash >= 0) {
    const address = text.slice(0, slash);
    const bits = text.slice(slash + 1);
    const family = isIP(address);
    if (family !== 4 && family !== 6) {
      throw new InvalidValue(`'${address}' in '${text}' is not an IP address`);
    }
    const max = family === 4 ? 32 : 128;
    if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) {
      throw new InvalidValue(`'${text}' has a bad prefix length: IPv${family} takes /0 to /${max}`);
    }
    return { kind: 'cidr', text, family, address, prefix: Number(bits) };
  }
  const family = isIP(text);
  if (family === 4 || family === 6) {
    return { kind: 'cidr', text, family, address: text, prefix: family === 4 ? 32 : 128 };
  }
  if (looksLikeIPv4(text)) throw new InvalidValue(`'${text}' is not an IPv4 address`);
  if (!isDnsName(text, PATTERN_LABEL)) {
    throw new InvalidValue(
      `'${text}' is not a network (10.0.0.0/8), an address or a host name (*.example.com)`,
    );
  }
  return { kind: 'host', text, pattern: text.toLowerCase() };
}
