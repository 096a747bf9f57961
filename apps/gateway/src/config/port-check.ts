import { createServer } from 'node:net';
import type { ListenAddress } from './address.ts';
import type { Listener } from './listeners.ts';

/**
 * Why `address` cannot be bound on this host right now, or undefined when it can. The probe
 * listens and closes at once; this is the runbook's `netstat -tuln` check, answered by the
 * kernel rather than by reading a table.
 */
export function probeAddress(address: ListenAddress): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) => {
      switch (e.code) {
        case 'EADDRINUSE':
          resolve(`port ${address.port} is already in use on this host`);
          break;
        case 'EACCES':
          resolve(`port ${address.port} needs root or CAP_NET_BIND_SERVICE on this host (permission denied)`);
          break;
        case 'EADDRNOTAVAIL':
          resolve(`${address.host} is not an address of this host`);
          break;
        case 'ENOTFOUND':
        case 'EAI_AGAIN':
          resolve(`host name ${address.host} does not resolve on this host`);
          break;
        default:
          resolve(`cannot listen on ${address.text}: ${e.message}`);
      }
    });
    server.listen({ host: address.host, port: address.port, exclusive: true }, () => {
      server.close(() => resolve(undefined));
    });
  });
}

/**
 * One warning per listener that could not bind. Probes run one after another so two
 * listeners sharing a port (already reported as a clash) do not trip over each other.
 */
export async function findBusyPorts(
  listeners: readonly Listener[],
): Promise<{ listener: Listener; message: string }[]> {
  const busy: { listener: Listener; message: string }[] = [];
  const seen = new Set<string>();
  for (const listener of listeners) {
    const id = `${listener.address.host}|${listener.address.port}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const message = await probeAddress(listener.address);
    if (message !== undefined) busy.push({ listener, message });
  }
  return busy;
}
