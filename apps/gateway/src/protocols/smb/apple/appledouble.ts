import type { Namespace } from '../../../storage/namespace.ts';
import type { Credential } from '../../../storage/types.ts';
import type { RequestContext } from '../context.ts';
import { putStream, removeStream, STREAM_MAX, writeStream } from '../streams.ts';
import { AFP_RESOURCE, defaultAfpInfo, writeAfpInfo } from './afp-streams.ts';
import { macNameToWire } from './mac-names.ts';

/**
 * AppleDouble `._name` files (RFC 1740's format, version 2, as macOS writes them on volumes
 * without streams, and netatalk on AFP servers): a Mac's Finder info, its extended attributes
 * and its resource fork, beside the file they belong to. On a share with apple_extensions they
 * are converted into that file's streams, as Samba's vfs_fruit does (`fruit:convert_adouble`),
 * when a Mac opens one of the file's Apple streams or lists the directory with READ_DIR_ATTR:
 * the Finder info becomes AFP_AfpInfo, each attribute a named stream (its name in the form
 * Macs send, so "com.apple.metadata:_kMDItemUserTags" keeps its colon), the resource fork
 * AFP_Resource; then the `._` file, whose content the file now carries, is removed.
 */

const MAGIC = 0x0005_1607;
const VERSION = 0x0002_0000;
const HEADER = 26;
const ENTRY = 12;
const ID_RESOURCE_FORK = 2;
const ID_FINDER_INFO = 9;
const FINDER_INFO_SIZE = 32;
/** The filler of the AppleDouble files macOS writes (netatalk's say "Netatalk"). */
const OSX_FILLER = 'Mac OS X        ';
/** Apple's packed attributes after the Finder info: 'ATTR', then a 36-byte header. */
const ATTR_MAGIC = 0x4154_5452;
const ATTR_HEADER = 36;
/** The Finder info entry with its attributes fits in this (Samba's AD_XATTR_MAX_HDR_SIZE). */
export const APPLEDOUBLE_HEAD_MAX = 65_536;
const MAX_ATTRS = 1024;

export interface AppleDouble {
  /** The 32 bytes of Finder info, when the file is macOS's (netatalk's are left alone). */
  finderInfo?: Buffer;
  attributes: Array<{ name: string; value: Buffer }>;
  /** Where the resource fork lies in the file (its length cut to the file's end). */
  resourceFork?: { offset: number; length: number };
}

/**
 * Reads an AppleDouble file from its first bytes (`head`, up to APPLEDOUBLE_HEAD_MAX) and its
 * size; undefined when it is not one, or is damaged: then it is left as it is.
 */
export function parseAppleDouble(head: Buffer, fileSize: number): AppleDouble | undefined {
  if (head.length < HEADER || head.readUInt32BE(0) !== MAGIC || head.readUInt32BE(4) !== VERSION)
    return undefined;
  const count = head.readUInt16BE(24);
  if (count === 0 || HEADER + count * ENTRY > head.length) return undefined;
  const out: AppleDouble = { attributes: [] };
  let finder: { offset: number; length: number } | undefined;
  for (let i = 0; i < count; i++) {
    const at = HEADER + i * ENTRY;
    const id = head.readUInt32BE(at);
    const offset = head.readUInt32BE(at + 4);
    const length = head.readUInt32BE(at + 8);
    if (offset > fileSize) return undefined;
    if (id === ID_RESOURCE_FORK) out.resourceFork = { offset, length: Math.min(length, fileSize - offset) };
    else if (offset + length > Math.min(fileSize, head.length)) return undefined;
    else if (id === ID_FINDER_INFO) finder = { offset, length };
  }
  if (!finder || finder.length < FINDER_INFO_SIZE) return out;
  if (head.toString('latin1', 8, 24) === OSX_FILLER)
    out.finderInfo = head.subarray(finder.offset, finder.offset + FINDER_INFO_SIZE);
  if (finder.length > FINDER_INFO_SIZE) {
    const attributes = packedAttributes(head, finder.offset + FINDER_INFO_SIZE + 2, out.resourceFork);
    if (!attributes) return undefined;
    out.attributes = attributes;
  }
  return out;
}

/** Apple's attributes packed after the Finder info (Samba's ad_unpack_xattrs, with its checks). */
function packedAttributes(
  b: Buffer,
  at: number,
  fork: AppleDouble['resourceFork'],
): AppleDouble['attributes'] | undefined {
  if (at + ATTR_HEADER > b.length || b.readUInt32BE(at) !== ATTR_MAGIC) return undefined;
  const total = b.readUInt32BE(at + 8);
  const dataStart = b.readUInt32BE(at + 12);
  const dataLength = b.readUInt32BE(at + 16);
  const count = b.readUInt16BE(at + 34);
  if (total > b.length || (fork && total > fork.offset)) return undefined;
  if (dataStart < at + ATTR_HEADER || dataStart + dataLength > total || count > MAX_ATTRS) return undefined;
  const out: AppleDouble['attributes'] = [];
  let p = at + ATTR_HEADER;
  for (let i = 0; i < count; i++) {
    p = (p + 3) & ~3;
    if (p + 11 > dataStart) return undefined;
    const offset = b.readUInt32BE(p);
    const length = b.readUInt32BE(p + 4);
    const nameLength = b[p + 10]!;
    if (nameLength === 0 || p + 11 + nameLength > dataStart) return undefined;
    if (offset >= total || offset + length > total) return undefined;
    const raw = b.subarray(p + 11, p + 11 + nameLength);
    const end = raw.indexOf(0);
    out.push({
      name: raw.subarray(0, end < 0 ? raw.length : end).toString('utf8'),
      value: b.subarray(offset, offset + length),
    });
    p += 11 + nameLength;
  }
  return out;
}

/** A stream name an attribute may take: Mac form, and nothing a stream name cannot hold. */
function streamNameOf(attribute: string): string | undefined {
  const name = macNameToWire(attribute);
  return name.length === 0 || name.length > 255 || /[\0/\\:]/.test(name) ? undefined : name;
}

/** What a conversion did, for the log. */
export interface Conversion {
  streams: string[];
  resourceForkBytes: number;
}

/**
 * Converts `._<name>` in directory `dir` into the streams of `<name>` (inode `ino`), then
 * removes it. Nothing happens when there is no such file, when it is not AppleDouble, or when
 * `busy` says it is open. Streams are written before the `._` file goes, so a failure or a
 * crash between leaves it to be converted again, to the same streams.
 */
export async function convertAppleDouble(
  ns: Namespace,
  cred: Credential,
  dir: bigint,
  name: string,
  ino: bigint,
  busy: (ino: bigint) => boolean,
): Promise<Conversion | undefined> {
  const adName = `._${name}`;
  const ad = await ns.lookup(cred, dir, adName).catch(() => undefined);
  if (ad?.type !== 'file' || busy(ad.ino) || ad.size > BigInt(APPLEDOUBLE_HEAD_MAX + STREAM_MAX))
    return undefined;
  const size = Number(ad.size);
  const head = (await ns.read(cred, ad.ino, 0n, Math.min(size, APPLEDOUBLE_HEAD_MAX))).data;
  const parsed = parseAppleDouble(head, size);
  // A resource fork no stream can hold stays in its `._` file, whole, rather than half moved.
  if (!parsed || (parsed.resourceFork?.length ?? 0) > STREAM_MAX) return undefined;
  const done: Conversion = { streams: [], resourceForkBytes: 0 };
  for (const a of parsed.attributes) {
    const stream = streamNameOf(a.name);
    if (stream === undefined) continue;
    await putStream(ns, cred, ino, stream, a.value);
    done.streams.push(stream);
  }
  // Finder info of zeros says nothing: an AfpInfo the file has stays.
  if (parsed.finderInfo?.some((b) => b !== 0)) {
    const info = defaultAfpInfo();
    parsed.finderInfo.copy(info, 16);
    await writeAfpInfo(ns, cred, ino, 0n, info);
  }
  const fork = parsed.resourceFork;
  if (fork && fork.length > 0) {
    await removeStream(ns, cred, ino, AFP_RESOURCE);
    for (let at = 0; at < fork.length; at += PIECE) {
      const piece = Math.min(PIECE, fork.length - at);
      const { data } = await ns.read(cred, ad.ino, BigInt(fork.offset + at), piece);
      await writeStream(ns, cred, ino, AFP_RESOURCE, BigInt(at), data);
    }
    done.resourceForkBytes = fork.length;
  }
  await ns.remove(cred, dir, adName);
  return done;
}

/** A resource fork moves this many bytes at a time. */
const PIECE = 1024 * 1024;

/**
 * The conversion of `._<name>` beside `<name>` for a request on a share that converts: logged
 * when it happens; a failure is logged and leaves the `._` file for the next time, as Samba
 * goes on with the request after a failed conversion. True when the `._` file is gone.
 */
export async function convertBeside(
  ctx: RequestContext,
  dir: bigint,
  name: string,
  ino: bigint,
): Promise<boolean> {
  const share = ctx.tree!.share;
  if (!share.convertAppleDouble) return false;
  const busy = (i: bigint) => ctx.env.inodes.opensOf(i).length > 0;
  try {
    const done = await convertAppleDouble(ctx.env.ns, ctx.cred(), dir, name, ino, busy);
    if (done)
      ctx.env.log.info(
        { share: share.name, file: name, ...done },
        `SMB: AppleDouble file ._${name} converted into the streams of ${name} on share ${share.name}`,
      );
    return done !== undefined;
  } catch (e) {
    ctx.env.log.warn(
      { err: e, share: share.name, file: name },
      `SMB: AppleDouble file ._${name} not converted: ${(e as Error).message}`,
    );
    return false;
  }
}
