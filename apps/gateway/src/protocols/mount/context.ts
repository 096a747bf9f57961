import type { NfsExport } from '../../config/types.ts';
import type { Logger } from '../../daemon/logger.ts';
import type { Attributes, Credential } from '../../storage/types.ts';
import type { ClientAccess } from '../client-access.ts';
import type { MountTable } from './mount-table.ts';

/** What the MOUNT procedures share. */
export interface MountEnv {
  ns: { resolvePath(cred: Credential, path: string): Promise<Attributes> };
  /** The served exports by the slot NFS handles carry (NfsHandles.exports; empty: removed by a reload). */
  exports: ReadonlyArray<NfsExport | undefined>;
  access: ClientAccess;
  /** The NFS file handle of a directory of export #`exportIndex` (nfs/v3/handle.ts). */
  handleOf(exportIndex: number, dir: Attributes): Buffer;
  mounts: MountTable;
  log: Logger;
}

/** The host name DUMP reports for a client: its address as the socket saw it. */
export function clientName(remoteAddress: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remoteAddress);
  return m ? m[1]! : remoteAddress;
}
