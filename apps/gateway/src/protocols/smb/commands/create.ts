import { isFsError } from '../../../storage/errors.ts';
import type { Attributes } from '../../../storage/types.ts';
import { grantedAccess, invalidAccessMask, mapGeneric, maximalAccess, shareLimit } from '../access.ts';
import { checkAaplQuery } from '../apple/aapl.ts';
import { caseIndexFor } from '../case-index.ts';
import { checkSharingElsewhere, claimOpen, deletePending } from '../cluster-opens.ts';
import {
  ACCESS,
  ATTR,
  CAP,
  CREATE_ACTION,
  DISPOSITION,
  isSmb3,
  NEW_DIR_MODE,
  NEW_FILE_MODE,
  OPLOCK_LEVEL_LEASE,
  OPLOCK_LEVEL_NONE,
  OPTION,
  SETTABLE_ATTRS,
  VALID_REQUEST_ATTRS,
} from '../constants.ts';
import type { RequestContext } from '../context.ts';
import {
  answerContexts,
  type CreateContext,
  CTX,
  decodeCreateContexts,
  encodeCreateContexts,
} from '../create-contexts.ts';
import { openPipe } from '../dcerpc/pipe.ts';
import { NT_STATUS } from '../deps.ts';
import {
  checkCreateGuid,
  type DurableReconnect,
  durableContexts,
  grantDurable,
  reconnectDurable,
} from '../durable.ts';
import { SmbError } from '../errors.ts';
import {
  fileTimes,
  inClusters,
  smbMeta,
  writeAllocation,
  writeDosAttributes,
  writeEas,
} from '../file-meta.ts';
import { HEADER_SIZE } from '../header.ts';
import { decodeEaList } from '../info/ea.ts';
import { decodeLeaseRequest, encodeLeaseReply, type LeaseRequest, LeaseTable } from '../leases.ts';
import { openFromCreate } from '../open-files.ts';
import { breakHandleCaching, contendForOpen, recallOtherNodes, waitForBreaks } from '../oplocks.ts';
import { parseSmbName, resolvePath } from '../paths.ts';
import { createQuotaHandle, isQuotaFile } from '../quota.ts';
import { specialOpen } from '../special-open.ts';
import { removeAllStreams } from '../streams.ts';
import { type Reader, utf16 } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';
import { createStream } from './create-stream.ts';

export interface CreateRequest {
  oplockLevel: number;
  impersonationLevel: number;
  desiredAccess: number;
  fileAttributes: number;
  shareAccess: number;
  disposition: number;
  options: number;
  name: string;
  contexts: CreateContext[];
}

export interface CreateResponse {
  oplockLevel: number;
  action: number;
  creationTime: bigint;
  lastAccessTime: bigint;
  lastWriteTime: bigint;
  changeTime: bigint;
  allocationSize: bigint;
  endOfFile: bigint;
  fileAttributes: number;
  persistentId: bigint;
  volatileId: bigint;
  contexts: CreateContext[];
}

/** MS-SMB2 §2.2.13. */
export function decodeCreate(r: Reader): CreateRequest {
  r.structureSize(57);
  r.skip(1, 'SecurityFlags');
  const oplockLevel = r.u8('RequestedOplockLevel');
  const impersonationLevel = r.u32('ImpersonationLevel');
  r.skip(8, 'SmbCreateFlags');
  r.skip(8, 'Reserved');
  const desiredAccess = r.u32('DesiredAccess');
  const fileAttributes = r.u32('FileAttributes');
  const shareAccess = r.u32('ShareAccess');
  const disposition = r.u32('CreateDisposition');
  const options = r.u32('CreateOptions');
  const nameOffset = r.u16('NameOffset');
  const nameLength = r.u16('NameLength');
  const ctxOffset = r.u32('CreateContextsOffset');
  const ctxLength = r.u32('CreateContextsLength');
  const name = utf16(r.region(nameOffset, nameLength, 'Name', HEADER_SIZE + 56), 'Name');
  const contexts = decodeCreateContexts(r.region(ctxOffset, ctxLength, 'CreateContexts', HEADER_SIZE + 56));
  return {
    oplockLevel,
    impersonationLevel,
    desiredAccess,
    fileAttributes,
    shareAccess,
    disposition,
    options,
    name,
    contexts,
  };
}

const bad = (why: string) => new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, why);
/** CreateOptions bits no request may set (MS-SMB2 §2.2.13: the top byte is reserved). */
const RESERVED_OPTIONS = 0xff00_0000;
/** FILE_CREATE_TREE_CONNECTION, FILE_OPEN_BY_FILE_ID, FILE_RESERVE_OPFILTER: STATUS_NOT_SUPPORTED. */
const UNSUPPORTED_OPTIONS = 0x0000_0080 | OPTION.OPEN_BY_FILE_ID | OPTION.RESERVE_OPFILTER;

/** MS-SMB2 §3.3.5.9 with MS-FSA §2.1.5.1 for dispositions, options and access. */
export async function handleCreate(ctx: RequestContext, req: CreateRequest): Promise<CreateResponse> {
  // A reconnect skips path validation and open execution (§3.3.5.9.7, .12): its other fields
  // may be zero. Its contexts are checked first.
  const durable = ctx.tree!.share.ipc ? {} : durableContexts(req.contexts, ctx.conn.dialect);
  if (durable.reconnect) return reconnected(ctx, req, durable.reconnect);
  if (req.impersonationLevel > 3)
    throw new SmbError(NT_STATUS.STATUS_BAD_IMPERSONATION_LEVEL, 'impersonation level');
  if (req.disposition > DISPOSITION.OVERWRITE_IF) throw bad('CreateDisposition');
  if (req.options & OPTION.DIRECTORY_FILE && req.options & OPTION.NON_DIRECTORY_FILE)
    throw bad('both DIRECTORY and NON_DIRECTORY');
  // No access at all, or reserved bits: refused as Windows and Samba refuse them (SYNCHRONIZE
  // alone is a stat open, as smbtorture's smb2.oplock.statopen1 and smb2.lease.statopen4 expect).
  if (req.desiredAccess === 0 || invalidAccessMask(req.desiredAccess))
    throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'invalid access mask');
  if (req.options & RESERVED_OPTIONS) throw bad('reserved CreateOptions');
  if (req.fileAttributes & ~VALID_REQUEST_ATTRS) throw bad('FileAttributes');
  if (req.shareAccess & ~0x7) throw bad('ShareAccess');
  if (req.options & UNSUPPORTED_OPTIONS)
    throw new SmbError(NT_STATUS.STATUS_NOT_SUPPORTED, 'open by file id, tree connection or opfilter');
  const access = mapGeneric(req.desiredAccess);
  if (req.options & OPTION.DELETE_ON_CLOSE && !(access & (ACCESS.DELETE | ACCESS.MAXIMUM_ALLOWED)))
    throw bad('DELETE_ON_CLOSE without DELETE access');
  if (
    req.options & OPTION.DIRECTORY_FILE &&
    ![DISPOSITION.OPEN, DISPOSITION.CREATE, DISPOSITION.OPEN_IF].includes(req.disposition as 1)
  )
    throw bad('directory with an overwriting disposition');
  const tree = ctx.tree!;
  if (tree.share.ipc) return createPipe(ctx, req, access);
  if (isQuotaFile(req.name)) {
    if (req.disposition !== DISPOSITION.OPEN && req.disposition !== DISPOSITION.OPEN_IF)
      throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'the quota list can only be opened');
    return createQuotaHandle(ctx, access, req.shareAccess);
  }

  if (req.contexts.some((c) => c.name === CTX.TIMEWARP))
    throw new SmbError(NT_STATUS.STATUS_OBJECT_NAME_NOT_FOUND, 'TWrp: no snapshots here');
  checkCreateGuid(ctx, durable.request);
  const aapl = req.contexts.find((c) => c.name === CTX.AAPL);
  if (aapl) checkAaplQuery(aapl.data, tree.share);

  const { ns } = ctx.env;
  const cred = ctx.cred();
  const eaContext = req.contexts.find((c) => c.name === CTX.EA_BUFFER);
  const eas = eaContext ? decodeEaList(eaContext.data) : [];
  const name = parseSmbName(req.name, { macNames: tree.share.apple });
  if (name.stream !== undefined) return createStream(ctx, req, access, { ...name, stream: name.stream });
  // "name::$DATA" names the unnamed data stream, which a directory does not have.
  if (name.defaultStream && req.options & OPTION.DIRECTORY_FILE)
    throw new SmbError(NT_STATUS.STATUS_NOT_A_DIRECTORY, 'a data stream is not a directory');
  const lookup = () => resolvePath(ns, cred, tree.rootIno, tree.share.path, name.components);
  const readOnly = tree.share.readOnly;
  const limit = shareLimit(readOnly);
  const lease = leaseRequest(ctx, req);
  const leaseId = lease ? LeaseTable.idOf(ctx.conn.clientGuid, lease.key) : undefined;
  // A lease key the client holds on another file is refused before anything is broken for it.
  const leaseElsewhere = (ino: bigint | undefined) => {
    const held = lease && ctx.env.leases.get(ctx.conn.clientGuid, lease.key);
    if (held && held.ino !== ino)
      throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'the lease key is in use on another file');
  };
  let at = await lookup();
  if (name.defaultStream && at.attrs?.type === 'dir')
    throw new SmbError(NT_STATUS.STATUS_FILE_IS_A_DIRECTORY, 'a directory has no data stream');
  leaseElsewhere(at.attrs?.ino);
  let existing = at.attrs ? await existingAccess(ctx, req, access, at.attrs, at.parent, limit) : undefined;
  // Caching held by others is broken first (oplocks.ts); the CREATE waits for the breaks it must
  // and then looks again: a holder that closed may have removed the file (delete on close).
  for (let first = true; at.attrs && existing; first = false) {
    const ino = at.attrs.ino;
    const sharingViolation = ctx.env.inodes.conflicts(ino, existing.granted, req.shareAccess);
    const { delay, closing } = contendForOpen(ctx.env, ino, {
      access: existing.granted,
      leaseId,
      willOverwrite: existing.overwrite,
      sharingViolation,
      first,
    });
    if (closing.length > 0) await Promise.allSettled(closing);
    else if (delay) await waitForBreaks(ctx, ino);
    else if (sharingViolation) throw new SmbError(NT_STATUS.STATUS_SHARING_VIOLATION, 'sharing violation');
    else break;
    at = await lookup();
    existing = at.attrs ? await existingAccess(ctx, req, access, at.attrs, at.parent, limit) : undefined;
  }
  leaseElsewhere(at.attrs?.ino);
  if (at.attrs && existing) {
    await recallOtherNodes(ctx.env, at.attrs.ino, existing.granted, existing.overwrite);
    if (existing.overwrite)
      await checkSharingElsewhere(ctx.env, at.attrs.ino, existing.granted, req.shareAccess);
  }
  let attrs = at.attrs;
  let action: number = CREATE_ACTION.OPENED;
  let granted: number;

  if (attrs && existing) {
    granted = existing.granted;
    const isDir = attrs.type === 'dir';
    if (isDir && req.options & OPTION.DELETE_ON_CLOSE) await requireEmpty(ctx, attrs.ino);
    if (existing.overwrite) {
      const file = await ns.setattr(cred, attrs.ino, { size: 0n });
      attrs = file;
      await ctx.env.notify.quietly(file.ino, async () => {
        await writeDosAttributes(ns, cred, file, req.fileAttributes | ATTR.ARCHIVE);
        await writeEas(ns, cred, file.ino, eas);
        // Overwriting the file's data removes its named streams (MS-FSA §2.1.5.1.2.1).
        await removeAllStreams(ns, cred, file.ino);
      });
      action =
        req.disposition === DISPOSITION.SUPERSEDE ? CREATE_ACTION.SUPERSEDED : CREATE_ACTION.OVERWRITTEN;
    }
  } else {
    if (req.disposition === DISPOSITION.OPEN || req.disposition === DISPOSITION.OVERWRITE) {
      throw new SmbError(NT_STATUS.STATUS_OBJECT_NAME_NOT_FOUND, `not found: ${req.name}`);
    }
    if (!at.parent) throw new SmbError(NT_STATUS.STATUS_OBJECT_NAME_INVALID, 'empty name');
    if (readOnly) throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'read-only share');
    if (req.options & OPTION.DELETE_ON_CLOSE && req.fileAttributes & ATTR.READONLY)
      throw new SmbError(NT_STATUS.STATUS_CANNOT_DELETE, 'a read-only file to be deleted on close');
    const dir = req.options & OPTION.DIRECTORY_FILE;
    try {
      attrs = dir
        ? await ns.mkdir(cred, at.parent.ino, at.name, NEW_DIR_MODE)
        : await ns.create(cred, at.parent.ino, at.name, NEW_FILE_MODE, { kind: 'guarded' });
    } catch (e) {
      if (isFsError(e, 'EEXIST'))
        throw new SmbError(NT_STATUS.STATUS_OBJECT_NAME_COLLISION, 'created meanwhile');
      throw e;
    }
    const keep = req.fileAttributes & SETTABLE_ATTRS;
    const made = attrs;
    await ctx.env.notify.quietly(made.ino, async () => {
      if (keep & ~ATTR.ARCHIVE) await writeDosAttributes(ns, cred, made, keep | (dir ? 0 : ATTR.ARCHIVE));
      await writeEas(ns, cred, made.ino, eas);
    });
    // The case index of the directory follows this create (no rescan for the next one).
    const dirAfter = await ns.getattr(at.parent.ino);
    caseIndexFor(ns).added(at.parent.ino, at.parent.changeId, dirAfter.changeId, at.name);
    action = CREATE_ACTION.CREATED;
    granted = access & ACCESS.MAXIMUM_ALLOWED ? limit : access & limit;
    if ((access & ~ACCESS.MAXIMUM_ALLOWED & ~limit) !== 0)
      throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'read-only share');
  }

  const open = openFromCreate(ctx, req, attrs.type === 'dir' ? 'dir' : 'file', attrs.ino, at, granted);
  const fid = open.fileId.volatile;
  ctx.env.inodes.add(open);
  const asksOplock = req.oplockLevel === OPLOCK_LEVEL_LEASE ? OPLOCK_LEVEL_NONE : req.oplockLevel;
  try {
    await claimOpen(ctx, open, lease && open.kind === 'file' ? { lease } : { oplock: asksOplock });
  } catch (e) {
    // Refused by another node's share modes: the open never was.
    open.deleteOnClose = false;
    ctx.env.inodes.remove(open);
    throw e;
  }
  ctx.session!.opens.set(fid, open);
  ctx.setCompoundOpen(open);
  // An open that will delete the file takes handle caching from other clients' leases.
  if (open.deleteOnClose) breakHandleCaching(ctx.env, open);
  const durableReply = grantDurable(ctx, open, durable.request);
  const final = action === CREATE_ACTION.OPENED ? attrs : await ns.getattr(attrs.ino);
  const meta = await smbMeta(ns, final);
  // An allocation size asked for at creation is reported (nothing is reserved: the store is sparse).
  const alloc = req.contexts.find((c) => c.name === CTX.ALLOCATION_SIZE && c.data.length >= 8);
  const asked =
    alloc && action !== CREATE_ACTION.OPENED && final.type !== 'dir' ? alloc.data.readBigUInt64LE(0) : 0n;
  if (asked > meta.allocation) {
    await writeAllocation(ns, cred, final.ino, asked);
    meta.allocation = inClusters(asked);
  }
  const contexts = answerContexts(ctx, req.contexts, attrs, at.parent);
  if (open.lease) contexts.push({ name: CTX.REQUEST_LEASE, data: encodeLeaseReply(open.lease) });
  if (durableReply) contexts.push(durableReply);
  return {
    oplockLevel: open.oplock,
    action,
    ...fileTimes(final, meta),
    allocationSize: meta.allocation,
    endOfFile: final.type === 'dir' ? 0n : final.size,
    fileAttributes: meta.attributes,
    persistentId: fid,
    volatileId: fid,
    contexts,
  };
}

/**
 * The access an open of an existing file gets, checked as MS-FSA §2.1.5.1.2 does (delete
 * pending, disposition, file or directory, permissions, read-only and hidden files), and
 * whether it overwrites the file.
 */
async function existingAccess(
  ctx: RequestContext,
  req: CreateRequest,
  access: number,
  attrs: Attributes,
  parent: Attributes | undefined,
  limit: number,
): Promise<{ granted: number; overwrite: boolean }> {
  if (deletePending(ctx.env, attrs.ino))
    throw new SmbError(NT_STATUS.STATUS_DELETE_PENDING, 'delete pending');
  if (req.disposition === DISPOSITION.CREATE)
    throw new SmbError(NT_STATUS.STATUS_OBJECT_NAME_COLLISION, 'exists');
  const isDir = attrs.type === 'dir';
  if (isDir && req.options & OPTION.NON_DIRECTORY_FILE)
    throw new SmbError(NT_STATUS.STATUS_FILE_IS_A_DIRECTORY, 'is a directory');
  if (!isDir && req.options & OPTION.DIRECTORY_FILE)
    throw new SmbError(NT_STATUS.STATUS_NOT_A_DIRECTORY, 'not a directory');
  const overwrite = [DISPOSITION.OVERWRITE, DISPOSITION.OVERWRITE_IF, DISPOSITION.SUPERSEDE].includes(
    req.disposition as 0,
  );
  if (isDir && overwrite) throw bad('overwriting a directory');
  const dos = (await smbMeta(ctx.env.ns, attrs)).attributes;
  const granted = grantedAccess(access, maximalAccess(ctx.cred(), attrs, parent) & limit, {
    overwrite,
    readOnlyFile: (dos & ATTR.READONLY) !== 0,
    deleteOnClose: (req.options & OPTION.DELETE_ON_CLOSE) !== 0,
  });
  // MS-FSA §2.1.5.1.2: overwriting a hidden or system file must name those attributes again.
  if (overwrite && (dos & ~req.fileAttributes & (ATTR.HIDDEN | ATTR.SYSTEM)) !== 0)
    throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'overwrite drops HIDDEN or SYSTEM');
  return { granted, overwrite };
}

/**
 * The lease a CREATE asks for: an RqLs context with RequestedOplockLevel LEASE (any level for a
 * reconnect), on a connection that was offered leasing (SMB 2.1 and later); otherwise none
 * (§3.3.5.9.8, .11).
 */
function leaseRequest(ctx: RequestContext, req: CreateRequest, anyLevel = false): LeaseRequest | undefined {
  if (!(ctx.conn.serverCapabilities & CAP.LEASING)) return undefined;
  if (!anyLevel && req.oplockLevel !== OPLOCK_LEVEL_LEASE) return undefined;
  const c = req.contexts.find((x) => x.name === CTX.REQUEST_LEASE);
  return c ? decodeLeaseRequest(c.data, isSmb3(ctx.conn.dialect)) : undefined;
}

/** A durable open handed back (durable.ts): the file as it is now, the open's own oplock and ids. */
async function reconnected(
  ctx: RequestContext,
  req: CreateRequest,
  r: DurableReconnect,
): Promise<CreateResponse> {
  // A reconnect's RequestedOplockLevel is ignored: its lease context names the open's lease.
  const open = reconnectDurable(ctx, r, leaseRequest(ctx, req, true)?.key, req.name);
  const { ns } = ctx.env;
  const attrs = await ns.getattr(open.ino);
  const parent = open.parentIno === 0n ? undefined : await ns.getattr(open.parentIno);
  const meta = await smbMeta(ns, attrs);
  return {
    oplockLevel: open.oplock,
    action: CREATE_ACTION.OPENED,
    ...fileTimes(attrs, meta),
    allocationSize: meta.allocation,
    endOfFile: attrs.size,
    fileAttributes: meta.attributes,
    persistentId: open.fileId.persistent,
    volatileId: open.fileId.volatile,
    contexts: [
      ...answerContexts(ctx, req.contexts, attrs, parent),
      ...(open.lease ? [{ name: CTX.REQUEST_LEASE, data: encodeLeaseReply(open.lease) }] : []),
    ],
  };
}

async function requireEmpty(ctx: RequestContext, ino: bigint): Promise<void> {
  const page = await ctx.env.ns.readdir(ctx.cred(), ino, 0n, 1);
  if (page.entries.length > 0)
    throw new SmbError(NT_STATUS.STATUS_DIRECTORY_NOT_EMPTY, 'directory not empty');
}

async function createPipe(ctx: RequestContext, req: CreateRequest, access: number): Promise<CreateResponse> {
  const pipe = await openPipe(req.name.replace(/^\\+/, ''), ctx);
  if (!pipe) throw new SmbError(NT_STATUS.STATUS_OBJECT_NAME_NOT_FOUND, `no pipe ${req.name}`);
  return specialOpen(ctx, {
    kind: 'pipe',
    ino: 0n,
    name: pipe.name,
    access: access & ACCESS.MAXIMUM_ALLOWED ? 0x0012019f : access,
    shareAccess: req.shareAccess,
    fileAttributes: ATTR.NORMAL,
    allocationSize: 4096n,
    pipe,
  });
}

/** MS-SMB2 §2.2.14. */
export function encodeCreate(res: CreateResponse): Buffer {
  const ctxs = encodeCreateContexts(res.contexts);
  const w = new Writer(96 + ctxs.length);
  w.u16(89).u8(res.oplockLevel).u8(0).u32(res.action);
  w.u64(res.creationTime).u64(res.lastAccessTime).u64(res.lastWriteTime).u64(res.changeTime);
  w.u64(res.allocationSize).u64(res.endOfFile).u32(res.fileAttributes).u32(0);
  w.u64(res.persistentId).u64(res.volatileId);
  w.u32(ctxs.length ? HEADER_SIZE + 88 : 0).u32(ctxs.length);
  if (ctxs.length) w.bytes(ctxs);
  else w.u8(0);
  return w.finish();
}
