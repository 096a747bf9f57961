import dns from 'node:dns';
import { BlockList, isIP } from 'node:net';
import type { ClientMatch } from '../config/types.ts';

/*
 * Which client addresses may use what names them (exports(5)-style `clients`): NFS exports and
 * MOUNT, and SMB shares' `hosts_allow`. Networks match on the address; host names and patterns
 * through DNS, confirmed forward.
 */

/** exports(5) `secure`: ports a client's root alone can bind are below this. */
const PRIVILEGED_PORT_LIMIT = 1024;

/** exports(5) `secure`: a call from this port is refused (the export is secure, the port unprivileged). */
export function insecurePort(exp: { readonly secure: boolean }, port: number): boolean {
  return exp.secure && port >= PRIVILEGED_PORT_LIMIT;
}

/** What lists its clients: an NFS export, an SMB share. Decisions are cached per list object. */
export interface ClientList {
  readonly clients: readonly ClientMatch[];
}

/** Looks names and addresses up (DNS, /etc/hosts); replaceable in tests. */
export interface HostResolver {
  /** Names of an address (getnameinfo). */
  reverse(address: string): Promise<string[]>;
  /** Addresses of a name (getaddrinfo). */
  forward(name: string): Promise<string[]>;
}

export const systemResolver: HostResolver = {
  async reverse(address) {
    const { hostname } = await dns.promises.lookupService(address, 0);
    return [hostname];
  },
  async forward(name) {
    return (await dns.promises.lookup(name, { all: true })).map((a) => a.address);
  },
};

const DNS_TTL_MS = 60_000;
const DNS_CACHE_MAX = 4096;

/** An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) as the IPv4 address it is. */
export function unmappedAddress(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

/** exports(5) wildcards: `*` and `?` match within one label, never across a dot. */
export function hostPatternMatches(pattern: string, name: string): boolean {
  const re = pattern
    .toLowerCase()
    .replace(/\.$/, '')
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^.]*')
    .replace(/\?/g, '[^.]');
  return new RegExp(`^${re}$`).test(name.toLowerCase().replace(/\.$/, ''));
}

/**
 * Decides whether a client may use what lists it in `clients` (an NFS export, an SMB share's
 * hosts_allow): networks are matched on the address alone; host names are resolved only when
 * no network matched and the list has one — a plain name by resolving it forward, a wildcard pattern by resolving the
 * address back to its name (confirmed forward, so a PTR record alone cannot claim a name).
 * Lookups are cached for a minute.
 */
export class ClientAccess {
  private readonly networks = new WeakMap<ClientList, BlockList>();
  /** Decisions by list and address (NFS asks on every call): kept as long as a lookup. */
  private readonly decisions = new WeakMap<ClientList, Map<string, { at: number; ok: boolean }>>();
  private readonly reverseCache = new Map<string, { at: number; names: Promise<string[]> }>();
  private readonly forwardCache = new Map<string, { at: number; addresses: Promise<string[]> }>();

  constructor(
    private readonly resolver: HostResolver = systemResolver,
    // Monotonic: a step of the wall clock back does not keep a name's answer past its TTL.
    private readonly now: () => number = () => performance.now(),
  ) {}

  allowed(exp: ClientList, address: string): Promise<boolean> | boolean {
    let seen = this.decisions.get(exp);
    if (!seen) {
      seen = new Map();
      this.decisions.set(exp, seen);
    }
    const hit = seen.get(address);
    if (hit && this.now() - hit.at < DNS_TTL_MS) return hit.ok;
    return this.decide(exp, address).then((ok) => {
      if (seen.size >= DNS_CACHE_MAX) seen.clear();
      seen.set(address, { at: this.now(), ok });
      return ok;
    });
  }

  private async decide(exp: ClientList, address: string): Promise<boolean> {
    const ip = unmappedAddress(address);
    const family = isIP(ip);
    if (family === 0) return false;
    if (this.networksOf(exp).check(ip, family === 4 ? 'ipv4' : 'ipv6')) return true;
    const hosts = exp.clients.filter((c): c is Extract<ClientMatch, { kind: 'host' }> => c.kind === 'host');
    for (const h of hosts) {
      if (h.pattern === '*') return true;
      if (/[*?]/.test(h.pattern)) {
        for (const name of await this.namesOf(ip)) {
          if (hostPatternMatches(h.pattern, name) && (await this.addressesOf(name)).includes(ip)) return true;
        }
      } else if ((await this.addressesOf(h.pattern)).includes(ip)) {
        return true;
      }
    }
    return false;
  }

  private networksOf(exp: ClientList): BlockList {
    let list = this.networks.get(exp);
    if (!list) {
      list = new BlockList();
      for (const c of exp.clients) {
        if (c.kind === 'cidr') list.addSubnet(c.address, c.prefix, c.family === 4 ? 'ipv4' : 'ipv6');
      }
      this.networks.set(exp, list);
    }
    return list;
  }

  private namesOf(address: string): Promise<string[]> {
    return this.cached(this.reverseCache, address, () => this.resolver.reverse(address), 'names');
  }

  private addressesOf(name: string): Promise<string[]> {
    return this.cached(this.forwardCache, name.toLowerCase(), () => this.resolver.forward(name), 'addresses');
  }

  private cached<K extends 'names' | 'addresses'>(
    cache: Map<string, { at: number } & Record<K, Promise<string[]>>>,
    key: string,
    look: () => Promise<string[]>,
    field: K,
  ): Promise<string[]> {
    const hit = cache.get(key);
    if (hit && this.now() - hit.at < DNS_TTL_MS) return hit[field];
    if (cache.size >= DNS_CACHE_MAX) cache.clear();
    const value = look().then(
      (r) => r.map(unmappedAddressOrName),
      () => [],
    );
    cache.set(key, { at: this.now(), [field]: value } as { at: number } & Record<K, Promise<string[]>>);
    return value;
  }
}

function unmappedAddressOrName(s: string): string {
  return isIP(s) ? unmappedAddress(s) : s;
}
