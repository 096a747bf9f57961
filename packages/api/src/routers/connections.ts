import { z } from 'zod';
import { field, operatorProcedure, router, viewerProcedure } from '../trpc.ts';
import type {
  ConnectionsReport,
  LocksRelease,
  LocksReport,
  SmbFileClosed,
  SmbOpenFilesReport,
  SmbSessionEnded,
} from '../types/ops.ts';

/** An NFS client's host name as its lock manager sends it (NLM caller_name, at most 1,024 bytes). */
const nfsClient = z.string().trim().min(1, 'name the NFS client').max(1024);

/**
 * Every client connection across protocols, against limits.max_connections; SMB's open files;
 * the byte-range locks clients hold, and the release of a departed NFS client's locks.
 */
export const connectionsRouter = router({
  list: viewerProcedure.query(({ ctx }): Promise<ConnectionsReport> => ctx.control.connections()),
  smbOpenFiles: viewerProcedure.query(({ ctx }): Promise<SmbOpenFilesReport> => ctx.control.smbOpenFiles()),
  closeSmbFile: operatorProcedure
    .meta({
      audit: { action: 'smb.close', target: (i) => `smb-open:${field(i, 'session')}/${field(i, 'fileId')}` },
    })
    .input(
      z.object({
        session: z.string().min(1).max(64),
        fileId: z.string().regex(/^0x[0-9a-f]{1,16}$/, 'a FileId as 0x…'),
      }),
    )
    .mutation(
      ({ ctx, input }): Promise<SmbFileClosed> => ctx.control.closeSmbFile(input.session, input.fileId),
    ),
  endSmbSessions: operatorProcedure
    .meta({ audit: { action: 'smb.end-session', target: (i) => `connection:${field(i, 'connection')}` } })
    .input(z.object({ connection: z.number().int().nonnegative() }))
    .mutation(({ ctx, input }): Promise<SmbSessionEnded[]> => ctx.control.endSmbSessions(input.connection)),
  locks: viewerProcedure.query(({ ctx }): Promise<LocksReport> => ctx.control.locks()),
  releaseLocks: operatorProcedure
    .meta({ audit: { action: 'locks.release', target: (i) => `nfs-client:${field(i, 'client')}` } })
    .input(z.object({ client: nfsClient }))
    .mutation(({ ctx, input }): Promise<LocksRelease> => ctx.control.releaseLocks(input.client)),
});
