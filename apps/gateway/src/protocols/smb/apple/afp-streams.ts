import type { Namespace } from '../../../storage/namespace.ts';
import type { Credential } from '../../../storage/types.ts';
import { NT_STATUS } from '../deps.ts';
import { SmbError } from '../errors.ts';
import { putStream, readStream, removeStream, sameStreamName, streamSize } from '../streams.ts';

/**
 * The two streams macOS keeps a file's Mac metadata in, with the rules Apple's own server
 * applies to them (and Samba's vfs_fruit copies), on a share with `apple_extensions`:
 *
 * - AFP_AfpInfo holds exactly 60 bytes: "AFP\0", version 1.0, a backup time and the 32 bytes
 *   of Finder info (type, creator, flags, label colour) at offset 16. It exists only once a
 *   valid one is written; opening it with OPEN_IF before that gives a handle that reads a
 *   default one and stores nothing unless written. Writing Finder info of all zeros deletes it.
 * - AFP_Resource, the resource fork, is an ordinary stream except that an empty one is not
 *   there (not listed, not opened), and a delete of a non-empty one is ignored: macOS deletes
 *   resource forks by truncating them.
 *
 * Elsewhere (and on other shares) both are ordinary named streams.
 */
export const AFP_INFO = 'AFP_AfpInfo';
export const AFP_RESOURCE = 'AFP_Resource';
export const AFP_INFO_SIZE = 60;
const FINDER_INFO_AT = 16;
const FINDER_INFO_SIZE = 32;
/** AFP's "never" (0x80000000 seconds before 2000-01-01, big-endian), for backup times. */
export const AFP_DATE_NEVER = 0x8000_0000;

export const isAfpInfo = (stream: string | undefined): boolean =>
  stream !== undefined && sameStreamName(stream, AFP_INFO);
export const isResourceFork = (stream: string | undefined): boolean =>
  stream !== undefined && sameStreamName(stream, AFP_RESOURCE);

/** The AfpInfo of a file that has none: signature, version 1.0, never backed up, no Finder info. */
export function defaultAfpInfo(): Buffer {
  const b = Buffer.alloc(AFP_INFO_SIZE);
  b.write('AFP\0', 0, 'latin1');
  b.writeUInt32BE(0x0000_0100, 4);
  b.writeUInt32BE(AFP_DATE_NEVER, 12);
  return b;
}

/** The stored AfpInfo, or undefined when there is none or it is not 60 bytes (then it is not there). */
export async function storedAfpInfo(ns: Namespace, ino: bigint): Promise<Buffer | undefined> {
  const data = await readStream(ns, ino, AFP_INFO, 0n, AFP_INFO_SIZE + 1);
  return data.length === AFP_INFO_SIZE ? data : undefined;
}

/** The 32 bytes of Finder info of a stored AfpInfo. */
export const finderInfo = (afpInfo: Buffer): Buffer =>
  afpInfo.subarray(FINDER_INFO_AT, FINDER_INFO_AT + FINDER_INFO_SIZE);

/** A stream listing's entry is shown: AfpInfo only when valid, a resource fork only when not empty. */
export function listed(name: string, size: number): boolean {
  if (isAfpInfo(name)) return size === AFP_INFO_SIZE;
  if (isResourceFork(name)) return size > 0;
  return true;
}

/**
 * A READ of AFP_AfpInfo: macOS reads it whole, so any offset up to 60 reads from 0 (Apple's
 * server is off by one, and Samba with it) and a later one reads nothing.
 */
export async function readAfpInfo(
  ns: Namespace,
  ino: bigint,
  offset: bigint,
  length: number,
): Promise<Buffer> {
  if (offset > BigInt(AFP_INFO_SIZE)) return Buffer.alloc(0);
  const info = (await storedAfpInfo(ns, ino)) ?? defaultAfpInfo();
  return info.subarray(0, Math.min(length, AFP_INFO_SIZE));
}

/**
 * A WRITE to AFP_AfpInfo. It must start with "AFP" and, away from offset 0, be a whole one;
 * else STATUS_INVALID_PARAMETER and nothing changes. One of 16 bytes or fewer has no Finder
 * info and changes nothing; any other replaces the whole stream with its first 60 bytes
 * (zeros after a short one), and Finder info of all zeros deletes it, as on a Mac.
 */
export async function writeAfpInfo(
  ns: Namespace,
  cred: Credential,
  ino: bigint,
  offset: bigint,
  data: Buffer,
): Promise<void> {
  const bad = (why: string) => new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, `AFP_AfpInfo: ${why}`);
  if (data.length < 3) throw bad('a write of fewer than 3 bytes');
  if (offset !== 0n && data.length < AFP_INFO_SIZE) throw bad('a partial write away from offset 0');
  if (data.subarray(0, 3).toString('latin1') !== 'AFP') throw bad('no AFP signature');
  if (data.length <= FINDER_INFO_AT) return;
  const info = Buffer.alloc(AFP_INFO_SIZE);
  data.copy(info, 0, 0, AFP_INFO_SIZE);
  if (finderInfo(info).every((b) => b === 0)) await removeStream(ns, cred, ino, AFP_INFO);
  else await putStream(ns, cred, ino, AFP_INFO, info);
}

/**
 * A new end of file for AFP_AfpInfo: it cannot grow past 60 bytes (STATUS_ALLOTTED_SPACE_EXCEEDED,
 * as on a Mac) and any other size changes nothing.
 */
export function resizeAfpInfo(size: bigint): void {
  if (size > BigInt(AFP_INFO_SIZE))
    throw new SmbError(NT_STATUS.STATUS_ALLOTTED_SPACE_EXCEEDED, 'AFP_AfpInfo holds 60 bytes');
}

/** Which of Apple's streams an open is, when its share keeps Apple's rules. */
export function afpStreamOf(open: {
  stream?: string | undefined;
  tree: { share: { apple: boolean } };
}): 'info' | 'resource' | undefined {
  if (!open.tree.share.apple) return undefined;
  if (isAfpInfo(open.stream)) return 'info';
  if (isResourceFork(open.stream)) return 'resource';
  return undefined;
}

/** The size an open of a named stream reports: an AfpInfo's is always 60, stored or not. */
export async function openStreamSize(
  ns: Namespace,
  open: { ino: bigint; stream?: string | undefined; tree: { share: { apple: boolean } } },
): Promise<bigint> {
  if (afpStreamOf(open) === 'info') return BigInt(AFP_INFO_SIZE);
  return streamSize(ns, open.ino, open.stream!);
}
