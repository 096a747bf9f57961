import { SHARE_FLAG, SHARE_TYPE } from '../constants.ts';
import type { RequestContext } from '../context.ts';
import { NT_STATUS } from '../deps.ts';
import { cannotEncrypt, encryptionVerdict, shareEncryption } from '../encryption.ts';
import { SmbError } from '../errors.ts';
import { HEADER_SIZE } from '../header.ts';
import { findShare, hostAllowed, inValidGroups, TreeConnect } from '../tree.ts';
import { type Reader, utf16 } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';

const EXTENSION_PRESENT = 0x0004;

export interface TreeConnectRequest {
  path: string;
}

export interface TreeConnectResponse {
  shareType: number;
  shareFlags: number;
  capabilities: number;
  maximalAccess: number;
}

/** MS-SMB2 §2.2.9 (the 3.1.1 extension, when flagged, is skipped: the path is all we use). */
export function decodeTreeConnect(r: Reader): TreeConnectRequest {
  r.structureSize(9);
  const flags = r.u16('Flags');
  let offset = r.u16('PathOffset');
  let length = r.u16('PathLength');
  if (flags & EXTENSION_PRESENT) {
    const ext = r.offset;
    r.seek(offset, 'TreeConnectContextOffset');
    r.skip(4, 'TreeConnectContextOffset');
    r.skip(2, 'TreeConnectContextCount');
    r.skip(10, 'Reserved');
    const pathOffset = r.u16('PathOffset');
    length = r.u16('PathLength');
    offset = (offset + pathOffset) & 0xffff;
    r.seek(ext, 'PathOffset');
  }
  const raw = r.region(offset, length, 'Path', HEADER_SIZE + 8);
  if (length > 1024) throw new SmbError(NT_STATUS.STATUS_BAD_NETWORK_NAME, 'share path too long');
  return { path: utf16(raw, 'Path') };
}

/** MS-SMB2 §3.3.5.7: share lookup, valid_groups, a tree id. */
export async function handleTreeConnect(
  ctx: RequestContext,
  req: TreeConnectRequest,
): Promise<TreeConnectResponse> {
  const session = ctx.session!;
  const share = findShare(ctx.env.shares(), req.path);
  if (!share) throw new SmbError(NT_STATUS.STATUS_BAD_NETWORK_NAME, `no share ${req.path}`);
  const user = session.user!;
  if (session.guest && !share.guestOk)
    throw new SmbError(
      NT_STATUS.STATUS_ACCESS_DENIED,
      `${share.name} takes no guests (guest_ok is false): a ${user.name} session`,
    );
  if (!(await hostAllowed(ctx.env, share, ctx.conn.remoteAddress)))
    throw new SmbError(
      NT_STATUS.STATUS_ACCESS_DENIED,
      `${ctx.conn.remoteAddress} is not in ${share.name}'s hosts_allow`,
    );
  const allowed = await inValidGroups(share, user, ctx.env.control, ctx.env.config.identity.groupsFromHost);
  if (!allowed) {
    ctx.env.log.info(
      { user: user.name, share: share.name },
      `SMB tree connect refused: ${user.name} is in none of ${share.name}'s valid_groups`,
    );
    throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, `${user.name} is not in the share's valid_groups`);
  }
  // §3.3.5.7: a share asking for encryption (beyond its session's) sets SMB2_SHAREFLAG_ENCRYPT_DATA,
  // or refuses a client that cannot encrypt when it is required. IPC$ follows the session.
  const encryption = share.ipc
    ? 'plain'
    : encryptionVerdict(shareEncryption(ctx.env.config.smb.encryption, share.encryption), ctx.conn, session);
  if (encryption === 'refuse')
    throw new SmbError(
      NT_STATUS.STATUS_ACCESS_DENIED,
      `${share.name} requires encryption and ${cannotEncrypt(ctx.conn, session)}`,
    );
  const rootIno = share.ipc
    ? 0n
    : (await ctx.env.ns.resolvePath({ uid: 0, gid: 0, gids: [] }, share.path)).ino;
  const tree = new TreeConnect(session.allocTreeId(), session, share, rootIno);
  tree.encryptData = encryption === 'encrypt' && !session.encryptData;
  session.trees.set(tree.id, tree);
  ctx.replyTreeId(tree.id);
  return {
    shareType: share.ipc ? SHARE_TYPE.PIPE : SHARE_TYPE.DISK,
    shareFlags: tree.encryptData ? SHARE_FLAG.ENCRYPT_DATA : 0,
    capabilities: 0,
    maximalAccess: tree.maximalAccess,
  };
}

/** MS-SMB2 §2.2.10. */
export function encodeTreeConnect(res: TreeConnectResponse): Buffer {
  const w = new Writer(16);
  w.u16(16).u8(res.shareType).u8(0).u32(res.shareFlags).u32(res.capabilities).u32(res.maximalAccess);
  return w.finish();
}
