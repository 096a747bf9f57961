import type { Gateway } from '../../src/daemon/gateway.ts';
import type { ProtocolFactory } from '../../src/daemon/protocol-server.ts';
import { PROTOCOL_SERVERS } from '../../src/daemon/protocols.ts';
import { NfsServer, type NfsServerOptions } from '../../src/protocols/nfs/server.ts';

/**
 * Starts an in-process gateway whose NFS server does not register with rpcbind: test files
 * run side by side, and each one's programs would replace the others' in the portmapper.
 * (`options.portmapper` names one for the tests of the registration itself.) Resolves with the
 * NFS server it made (undefined when NFS is not enabled).
 */
export async function startUnregistered(
  gw: Gateway,
  options: NfsServerOptions = {},
): Promise<NfsServer | undefined> {
  const original = PROTOCOL_SERVERS.nfs;
  let server: NfsServer | undefined;
  const factory: ProtocolFactory = (ctx) => {
    server = new NfsServer(ctx, { portmapper: false, ...options });
    return server;
  };
  PROTOCOL_SERVERS.nfs = factory;
  try {
    await gw.start();
  } finally {
    PROTOCOL_SERVERS.nfs = original;
  }
  return server;
}
