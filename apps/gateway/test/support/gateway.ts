import type { Gateway } from '../../src/daemon/gateway.ts';
import type { ProtocolFactory } from '../../src/daemon/protocol-server.ts';
import { PROTOCOL_SERVERS } from '../../src/daemon/protocols.ts';
import { NfsServer } from '../../src/protocols/nfs/server.ts';

/**
 * Starts an in-process gateway whose NFS server does not register with rpcbind: test files
 * run side by side, and each one's programs would replace the others' in the portmapper.
 */
export async function startUnregistered(gw: Gateway): Promise<void> {
  const original = PROTOCOL_SERVERS.nfs;
  const factory: ProtocolFactory = (ctx) => new NfsServer(ctx, { portmapper: false });
  PROTOCOL_SERVERS.nfs = factory;
  try {
    await gw.start();
  } finally {
    PROTOCOL_SERVERS.nfs = original;
  }
}
