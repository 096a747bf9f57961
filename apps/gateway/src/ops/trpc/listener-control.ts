import type { GatewayControl, ListenerView } from '@claudefs/api';
import type { Gateway } from '../../daemon/gateway.ts';

/**
 * The protocol behind a listener, from the name its server gave it (protocols/nfs/server.ts
 * names NFS and MOUNT, s3/server.ts `S3 (http|https)`, smb/server.ts SMB); the daemon names
 * its own HTTP listener `health`.
 */
function protocolOf(name: string): ListenerView['protocol'] {
  if (name === 'NFS' || name === 'MOUNT') return 'nfs';
  if (name.startsWith('S3')) return 's3';
  if (name === 'SMB') return 'smb';
  return 'ops';
}

/** The sockets the daemon opened at start, as it logged them; drain stops the protocol ones accepting. */
export function listenerControl(gw: Gateway): Pick<GatewayControl, 'listeners'> {
  return {
    listeners: async () =>
      gw.listeners.map((l): ListenerView => {
        const protocol = protocolOf(l.name);
        return {
          name: l.name,
          protocol,
          address: l.address,
          state: gw.draining && protocol !== 'ops' ? 'draining' : 'accepting',
        };
      }),
  };
}
