import type { Attributes } from '../../../storage/types.ts';
import { maximalAccess, shareLimit } from '../access.ts';
import { convertBeside } from '../apple/appledouble.ts';
import { macNameToDisk, macNameToWire } from '../apple/mac-names.ts';
import { appleDirAttrs } from '../apple/readdir-attr.ts';
import { ACCESS } from '../constants.ts';
import type { RequestContext } from '../context.ts';
import { NT_STATUS } from '../deps.ts';
import { SmbError } from '../errors.ts';
import { fileTimes, smbMeta } from '../file-meta.ts';
import { HEADER_SIZE } from '../header.ts';
import { DIR_CLASS, DIR_CLASSES, type DirEntryInfo, entrySize, writeEntry } from '../info/directory.ts';
import type { DirEnumeration, FileId, Open } from '../open-files.ts';
import { resolvePath } from '../paths.ts';
import { listedName } from '../short-names.ts';
import { compilePattern, hasWildcards } from '../wildcard.ts';
import { type Reader, utf16 } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';
import { readFileId } from './file-id.ts';

const RESTART_SCANS = 0x01;
const RETURN_SINGLE_ENTRY = 0x02;
const REOPEN = 0x10;
const PAGE = 256;

export interface QueryDirectoryRequest {
  infoClass: number;
  flags: number;
  fileIndex: number;
  fileId: FileId;
  pattern: string;
  outputBufferLength: number;
}

export interface QueryDirectoryResponse {
  buffer: Buffer;
}

/** MS-SMB2 §2.2.33. */
export function decodeQueryDirectory(r: Reader): QueryDirectoryRequest {
  r.structureSize(33);
  const infoClass = r.u8('FileInformationClass');
  const flags = r.u8('Flags');
  const fileIndex = r.u32('FileIndex');
  const fileId = readFileId(r);
  const nameOffset = r.u16('FileNameOffset');
  const nameLength = r.u16('FileNameLength');
  const outputBufferLength = r.u32('OutputBufferLength');
  const pattern = utf16(r.region(nameOffset, nameLength, 'FileName', HEADER_SIZE + 32), 'FileName');
  return { infoClass, flags, fileIndex, fileId, pattern, outputBufferLength };
}

export const queryDirectoryPayload = (req: QueryDirectoryRequest): number => req.outputBufferLength;

/**
 * MS-SMB2 §3.3.5.18: "." and ".." first, then the namespace's entries by cookie; the first
 * query of a scan that finds nothing is STATUS_NO_SUCH_FILE, later ones STATUS_NO_MORE_FILES.
 */
export async function handleQueryDirectory(
  ctx: RequestContext,
  req: QueryDirectoryRequest,
): Promise<QueryDirectoryResponse> {
  const open = ctx.open(req.fileId);
  if (open.kind !== 'dir') throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'not a directory');
  if (!DIR_CLASSES.has(req.infoClass))
    throw new SmbError(NT_STATUS.STATUS_INVALID_INFO_CLASS, `class ${req.infoClass}`);
  if (!open.has(ACCESS.FILE_LIST_DIRECTORY))
    throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'no list access');
  if (req.outputBufferLength > ctx.conn.maxTransactSize)
    throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'OutputBufferLength');
  if (/[\\/:|]/.test(req.pattern)) throw new SmbError(NT_STATUS.STATUS_OBJECT_NAME_INVALID, 'bad pattern');
  // FileIndex (INDEX_SPECIFIED) is ignored, as NTFS and Samba ignore it: the scan continues.
  const restart = (req.flags & (RESTART_SCANS | REOPEN)) !== 0 || !open.enumeration;
  let fresh = false;
  if (restart) {
    const pattern = req.pattern === '' ? (open.enumeration?.pattern ?? '*') : req.pattern;
    open.enumeration = {
      pattern,
      exact: await namedExactly(ctx, open, pattern),
      dots: 0,
      cookie: 0n,
      eof: false,
      pending: [],
    };
    fresh = true;
  }
  const en = open.enumeration!;
  const match = compilePattern(en.pattern, en.exact);
  const w = new Writer(Math.min(req.outputBufferLength, 64 * 1024));
  let lastAt = -1;
  let count = 0;
  const single = (req.flags & RETURN_SINGLE_ENTRY) !== 0;
  // Apple's READ_DIR_ATTR entries need the directory, for each entry's maximal access.
  const apple =
    req.infoClass === DIR_CLASS.ID_BOTH_DIRECTORY && open.tree.share.apple && ctx.conn.apple?.readDirAttr
      ? { dir: await ctx.env.ns.getattr(open.ino) }
      : undefined;
  for (;;) {
    const next = await nextEntry(ctx, open, en);
    if (!next) break;
    if (!match(next.name)) {
      consume(en, next);
      continue;
    }
    const size = entrySize(req.infoClass, Buffer.byteLength(next.name, 'utf16le'));
    const start = count === 0 ? 0 : (w.length + 7) & ~7;
    if (start + size > req.outputBufferLength) {
      if (count === 0)
        throw new SmbError(NT_STATUS.STATUS_INFO_LENGTH_MISMATCH, 'output buffer too small for one entry');
      break;
    }
    const info = await entryInfo(ctx, open, next, apple);
    if (!info) {
      consume(en, next);
      continue;
    }
    if (count > 0) {
      w.align(8);
      w.at(lastAt).u32(w.length - lastAt);
    }
    lastAt = w.length;
    writeEntry(w, req.infoClass, info);
    consume(en, next);
    count++;
    if (single) break;
  }
  if (count === 0) {
    throw new SmbError(
      fresh ? NT_STATUS.STATUS_NO_SUCH_FILE : NT_STATUS.STATUS_NO_MORE_FILES,
      'no more entries',
    );
  }
  return { buffer: w.finish() };
}

/**
 * Whether an entry bears `pattern` (no wildcards) exactly, as the client sees names. smbd looks
 * such a name up first and lists only it; only when no name is exact does it match ignoring case.
 */
async function namedExactly(ctx: RequestContext, open: Open, pattern: string): Promise<boolean> {
  if (hasWildcards(pattern) || pattern === '' || pattern === '.' || pattern === '..') return false;
  const apple = open.tree.share.apple;
  const stored = apple ? macNameToDisk(pattern) : pattern;
  try {
    await ctx.env.ns.lookup(ctx.cred(), open.ino, stored);
  } catch {
    return false;
  }
  return (apple ? macNameToWire(stored) : listedName(stored)) === pattern;
}

/**
 * What a symbolic link (made over NFS) lists as: its target, as an open of it reaches it —
 * a folder for a link to one, the target's size and times — as smbd lists links it follows;
 * undefined (not listed) for one that leads nowhere or out of the share.
 */
async function linkTarget(ctx: RequestContext, dir: Open, name: string): Promise<Attributes | undefined> {
  const tree = dir.tree;
  const components = [...dir.path.split('\\').filter((p) => p !== ''), name];
  const r = await resolvePath(ctx.env.ns, ctx.cred(), tree.rootIno, tree.share.path, components).catch(
    () => undefined,
  );
  return r?.attrs;
}

interface Candidate {
  name: string;
  ino: bigint;
  /** The name as stored (`name` is as the client sees it); none for "." and "..". */
  stored?: string;
  dot?: 1 | 2;
}

/** The next entry of the scan without taking it (taken by `consume` once it is in the reply). */
async function nextEntry(
  ctx: RequestContext,
  open: Open,
  en: DirEnumeration,
): Promise<Candidate | undefined> {
  if (en.dots === 0) return { name: '.', ino: open.ino, dot: 1 };
  if (en.dots === 1) {
    const self = await ctx.env.ns.getattr(open.ino);
    const parent = open.ino === open.tree.rootIno || self.parent === 0n ? open.ino : self.parent;
    return { name: '..', ino: parent, dot: 2 };
  }
  if (en.pending.length === 0 && !en.eof) {
    // The page's attributes and extended attributes are read with it, in two queries, and
    // cached: each entry's getattr and smbMeta below answer from the cache.
    const { ns } = ctx.env;
    const page = await ns.readdirPlus(ctx.cred(), open.ino, en.cookie, PAGE);
    await ns.preloadXattrs(page.entries.map((e) => e.ino));
    // A share with apple_extensions shows stored names in the form Macs send (apple/mac-names.ts);
    // others show a name Windows cannot use by its 8.3 name, which opens it (short-names.ts).
    const shown = open.tree.share.apple ? macNameToWire : listedName;
    for (const e of page.entries) en.pending.push({ name: shown(e.name), ino: e.ino, stored: e.name });
    if (page.entries.length > 0) en.cookie = page.entries[page.entries.length - 1]!.cookie;
    en.eof = page.eof || page.entries.length === 0;
  }
  return en.pending[0];
}

function consume(en: DirEnumeration, c: Candidate): void {
  if (c.dot) en.dots = c.dot;
  else en.pending.shift();
}

/**
 * A Mac's listing converts each AppleDouble `._name` file met into name's streams, as Samba's
 * READ_DIR_ATTR does (apple/appledouble.ts); a converted one is gone, and is not listed.
 */
async function appleDoubleConverted(ctx: RequestContext, dir: bigint, stored: string): Promise<boolean> {
  if (!ctx.tree!.share.convertAppleDouble || !stored.startsWith('._') || stored.length === 2) return false;
  const name = stored.slice(2);
  const owner = await ctx.env.ns.lookup(ctx.cred(), dir, name).catch(() => undefined);
  if (owner?.type !== 'file' && owner?.type !== 'dir') return false;
  return convertBeside(ctx, dir, name, owner.ino);
}

async function entryInfo(
  ctx: RequestContext,
  dir: Open,
  c: Candidate,
  apple: { dir: Attributes } | undefined,
): Promise<DirEntryInfo | undefined> {
  if (apple && c.stored && (await appleDoubleConverted(ctx, apple.dir.ino, c.stored))) return undefined;
  let a: Attributes | undefined;
  try {
    a = await ctx.env.ns.getattr(c.ino);
    if (a.type === 'symlink' && c.stored) a = await linkTarget(ctx, dir, c.stored);
  } catch {
    return undefined; // removed since the page was read
  }
  if (!a) return undefined;
  const meta = await smbMeta(ctx.env.ns, a);
  const maxAccess = () =>
    maximalAccess(ctx.cred(), a, c.dot ? undefined : apple!.dir) & shareLimit(ctx.tree!.share.readOnly);
  return {
    ...(apple ? { apple: await appleDirAttrs(ctx.env.ns, a, maxAccess()) } : {}),
    name: c.name,
    fileId: a.ino,
    ...fileTimes(a, meta),
    endOfFile: a.type === 'dir' ? 0n : a.size,
    allocationSize: meta.allocation,
    attributes: meta.attributes,
    eaSize: meta.eaSize,
  };
}

/** MS-SMB2 §2.2.34. */
export function encodeQueryDirectory(res: QueryDirectoryResponse): Buffer[] {
  const head = Buffer.alloc(8);
  head.writeUInt16LE(9, 0);
  head.writeUInt16LE(HEADER_SIZE + 8, 2);
  head.writeUInt32LE(res.buffer.length, 4);
  return [head, res.buffer];
}
