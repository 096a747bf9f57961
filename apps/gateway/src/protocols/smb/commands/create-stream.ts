import { isFsError } from '../../../storage/errors.ts';
import { grantedAccess, maximalAccess, shareLimit } from '../access.ts';
import { AFP_INFO_SIZE, isAfpInfo, isResourceFork, listed } from '../apple/afp-streams.ts';
import { convertBeside } from '../apple/appledouble.ts';
import { caseIndexFor } from '../case-index.ts';
import { deletePending } from '../cluster-opens.ts';
import {
  ACCESS,
  ATTR,
  CREATE_ACTION,
  DISPOSITION,
  NEW_FILE_MODE,
  OPLOCK_LEVEL_NONE,
  OPTION,
} from '../constants.ts';
import type { RequestContext } from '../context.ts';
import { answerContexts } from '../create-contexts.ts';
import { NT_STATUS } from '../deps.ts';
import { SmbError } from '../errors.ts';
import { fileTimes, inClusters, smbMeta, streamAttributes } from '../file-meta.ts';
import { openFromCreate } from '../open-files.ts';
import { resolvePath, type SmbName } from '../paths.ts';
import { findStream, putStream, removeStream } from '../streams.ts';
import type { CreateRequest, CreateResponse } from './create.ts';

const OVERWRITING: readonly number[] = [
  DISPOSITION.SUPERSEDE,
  DISPOSITION.OVERWRITE,
  DISPOSITION.OVERWRITE_IF,
];

/**
 * CREATE of a named stream, "file:name[:$DATA]" (MS-FSA §2.1.5.1 for a stream; streams.ts for
 * where its bytes live). A file that does not exist is created empty first, as NTFS does; the
 * dispositions then apply to the stream, and its share modes and delete on close are its own.
 * The file's delete pending, permissions and read-only attribute decide as for the file. No
 * oplock, lease or durable handle is granted on a stream (granting none is the server's choice,
 * MS-SMB2 §3.3.5.9), and the stream is not a directory.
 */
export async function createStream(
  ctx: RequestContext,
  req: CreateRequest,
  access: number,
  name: SmbName & { stream: string },
): Promise<CreateResponse> {
  if (req.options & OPTION.DIRECTORY_FILE)
    throw new SmbError(NT_STATUS.STATUS_NOT_A_DIRECTORY, 'a named stream is not a directory');
  const tree = ctx.tree!;
  const { ns } = ctx.env;
  const cred = ctx.cred();
  const readOnly = tree.share.readOnly;
  const limit = shareLimit(readOnly);
  const at = await resolvePath(ns, cred, tree.rootIno, tree.share.path, name.components);
  const overwrite = OVERWRITING.includes(req.disposition);
  let attrs = at.attrs;
  let granted: number;
  let fileCreated = false;
  if (!attrs) {
    if (req.disposition === DISPOSITION.OPEN || req.disposition === DISPOSITION.OVERWRITE)
      throw new SmbError(NT_STATUS.STATUS_OBJECT_NAME_NOT_FOUND, `not found: ${req.name}`);
    if (!at.parent) throw new SmbError(NT_STATUS.STATUS_OBJECT_NAME_INVALID, 'empty name');
    if (readOnly) throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'read-only share');
    try {
      attrs = await ns.create(cred, at.parent.ino, at.name, NEW_FILE_MODE, { kind: 'guarded' });
    } catch (e) {
      if (isFsError(e, 'EEXIST'))
        throw new SmbError(NT_STATUS.STATUS_OBJECT_NAME_COLLISION, 'created meanwhile');
      throw e;
    }
    const dirAfter = await ns.getattr(at.parent.ino);
    caseIndexFor(ns).added(at.parent.ino, at.parent.changeId, dirAfter.changeId, at.name);
    fileCreated = true;
    granted = access & ACCESS.MAXIMUM_ALLOWED ? limit : access & limit;
  } else {
    if (deletePending(ctx.env, attrs.ino) || ctx.env.inodes.deletePending(attrs.ino, name.stream))
      throw new SmbError(NT_STATUS.STATUS_DELETE_PENDING, 'delete pending');
    const dos = (await smbMeta(ns, attrs)).attributes;
    granted = grantedAccess(access, maximalAccess(cred, attrs, at.parent) & limit, {
      overwrite,
      readOnlyFile: (dos & ATTR.READONLY) !== 0,
      deleteOnClose: (req.options & OPTION.DELETE_ON_CLOSE) !== 0,
    });
  }
  const ino = attrs.ino;
  const apple = tree.share.apple;
  // A Mac opening a file's Finder info or resource fork finds what a `._` file beside it held.
  if (apple && !fileCreated && at.parent && (isAfpInfo(name.stream) || isResourceFork(name.stream)))
    await convertBeside(ctx, at.parent.ino, at.name, ino);
  const stored = fileCreated ? undefined : await findStream(ns, ino, name.stream);
  let found = stored;
  // With Apple's rules an invalid AfpInfo or empty resource fork is not there, and once the
  // client negotiated AAPL a plain open of any empty stream finds none (apple/afp-streams.ts).
  if (found && apple && !listed(found.name, found.size)) found = undefined;
  if (found?.size === 0 && apple && ctx.conn.apple && req.disposition === DISPOSITION.OPEN) found = undefined;
  if (!found && (req.disposition === DISPOSITION.OPEN || req.disposition === DISPOSITION.OVERWRITE))
    throw new SmbError(NT_STATUS.STATUS_OBJECT_NAME_NOT_FOUND, `no stream ${name.stream}`);
  if (found && req.disposition === DISPOSITION.CREATE)
    throw new SmbError(NT_STATUS.STATUS_OBJECT_NAME_COLLISION, `stream ${found.name} exists`);
  const stream = found?.name ?? name.stream;
  if (ctx.env.inodes.conflicts(ino, granted, req.shareAccess, stream))
    throw new SmbError(NT_STATUS.STATUS_SHARING_VIOLATION, 'sharing violation on the stream');
  let action: number = CREATE_ACTION.OPENED;
  let size = found ? BigInt(found.size) : 0n;
  if (!found || overwrite) {
    if (readOnly) throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'read-only share');
    // An AfpInfo is stored only when written: until then the open reads a default one.
    if (apple && isAfpInfo(stream)) {
      if (stored) await removeStream(ns, cred, ino, stream);
    } else await putStream(ns, cred, ino, stream, Buffer.alloc(0));
    size = 0n;
    action = !found
      ? CREATE_ACTION.CREATED
      : req.disposition === DISPOSITION.SUPERSEDE
        ? CREATE_ACTION.SUPERSEDED
        : CREATE_ACTION.OVERWRITTEN;
  }

  if (apple && isAfpInfo(stream)) size = BigInt(AFP_INFO_SIZE);
  const open = openFromCreate(ctx, req, 'file', ino, at, granted);
  open.stream = stream;
  open.oplock = OPLOCK_LEVEL_NONE;
  ctx.env.inodes.add(open);
  ctx.session!.opens.set(open.fileId.volatile, open);
  ctx.setCompoundOpen(open);
  const final = await ns.getattr(ino);
  const meta = await smbMeta(ns, final);
  return {
    oplockLevel: OPLOCK_LEVEL_NONE,
    action,
    ...fileTimes(final, meta),
    allocationSize: inClusters(size),
    endOfFile: size,
    fileAttributes: streamAttributes(meta.attributes),
    persistentId: open.fileId.persistent,
    volatileId: open.fileId.volatile,
    contexts: answerContexts(ctx, req.contexts, final, at.parent),
  };
}
