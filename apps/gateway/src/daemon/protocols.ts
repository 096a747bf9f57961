import type { Protocol } from '../config/types.ts';
import { createNfsServer } from '../protocols/nfs/server.ts';
import { createS3Server } from '../protocols/s3/server.ts';
import { createSmbServer } from '../protocols/smb/server.ts';
import type { ProtocolFactory } from './protocol-server.ts';

/**
 * The protocol servers this build has. A protocol missing here is not served: `gateway start`
 * says so instead of pretending, and naming it explicitly is an error.
 */
export const PROTOCOL_SERVERS: Partial<Record<Protocol, ProtocolFactory>> = {};
PROTOCOL_SERVERS.s3 = createS3Server;
PROTOCOL_SERVERS.nfs = createNfsServer;
PROTOCOL_SERVERS.smb = createSmbServer;
