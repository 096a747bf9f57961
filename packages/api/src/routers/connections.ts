import { router, viewerProcedure } from '../trpc.ts';
import type { ConnectionsReport, SmbOpenFilesReport } from '../types/ops.ts';

/** Every client connection across protocols, against limits.max_connections; SMB's open files. */
export const connectionsRouter = router({
  list: viewerProcedure.query(({ ctx }): Promise<ConnectionsReport> => ctx.control.connections()),
  smbOpenFiles: viewerProcedure.query(({ ctx }): Promise<SmbOpenFilesReport> => ctx.control.smbOpenFiles()),
});
