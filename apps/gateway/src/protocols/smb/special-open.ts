import type { CreateResponse } from './commands/create.ts';
import { CREATE_ACTION, OPLOCK_LEVEL_NONE } from './constants.ts';
import type { RequestContext } from './context.ts';
import type { PipeEndpoint } from './dcerpc/pipe.ts';
import { Open } from './open-files.ts';

/**
 * An open of something that is not a namespace file — a named pipe on IPC$, the quota list —
 * kept on the session only (no share modes, no oplock, no durability) and answered without
 * times or size, as Samba answers its pipes and fake files.
 */
export function specialOpen(
  ctx: RequestContext,
  o: {
    kind: 'dir' | 'pipe';
    ino: bigint;
    name: string;
    access: number;
    shareAccess: number;
    fileAttributes: number;
    allocationSize: bigint;
    pipe?: PipeEndpoint;
  },
): CreateResponse {
  const fid = ctx.env.nextFileId();
  const open = new Open(
    { persistent: fid, volatile: fid },
    ctx.session!,
    ctx.tree!,
    o.kind,
    o.ino,
    0n,
    o.name,
    o.name,
    o.access >>> 0,
    o.shareAccess,
    false,
    false,
    `smb:${ctx.conn.id}:${fid}`,
    o.pipe,
  );
  ctx.session!.opens.set(fid, open);
  ctx.setCompoundOpen(open);
  return {
    oplockLevel: OPLOCK_LEVEL_NONE,
    action: CREATE_ACTION.OPENED,
    creationTime: 0n,
    lastAccessTime: 0n,
    lastWriteTime: 0n,
    changeTime: 0n,
    allocationSize: o.allocationSize,
    endOfFile: 0n,
    fileAttributes: o.fileAttributes,
    persistentId: fid,
    volatileId: fid,
    contexts: [],
  };
}
