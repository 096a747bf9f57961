import type { Namespace } from '../../storage/namespace.ts';
import { type Attributes, type Credential, isImmutable } from '../../storage/types.ts';
import { ATTR, SETTABLE_ATTRS } from './constants.ts';
import { nsToFiletime } from './filetime.ts';
import { type ExtendedAttribute, encodeEaList } from './info/ea.ts';

/**
 * What SMB keeps about a file beyond POSIX attributes, in the namespace's xattrs:
 * - DOS attributes a client set: 4 bytes little-endian, the settable bits only;
 * - a ChangeTime a client set (FILE_BASIC_INFORMATION), with the ctime it was set at: it is
 *   reported while the inode's ctime is still that one (any later change wins), because the
 *   namespace keeps ctime itself;
 * - extended attributes, one xattr each under `smb.ea.<NAME>` (EA names ignore case);
 * - an AllocationSize a client set (FILE_ALLOCATION_INFORMATION): reported while larger than
 *   the data (nothing is reserved: the data store is sparse).
 */
export const DOS_ATTR_XATTR = 'smb.dos-attributes';
export const CHANGE_TIME_XATTR = 'smb.change-time';
export const EA_PREFIX = 'smb.ea.';
export const ALLOCATION_XATTR = 'smb.allocation-size';

export interface SmbMeta {
  attributes: number;
  /** FILETIME. */
  changeTime: bigint;
  eas: ExtendedAttribute[];
  /** Bytes of the FILE_FULL_EA_INFORMATION list (FileEaInformation.EaSize). */
  eaSize: number;
  /** AllocationSize to report: 4 KiB clusters of the data, or more when a client asked. */
  allocation: bigint;
}

/**
 * FileAttributes of an inode (MS-FSCC §2.6): its type, plus what a client stored; an immutable
 * file (S3 Object Lock) is READONLY whatever was stored, so Windows shows it so and refuses
 * writes and deletes up front (STATUS_ACCESS_DENIED, STATUS_CANNOT_DELETE).
 */
export function dosAttributes(a: Attributes, stored: number | undefined): number {
  if (a.type === 'dir') return ATTR.DIRECTORY | ((stored ?? 0) & SETTABLE_ATTRS);
  let v = (stored ?? ATTR.ARCHIVE) & SETTABLE_ATTRS;
  if (isImmutable(a, BigInt(Date.now()) * 1_000_000n)) v |= ATTR.READONLY;
  return v === 0 ? ATTR.NORMAL : v;
}

/**
 * The attributes an open of a named stream reports: its file's, but a folder's stream is no
 * folder (as smbd reports it: a stream is regular data). smbclient takes DIRECTORY on an open
 * it asked to be no directory for a refusal, and closes it.
 */
export function streamAttributes(fileAttributes: number): number {
  return fileAttributes & ~ATTR.DIRECTORY || ATTR.NORMAL;
}

export async function smbMeta(ns: Namespace, a: Attributes): Promise<SmbMeta> {
  const x = await ns.listXattrs(a.ino);
  const dos = x.get(DOS_ATTR_XATTR);
  const ct = x.get(CHANGE_TIME_XATTR);
  let changeTime = nsToFiletime(a.ctimeNs);
  if (ct?.length === 16 && ct.readBigInt64LE(8) === a.ctimeNs) changeTime = ct.readBigUInt64LE(0);
  const asked = x.get(ALLOCATION_XATTR);
  const eas: ExtendedAttribute[] = [];
  for (const [k, v] of x)
    if (k.startsWith(EA_PREFIX)) eas.push({ name: k.slice(EA_PREFIX.length), value: v, flags: 0 });
  return {
    attributes: dosAttributes(a, dos?.length === 4 ? dos.readUInt32LE(0) : undefined),
    changeTime,
    eas,
    eaSize: eas.length === 0 ? 0 : encodeEaList(eas).length,
    allocation: maxBig(
      allocationSize(a),
      a.type !== 'dir' && asked?.length === 8 ? asked.readBigUInt64LE(0) : 0n,
    ),
  };
}

export function fileTimes(a: Attributes, meta: Pick<SmbMeta, 'changeTime'>) {
  return {
    creationTime: nsToFiletime(a.btimeNs),
    lastAccessTime: nsToFiletime(a.atimeNs),
    lastWriteTime: nsToFiletime(a.mtimeNs),
    changeTime: meta.changeTime,
  };
}

const maxBig = (x: bigint, y: bigint) => (x > y ? x : y);

/** Records an AllocationSize (rounded to clusters) as a quiet xattr; 0 clears it. */
export async function writeAllocation(
  ns: Namespace,
  cred: Credential,
  ino: bigint,
  size: bigint,
): Promise<void> {
  const v = Buffer.alloc(8);
  v.writeBigUInt64LE(inClusters(size));
  await ns.setXattrs(cred, ino, { [ALLOCATION_XATTR]: size === 0n ? undefined : v }, { quiet: true });
}

/** Bytes on the store, in 4 KiB clusters (directories have none). */
export function allocationSize(a: Attributes): bigint {
  return a.type === 'dir' ? 0n : inClusters(a.size);
}

/** A size rounded up to whole 4 KiB clusters. */
export const inClusters = (size: bigint): bigint => ((size + 4095n) / 4096n) * 4096n;

/** Stores the settable bits; ARCHIVE alone on a file (the default) stores nothing. */
export async function writeDosAttributes(
  ns: Namespace,
  cred: Credential,
  a: Attributes,
  attrs: number,
): Promise<void> {
  const keep = attrs & SETTABLE_ATTRS;
  const isDefault = a.type === 'dir' ? keep === 0 : keep === ATTR.ARCHIVE;
  const current = await ns.getXattr(a.ino, DOS_ATTR_XATTR);
  if (isDefault && !current) return;
  const value = Buffer.alloc(4);
  value.writeUInt32LE(keep);
  if (current?.equals(value)) return;
  await ns.setXattrs(cred, a.ino, { [DOS_ATTR_XATTR]: isDefault ? undefined : value });
}

/** Records a client-set ChangeTime against the inode's current ctime (a quiet xattr: ctime stays). */
export async function writeChangeTime(
  ns: Namespace,
  cred: Credential,
  ino: bigint,
  filetime: bigint,
): Promise<void> {
  const a = await ns.getattr(ino);
  const v = Buffer.alloc(16);
  v.writeBigUInt64LE(filetime, 0);
  v.writeBigInt64LE(a.ctimeNs, 8);
  await ns.setXattrs(cred, ino, { [CHANGE_TIME_XATTR]: v }, { quiet: true });
}

/** Sets extended attributes; an empty value deletes one (MS-FSCC §2.4.15). */
export async function writeEas(
  ns: Namespace,
  cred: Credential,
  ino: bigint,
  eas: readonly ExtendedAttribute[],
): Promise<void> {
  if (eas.length === 0) return;
  const values: Record<string, Buffer | undefined> = {};
  for (const ea of eas)
    values[EA_PREFIX + ea.name.toUpperCase()] = ea.value.length > 0 ? ea.value : undefined;
  await ns.setXattrs(cred, ino, values);
}
