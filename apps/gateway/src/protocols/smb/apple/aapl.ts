import { NT_STATUS } from '../deps.ts';
import { SmbError } from '../errors.ts';
import type { Share } from '../tree.ts';
import { Writer } from '../wire/writer.ts';

/**
 * Apple's AAPL create context (the server query macOS sends on its first CREATE): what the
 * server offers, and what the connection has on from then on. The layout is Apple's, as
 * Samba's vfs_fruit answers it: CommandCode, Reserved, ReplyBitmap, then ServerCaps,
 * VolumeCaps and the model string for the bits asked.
 */
export const AAPL_SERVER_QUERY = 1;
const REPLY = { SERVER_CAPS: 0x1n, VOLUME_CAPS: 0x2n, MODEL_INFO: 0x4n } as const;
export const AAPL_CAPS = {
  /** Directory listings carry resource-fork size, Finder info, mode and access (readdir-attr.ts). */
  READ_DIR_ATTR: 0x1n,
  /** A COPYCHUNK of no chunks copies the whole file with its streams (ioctl/copychunk.ts). */
  OSX_COPYFILE: 0x2n,
  UNIX_BASED: 0x4n,
  /** Security descriptors carry and take the mode, uid and gid as NFS ACEs (nfs-aces.ts). */
  NFS_ACE: 0x8n,
} as const;
const MODEL = 'ClaudeFS';
const VOLUME_FULL_SYNC = 0x4n;

/** What a connection's AAPL query turned on; undefined until a share with apple_extensions answered one. */
export interface AppleConnection {
  readDirAttr: boolean;
}

const isServerQuery = (data: Buffer) => data.length === 24 && data.readUInt32LE(0) === AAPL_SERVER_QUERY;

/**
 * Checked before the CREATE does anything: on a share with apple_extensions a malformed AAPL
 * query is STATUS_INVALID_PARAMETER, as Samba answers it; elsewhere it is ignored.
 */
export function checkAaplQuery(data: Buffer, share: Share): void {
  if (share.apple && !isServerQuery(data))
    throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'AAPL: not a 24-byte server query');
}

/**
 * The AAPL reply. A share without apple_extensions answers only that the server is UNIX-based
 * (a macOS client then keeps to plain SMB); a share with them offers all four capabilities and
 * turns them on for the connection.
 */
export function answerAapl(
  data: Buffer,
  share: Share,
  conn: { apple: AppleConnection | undefined },
): Buffer | undefined {
  if (!isServerQuery(data)) return undefined;
  const asked = data.readBigUInt64LE(8) & (REPLY.SERVER_CAPS | REPLY.VOLUME_CAPS | REPLY.MODEL_INFO);
  const clientCaps = data.readBigUInt64LE(16);
  let caps = AAPL_CAPS.UNIX_BASED;
  if (share.apple) {
    const readDirAttr = (clientCaps & AAPL_CAPS.READ_DIR_ATTR) !== 0n;
    caps |= AAPL_CAPS.OSX_COPYFILE | AAPL_CAPS.NFS_ACE | (readDirAttr ? AAPL_CAPS.READ_DIR_ATTR : 0n);
    conn.apple = { readDirAttr: readDirAttr || conn.apple?.readDirAttr === true };
  }
  const w = new Writer(64);
  w.u32(AAPL_SERVER_QUERY).u32(0).u64(asked);
  if (asked & REPLY.SERVER_CAPS) w.u64(caps);
  // Names ignore case and file ids are not resolvable to paths; a Time Machine share says
  // that FLUSH reaches the disk (F_FULLFSYNC), which a Mac requires of a backup destination.
  if (asked & REPLY.VOLUME_CAPS) w.u64(share.apple && share.timeMachine ? VOLUME_FULL_SYNC : 0n);
  if (asked & REPLY.MODEL_INFO) {
    const model = Buffer.from(MODEL, 'utf16le');
    w.u32(0).u32(model.length).bytes(model);
  }
  return w.finish();
}
