import { isWildcardHost, type ListenAddress } from './address.ts';
import type { Protocol } from './defaults.ts';
import type { GatewayConfig } from './types.ts';

/** One socket the gateway will listen on, named by the key that configures it. */
export interface Listener {
  key: string;
  address: ListenAddress;
}

export interface PortClash {
  listener: Listener;
  /** The earlier listener it collides with. */
  other: Listener;
}

function collide(a: ListenAddress, b: ListenAddress): boolean {
  return a.port === b.port && (a.host === b.host || isWildcardHost(a.host) || isWildcardHost(b.host));
}

/** Each listener that cannot bind because an earlier one in the list holds its port. */
export function findPortClashes(listeners: readonly Listener[]): PortClash[] {
  const clashes: PortClash[] = [];
  listeners.forEach((listener, i) => {
    const other = listeners.slice(0, i).find((o) => collide(o.address, listener.address));
    if (other) clashes.push({ listener, other });
  });
  return clashes;
}

export function clashMessage({ listener, other }: PortClash): string {
  return `port ${listener.address.port} is also used by ${other.key} (${other.address.text})`;
}

/**
 * The sockets a gateway running `protocols` opens (every enabled protocol when none are
 * named), health's always among them.
 */
export function configuredListeners(config: GatewayConfig, protocols: readonly Protocol[] = []): Listener[] {
  const runs = (p: Protocol) => (protocols.length === 0 ? config[p].enabled : protocols.includes(p));
  const listeners: Listener[] = [];
  if (runs('nfs')) {
    listeners.push({ key: 'nfs.bind', address: config.nfs.bind });
    listeners.push({ key: 'nfs.mount_bind', address: config.nfs.mountBind });
  }
  if (runs('s3')) listeners.push({ key: 's3.bind', address: config.s3.bind });
  if (runs('smb')) listeners.push({ key: 'smb.bind', address: config.smb.bind });
  listeners.push({ key: 'health.bind', address: config.health.bind });
  return listeners;
}
