import { STREAM_XATTR_PREFIX } from '../../storage/annotations.ts';
import type { Namespace } from '../../storage/namespace.ts';
import type { Credential } from '../../storage/types.ts';
import { NT_STATUS } from './deps.ts';
import { SmbError } from './errors.ts';

/**
 * Named streams ("file:name:$DATA", MS-FSCC §2.1.4) live in the file's xattrs, one each under
 * `stream.<name>` (STREAM_XATTR_PREFIX) holding the stream's bytes, as Samba's vfs_streams_xattr
 * keeps them in `user.DosStream.*`: Windows' Zone.Identifier, macOS's Finder info and extended
 * attributes, an application's side data. The namespace reads them one at a time and never with
 * the file's attributes, so listing a directory does not load them. They go with the inode (a
 * delete, an S3 overwrite, which makes a new one) and are SMB's alone: NFS and S3 see the file's
 * unnamed stream. Names ignore case and keep the case they were created with.
 *
 * A stream holds at most STREAM_MAX bytes (16 times Samba's default `smbd max xattr size`, which
 * Linux's xattrs impose on it), since each write rewrites it whole; a write past it is
 * STATUS_DISK_FULL.
 */
export const STREAM_MAX = 1024 * 1024;

const keyOf = (name: string) => STREAM_XATTR_PREFIX + name;
export const sameStreamName = (a: string, b: string): boolean =>
  a.length === b.length && a.toUpperCase() === b.toUpperCase();

/** The stream of that name, whatever its case: its name as created and its size. */
export async function findStream(
  ns: Namespace,
  ino: bigint,
  name: string,
): Promise<{ name: string; size: number } | undefined> {
  return (await ns.listStreams(ino)).find((s) => sameStreamName(s.name, name));
}

/** The stream's size, from the store's listing (its bytes are not read); 0 once it is gone. */
export async function streamSize(ns: Namespace, ino: bigint, name: string): Promise<bigint> {
  return BigInt((await findStream(ns, ino, name))?.size ?? 0);
}

/** The stream's bytes (empty when it was removed meanwhile). */
export async function streamData(ns: Namespace, ino: bigint, name: string): Promise<Buffer> {
  return (await ns.getXattr(ino, keyOf(name))) ?? Buffer.alloc(0);
}

function checkSize(size: bigint, name: string): number {
  if (size > BigInt(STREAM_MAX))
    throw new SmbError(
      NT_STATUS.STATUS_DISK_FULL,
      `named stream ${name} would hold ${size} bytes, over the ${STREAM_MAX} a named stream holds`,
    );
  return Number(size);
}

/** Sets the stream's bytes, creating it. */
export async function putStream(
  ns: Namespace,
  cred: Credential,
  ino: bigint,
  name: string,
  data: Buffer,
): Promise<void> {
  checkSize(BigInt(data.length), name);
  await ns.setXattrs(cred, ino, { [keyOf(name)]: data });
}

/** Per namespace, the last read-modify-write of each stream (`ino:NAME`) still running. */
const rewrites = new WeakMap<Namespace, Map<string, Promise<void>>>();

/**
 * Runs a read-modify-write of a stream after the ones before it: a client's WRITEs in flight
 * together (smbclient and Windows keep several outstanding) would otherwise each rewrite the
 * stream from the same old bytes, and all but the last would be lost.
 */
function rewrite(ns: Namespace, ino: bigint, name: string, change: () => Promise<void>): Promise<void> {
  let byStream = rewrites.get(ns);
  if (!byStream) {
    byStream = new Map();
    rewrites.set(ns, byStream);
  }
  const key = `${ino}:${name.toUpperCase()}`;
  const done = (byStream.get(key) ?? Promise.resolve()).then(change, change);
  const tail = done.catch(() => undefined);
  byStream.set(key, tail);
  void tail.then(() => {
    if (byStream.get(key) === tail) byStream.delete(key);
  });
  return done;
}

/** Writes `bytes` at `offset`, the gap before them (if any) zeros; writing nothing extends nothing. */
export async function writeStream(
  ns: Namespace,
  cred: Credential,
  ino: bigint,
  name: string,
  offset: bigint,
  bytes: Buffer,
): Promise<void> {
  const end = checkSize(offset + BigInt(bytes.length), name);
  if (bytes.length === 0) return;
  await rewrite(ns, ino, name, async () => {
    const now = await streamData(ns, ino, name);
    const next = Buffer.alloc(Math.max(end, now.length));
    now.copy(next);
    bytes.copy(next, Number(offset));
    await ns.setXattrs(cred, ino, { [keyOf(name)]: next });
  });
}

/** Cuts or extends (with zeros) the stream to `size` bytes. */
export async function resizeStream(
  ns: Namespace,
  cred: Credential,
  ino: bigint,
  name: string,
  size: bigint,
): Promise<void> {
  const n = checkSize(size, name);
  await rewrite(ns, ino, name, async () => {
    const now = await streamData(ns, ino, name);
    if (now.length === n) return;
    const next = Buffer.alloc(n);
    now.copy(next, 0, 0, Math.min(n, now.length));
    await ns.setXattrs(cred, ino, { [keyOf(name)]: next });
  });
}

export async function removeStream(
  ns: Namespace,
  cred: Credential,
  ino: bigint,
  name: string,
): Promise<void> {
  await ns.setXattrs(cred, ino, { [keyOf(name)]: undefined });
}

/** Removes every named stream: the unnamed one was overwritten (MS-FSA §2.1.5.1.2.1). */
export async function removeAllStreams(ns: Namespace, cred: Credential, ino: bigint): Promise<void> {
  const values: Record<string, undefined> = {};
  for (const s of await ns.listStreams(ino)) values[keyOf(s.name)] = undefined;
  if (Object.keys(values).length > 0) await ns.setXattrs(cred, ino, values);
}

/** Moves a stream's bytes to another name (replacing a stream there) in one change. */
export async function renameStream(
  ns: Namespace,
  cred: Credential,
  ino: bigint,
  from: string,
  to: string,
  replaced: string | undefined,
): Promise<void> {
  const data = await streamData(ns, ino, from);
  const values: Record<string, Buffer | undefined> = { [keyOf(from)]: undefined };
  if (replaced !== undefined) values[keyOf(replaced)] = undefined;
  values[keyOf(to)] = data;
  await ns.setXattrs(cred, ino, values);
}
