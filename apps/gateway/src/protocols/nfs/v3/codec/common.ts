import type { XdrReader } from '../../../xdr/reader.ts';
import type { XdrWriter } from '../../../xdr/writer.ts';
import { NFS3_FHSIZE } from '../constants.ts';
import type { DirOpArgs, NfsTime } from '../types.ts';

/** Longest filename3 / nfspath3 decoded; the namespace answers NAMETOOLONG past its own limits. */
export const MAX_NAME_BYTES = 4096;
/**
 * Longest SYMLINK target decoded (nfspath3 has no bound of its own): past PATH_MAX, so a long
 * target is answered NAMETOOLONG by the namespace rather than refused as GARBAGE_ARGS.
 */
export const MAX_SYMLINK_DATA_BYTES = 64 * 1024;

/** nfs_fh3: opaque<NFS3_FHSIZE>. Its contents are checked later (BADHANDLE / STALE are statuses). */
export function decodeFh(r: XdrReader, field: string): Buffer {
  return r.opaque(NFS3_FHSIZE, field);
}

/**
 * filename3 / nfspath3. Names are bytes on the wire; the namespace holds UTF-8. Bytes that are
 * not UTF-8 decode to a string with a NUL, a name the namespace refuses with EINVAL — so the
 * client gets NFS3ERR_INVAL (a status with its wcc data), not GARBAGE_ARGS.
 */
export function decodeName(r: XdrReader, field: string, max = MAX_NAME_BYTES): string {
  const bytes = r.opaque(max, field);
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : `\0${text}`;
}

/**
 * diropargs3's field names by the field holding them, made once: the decoders name a handful of
 * constant fields, and a name built at every LOOKUP or CREATE would be garbage at every one.
 */
const DIR_OP_NAMES = new Map<string, { dir: string; name: string }>();

export function decodeDirOpArgs(r: XdrReader, field: string): DirOpArgs {
  let names = DIR_OP_NAMES.get(field);
  if (!names) {
    names = { dir: `${field}.dir`, name: `${field}.name` };
    DIR_OP_NAMES.set(field, names);
  }
  return { dir: decodeFh(r, names.dir), name: decodeName(r, names.name) };
}

export function decodeNfsTime(r: XdrReader, field: string): NfsTime {
  return { seconds: r.uint32(`${field}.seconds`), nseconds: r.uint32(`${field}.nseconds`) };
}

const NS = 1_000_000_000n;
const MAX_SECONDS = 0xffff_ffffn;

/** nfstime3 from integer nanoseconds (clamped to what 32-bit seconds can say). */
export function encodeNfsTime(w: XdrWriter, ns: bigint): void {
  if (ns < 0n) {
    w.uint32(0).uint32(0);
    return;
  }
  const seconds = ns / NS;
  if (seconds > MAX_SECONDS) {
    w.uint32(0xffff_ffff).uint32(999_999_999);
    return;
  }
  w.uint32(Number(seconds)).uint32(Number(ns - seconds * NS));
}

export function nfsTimeToNs(t: NfsTime): bigint {
  return BigInt(t.seconds) * NS + BigInt(t.nseconds);
}

/** Fixed-size opaque verifiers (cookieverf3, createverf3, writeverf3): 8 bytes. */
export function decodeVerifier(r: XdrReader, field: string): Buffer {
  return r.fixedOpaque(8, field);
}
