import { isFsError } from '../../../storage/errors.ts';
import type { SetAttributes } from '../../../storage/types.ts';
import { afpStreamOf, resizeAfpInfo } from '../apple/afp-streams.ts';
import { takeNfsAces } from '../apple/nfs-aces.ts';
import { recordDeletePending } from '../cluster-opens.ts';
import { ACCESS, ATTR, SHARE } from '../constants.ts';
import type { RequestContext } from '../context.ts';
import { NT_STATUS } from '../deps.ts';
import { SmbError } from '../errors.ts';
import { smbMeta, writeAllocation, writeDosAttributes, writeEas } from '../file-meta.ts';
import { HEADER_SIZE } from '../header.ts';
import { decodeEaList } from '../info/ea.ts';
import { FILE_CLASS } from '../info/file-info.ts';
import { modeFromDacl, parseSecurityDescriptor, SECINFO } from '../info/security.ts';
import type { FileId, Open } from '../open-files.ts';
import { breakHandleCaching, breakReadCaching, waitForBreaks } from '../oplocks.ts';
import { lookupName, parseSmbName, resolvePath } from '../paths.ts';
import { setQuota } from '../quota.ts';
import { checkFreeze, keepChangeTime, keepTimesSet, timeToSet, writeTimeAfterChange } from '../set-times.ts';
import { posixIdOf } from '../sids.ts';
import { renameStreamOf } from '../stream-rename.ts';
import { resizeStream, streamSize } from '../streams.ts';
import { Reader, utf16 } from '../wire/reader.ts';
import { readFileId } from './file-id.ts';
import { INFO_TYPE } from './query-info.ts';

export interface SetInfoRequest {
  infoType: number;
  infoClass: number;
  buffer: Buffer;
  additionalInformation: number;
  fileId: FileId;
}

/** MS-SMB2 §2.2.39. */
export function decodeSetInfo(r: Reader): SetInfoRequest {
  r.structureSize(33);
  const infoType = r.u8('InfoType');
  const infoClass = r.u8('FileInfoClass');
  const length = r.u32('BufferLength');
  const offset = r.u16('BufferOffset');
  r.skip(2, 'Reserved');
  const additionalInformation = r.u32('AdditionalInformation');
  const fileId = readFileId(r);
  const buffer = r.region(offset, length, 'Buffer', HEADER_SIZE + 32);
  return { infoType, infoClass, buffer, additionalInformation, fileId };
}

const tooShort = () => new SmbError(NT_STATUS.STATUS_INFO_LENGTH_MISMATCH, 'buffer too short for the class');
const need = (open: Open, bits: number, what: string) => {
  if (!open.has(bits)) throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, `needs ${what}`);
};

/** MS-SMB2 §3.3.5.21 with the MS-FSA §2.1.5.14 rules for each class. */
export async function handleSetInfo(ctx: RequestContext, req: SetInfoRequest): Promise<void> {
  const open = ctx.open(req.fileId);
  if (open.kind === 'pipe') throw new SmbError(NT_STATUS.STATUS_NOT_SUPPORTED, 'set info on a pipe');
  if (req.infoType === INFO_TYPE.SECURITY) return setSecurity(ctx, open, req);
  if (req.infoType === INFO_TYPE.QUOTA) return setQuota(ctx, open, req.buffer);
  if (req.infoType !== INFO_TYPE.FILE)
    throw new SmbError(NT_STATUS.STATUS_NOT_SUPPORTED, `InfoType ${req.infoType}`);
  const r = new Reader(req.buffer);
  const b = req.buffer;
  switch (req.infoClass) {
    case FILE_CLASS.BASIC:
      if (b.length < 36) throw tooShort();
      return setBasic(ctx, open, r);
    case FILE_CLASS.RENAME:
    case FILE_CLASS.LINK:
      if (b.length < 20) throw tooShort();
      return renameOrLink(ctx, open, r, req.infoClass === FILE_CLASS.LINK);
    case FILE_CLASS.DISPOSITION:
      if (b.length < 1) throw tooShort();
      return setDeletePending(ctx, open, b[0] !== 0);
    case FILE_CLASS.DISPOSITION_EX:
      if (b.length < 4) throw tooShort();
      return setDeletePending(ctx, open, (b.readUInt32LE(0) & 0x1) !== 0);
    case FILE_CLASS.POSITION:
      if (b.length < 8) throw tooShort();
      open.position = b.readBigUInt64LE(0);
      return;
    case FILE_CLASS.MODE: {
      if (b.length < 4) throw tooShort();
      // WRITE_THROUGH, SEQUENTIAL_ONLY, NO_INTERMEDIATE_BUFFERING, SYNCHRONOUS_IO_(NON)ALERT.
      const mode = b.readUInt32LE(0);
      if (mode & ~0x3e) throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, `mode 0x${mode.toString(16)}`);
      open.mode = mode;
      return;
    }
    case FILE_CLASS.ALLOCATION: {
      if (b.length < 8) throw tooShort();
      need(open, ACCESS.FILE_WRITE_DATA, 'FILE_WRITE_DATA');
      const want = b.readBigInt64LE(0);
      if (want < 0n) throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'negative allocation');
      if (afpStreamOf(open) === 'info') return; // always 60 bytes
      if (open.stream !== undefined) return shrinkStream(ctx, open, want);
      const a = await ctx.env.ns.getattr(open.ino);
      if (a.type === 'dir')
        throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'allocation of a directory');
      if (want < a.size) await resize(ctx, open, want);
      else {
        await breakReadCaching(ctx.env, open);
        // A new allocation is a change of the file's data too: it moves LastWriteTime.
        if (!open.writeTimeFrozen) {
          await ctx.env.ns.setattr(ctx.cred(), open.ino, { mtimeNs: 'now' });
          await keepChangeTime(ctx, open);
        }
      }
      await writeAllocation(ctx.env.ns, ctx.cred(), open.ino, want);
      return;
    }
    case FILE_CLASS.END_OF_FILE: {
      if (b.length < 8) throw tooShort();
      need(open, ACCESS.FILE_WRITE_DATA, 'FILE_WRITE_DATA');
      const size = b.readBigInt64LE(0);
      if (size < 0n) throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'negative end of file');
      if (afpStreamOf(open) === 'info') return resizeAfpInfo(size);
      if (open.stream !== undefined) {
        await resizeStream(ctx.env.ns, ctx.cred(), open.ino, open.stream, size);
        return keepChangeTime(ctx, open);
      }
      if (open.kind === 'dir')
        throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'end of file of a directory');
      return resize(ctx, open, size);
    }
    case FILE_CLASS.FULL_EA:
      need(open, ACCESS.FILE_WRITE_EA, 'FILE_WRITE_EA');
      await writeEas(ctx.env.ns, ctx.cred(), open.ino, decodeEaList(b));
      return;
    default:
      throw new SmbError(NT_STATUS.STATUS_INVALID_INFO_CLASS, `file information class ${req.infoClass}`);
  }
}

/** An allocation below a stream's size cuts it (nothing is reserved for a larger one). */
async function shrinkStream(ctx: RequestContext, open: Open, want: bigint): Promise<void> {
  const size = await streamSize(ctx.env.ns, open.ino, open.stream!);
  if (want < size) await resizeStream(ctx.env.ns, ctx.cred(), open.ino, open.stream!, want);
}

async function resize(ctx: RequestContext, open: Open, size: bigint): Promise<void> {
  if (ctx.env.ns.locks.conflict(open.ino, size, 0n, true, open.lockKey))
    throw new SmbError(NT_STATUS.STATUS_FILE_LOCK_CONFLICT, 'range locked by another open');
  await breakReadCaching(ctx.env, open);
  // The same size too: Windows moves LastWriteTime for any end of file set.
  const mtimeNs = await writeTimeAfterChange(ctx, open);
  await ctx.env.ns.setattr(ctx.cred(), open.ino, { size, mtimeNs });
  await keepChangeTime(ctx, open);
}

async function setBasic(ctx: RequestContext, open: Open, r: Reader): Promise<void> {
  need(open, ACCESS.FILE_WRITE_ATTRIBUTES, 'FILE_WRITE_ATTRIBUTES');
  const creation = timeToSet(r.i64('CreationTime'));
  const access = timeToSet(r.i64('LastAccessTime'));
  const rawWrite = r.i64('LastWriteTime');
  const write = timeToSet(rawWrite);
  const rawChange = r.i64('ChangeTime');
  timeToSet(rawChange);
  const attributes = r.u32('FileAttributes');
  const { ns } = ctx.env;
  let a = await ns.getattr(open.ino);
  if (attributes !== 0) {
    if (attributes & ATTR.DIRECTORY && a.type !== 'dir')
      throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'DIRECTORY on a file');
    // TEMPORARY describes a data stream, which a directory has none of (MS-FSCC 2.6).
    if (attributes & ATTR.TEMPORARY && a.type === 'dir')
      throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'TEMPORARY on a directory');
    if (attributes & ~0x7fff) throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'FileAttributes');
  }
  checkFreeze(ctx, a, rawWrite);
  const set: SetAttributes = {};
  if (creation !== undefined) set.btimeNs = creation;
  if (access !== undefined) set.atimeNs = access;
  if (write !== undefined) set.mtimeNs = write;
  if (Object.keys(set).length > 0) a = await ns.setattr(ctx.cred(), open.ino, set);
  if (attributes !== 0) await writeDosAttributes(ns, ctx.cred(), a, attributes);
  await keepTimesSet(ctx, open, rawWrite, rawChange);
  await keepChangeTime(ctx, open);
}

async function setDeletePending(ctx: RequestContext, open: Open, pending: boolean): Promise<void> {
  need(open, ACCESS.DELETE, 'DELETE');
  if (pending) {
    if (open.parentIno === 0n)
      throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'the share root cannot be deleted');
    const a = await ctx.env.ns.getattr(open.ino);
    if ((await smbMeta(ctx.env.ns, a)).attributes & ATTR.READONLY)
      throw new SmbError(NT_STATUS.STATUS_CANNOT_DELETE, 'read-only');
    // A named stream's delete is its own: it goes when its last open closes (close-open.ts).
    if (open.stream !== undefined) return ctx.env.inodes.setDeletePending(open.ino, true, open.stream);
    if (a.type === 'dir') {
      const page = await ctx.env.ns.readdir(ctx.cred(), open.ino, 0n, 1);
      if (page.entries.length > 0)
        throw new SmbError(NT_STATUS.STATUS_DIRECTORY_NOT_EMPTY, 'directory not empty');
    }
  }
  if (open.stream !== undefined) return ctx.env.inodes.setDeletePending(open.ino, false, open.stream);
  if (pending) {
    breakHandleCaching(ctx.env, open);
    ctx.env.ns.caching
      .recall(open.ino, 'handle', 'remote')
      ?.catch((e: Error) => ctx.env.log.error({ err: e }, 'recall of handle caching on other nodes failed'));
  }
  ctx.env.inodes.setDeletePending(open.ino, pending);
  await recordDeletePending(ctx.env, open.ino);
}

/** FILE_RENAME_INFORMATION / FILE_LINK_INFORMATION, SMB2 form (MS-FSCC §2.4.37, §2.4.21.2). */
async function renameOrLink(ctx: RequestContext, open: Open, r: Reader, link: boolean): Promise<void> {
  const replace = r.u8('ReplaceIfExists') !== 0;
  r.skip(7, 'Reserved');
  const root = r.u64('RootDirectory');
  const length = r.u32('FileNameLength');
  const name = utf16(r.bytes(length, 'FileName'), 'FileName');
  if (root !== 0n) throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'RootDirectory must be 0');
  if (!link) need(open, ACCESS.DELETE, 'DELETE');
  if (open.parentIno === 0n)
    throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'the share root cannot be renamed');
  const target = parseSmbName(name, { leadingSlash: 'strip', macNames: open.tree.share.apple });
  if (open.stream !== undefined || target.stream !== undefined || target.defaultStream) {
    if (link) throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'hard links of streams');
    return renameStreamOf(ctx, open, target, replace);
  }
  // Renaming a file renames its streams: their opens refuse it, as Windows and Samba do.
  if (!link && ctx.env.inodes.opensOf(open.ino).some((o) => o.stream !== undefined))
    throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'a named stream of the file is open');
  if (target.components.length === 0)
    throw new SmbError(NT_STATUS.STATUS_OBJECT_NAME_INVALID, 'empty target');
  const { ns } = ctx.env;
  const cred = ctx.cred();
  const tree = ctx.tree!;
  const dirParts = target.components.slice(0, -1);
  const dir = await resolvePath(ns, cred, tree.rootIno, tree.share.path, dirParts);
  if (dir.attrs?.type !== 'dir')
    throw new SmbError(NT_STATUS.STATUS_OBJECT_PATH_NOT_FOUND, 'target directory');
  let toName = target.components[target.components.length - 1]!;
  const existing = await lookupName(ns, cred, dir.attrs.ino, toName);
  if (existing && existing.attrs.ino !== open.ino) {
    if (!replace) throw new SmbError(NT_STATUS.STATUS_OBJECT_NAME_COLLISION, 'target exists');
    if (existing.attrs.type === 'dir')
      throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'target is a directory');
    if (ctx.env.inodes.opensOf(existing.attrs.ino).length > 0)
      throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'target is open');
    toName = existing.name;
  }
  const oldPath = open.path;
  const newPath = [...(dir.path ? [dir.path] : []), toName].join('\\');
  const isDir = open.kind === 'dir';
  if (!link) {
    checkRenameSharing(ctx, open);
    while (breakHandleCaching(ctx.env, open)) await waitForBreaks(ctx, open.ino);
    // Other nodes' clients keeping handles open to cache them give them up too.
    await ctx.env.ns.caching.recall(open.ino, 'handle', 'remote');
  }
  if (link) {
    if (isDir) throw new SmbError(NT_STATUS.STATUS_FILE_IS_A_DIRECTORY, 'hard links to directories');
    if (existing && existing.attrs.ino !== open.ino) await ns.remove(cred, dir.attrs.ino, toName);
    try {
      await ns.link(cred, open.ino, dir.attrs.ino, toName);
    } catch (e) {
      if (isFsError(e, 'EEXIST')) throw new SmbError(NT_STATUS.STATUS_OBJECT_NAME_COLLISION, 'target exists');
      throw e;
    }
    return;
  }
  await ns.rename(cred, open.parentIno, open.name, dir.attrs.ino, toName);
  // Every open of the file now lives at the new place; opens below a renamed directory too.
  for (const o of ctx.env.inodes.opensOf(open.ino)) {
    o.parentIno = dir.attrs.ino;
    o.name = toName;
    o.path = newPath;
  }
  if (isDir) {
    for (const o of ctx.env.inodes.all()) {
      if (o.tree.share.path === tree.share.path && o.path.startsWith(`${oldPath}\\`))
        o.path = newPath + o.path.slice(oldPath.length);
    }
  }
}

/**
 * Windows' rename rules on open handles: the source's directory may not be open on this
 * connection with DELETE access or without FILE_SHARE_DELETE (STATUS_SHARING_VIOLATION; opens
 * of other clients do not count, as Samba and smbtorture's smb2.notify expect), and a
 * directory with open files below it cannot move (STATUS_ACCESS_DENIED) — unless the client
 * negotiated Apple's AAPL, which asks for POSIX renames (Finder renames folders whose files
 * are open), as Samba's vfs_fruit grants them.
 */
function checkRenameSharing(ctx: RequestContext, open: Open): void {
  const data =
    ACCESS.FILE_READ_DATA |
    ACCESS.FILE_WRITE_DATA |
    ACCESS.FILE_APPEND_DATA |
    ACCESS.FILE_EXECUTE |
    ACCESS.DELETE;
  for (const o of ctx.env.inodes.opensOf(open.parentIno)) {
    if ((o.access & data) === 0 || ctx.conn.sessions.get(o.session.id) !== o.session) continue;
    if (o.access & ACCESS.DELETE || !(o.shareAccess & SHARE.DELETE)) {
      throw new SmbError(NT_STATUS.STATUS_SHARING_VIOLATION, 'the directory is open without delete sharing');
    }
  }
  if (open.kind !== 'dir' || (open.tree.share.apple && ctx.conn.apple)) return;
  const prefix = `${open.path}\\`;
  const share = open.tree.share.path;
  for (const o of ctx.env.inodes.all()) {
    if (o.tree.share.path === share && o.path.startsWith(prefix)) {
      throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'files below the directory are open');
    }
  }
}

/**
 * A security descriptor set over SMB: its owner (S-1-22-1-uid) and group (S-1-22-2-gid) become
 * the file's, its DACL the file's mode (modeFromDacl: what mode bits cannot hold is refused);
 * all in one namespace change, so a refused part changes nothing. With Apple's NFS_ACE on
 * (apple/nfs-aces.ts) its NFS entries are taken out first, and an NFS mode entry sets the
 * permission bits after the rest of the DACL.
 */
async function setSecurity(ctx: RequestContext, open: Open, req: SetInfoRequest): Promise<void> {
  const info = req.additionalInformation;
  if (info & SECINFO.SACL) throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'no SACLs');
  if (info & (SECINFO.OWNER | SECINFO.GROUP)) need(open, ACCESS.WRITE_OWNER, 'WRITE_OWNER');
  if (info & SECINFO.DACL) need(open, ACCESS.WRITE_DAC, 'WRITE_DAC');
  const sd = parseSecurityDescriptor(req.buffer);
  let nfsMode: number | undefined;
  let dacl = info & SECINFO.DACL ? (sd.dacl ?? null) : undefined;
  if (dacl && open.tree.share.apple && ctx.conn.apple) {
    const taken = takeNfsAces(dacl);
    nfsMode = taken.mode;
    // A DACL of NFS entries only sets no DACL (as Samba takes it), just the mode they carry.
    dacl = taken.dacl.length > 0 || dacl.length === 0 ? taken.dacl : undefined;
  }
  const set: SetAttributes = {};
  if (info & SECINFO.OWNER) {
    const id = sd.owner && posixIdOf(sd.owner);
    if (id?.kind !== 'uid')
      throw new SmbError(NT_STATUS.STATUS_INVALID_OWNER, 'the owner SID is not S-1-22-1-uid');
    set.uid = id.id;
  }
  if (info & SECINFO.GROUP) {
    const id = sd.group && posixIdOf(sd.group);
    if (id?.kind !== 'gid')
      throw new SmbError(NT_STATUS.STATUS_INVALID_PRIMARY_GROUP, 'the group SID is not S-1-22-2-gid');
    set.gid = id.id;
  }
  const a = await ctx.env.ns.getattr(open.ino);
  // A descriptor without SE_DACL_PRESENT sets a NULL DACL (MS-DTYP §2.4.6), as one with a null offset.
  if (dacl !== undefined)
    set.mode = modeFromDacl(dacl, set.uid ?? a.uid, set.gid ?? a.gid, a.mode, a.type === 'dir');
  if (nfsMode !== undefined) set.mode = ((set.mode ?? a.mode) & 0o7000) | nfsMode;
  if (set.uid === a.uid) delete set.uid;
  if (set.gid === a.gid) delete set.gid;
  if (set.mode === a.mode) delete set.mode;
  if (Object.keys(set).length > 0) await ctx.env.ns.setattr(ctx.cred(), open.ino, set);
}

export function encodeSetInfo(): Buffer {
  return Buffer.from([2, 0]);
}
