import type { XdrReader } from '../xdr/reader.ts';
import type { XdrWriter } from '../xdr/writer.ts';

/** MOUNT protocol version 3 (RFC 1813 appendix I); versions 1 and 2 share DUMP, UMNT, UMNTALL, EXPORT. */
export const MOUNT_PROG = 100005;
export const MNTPATHLEN = 1024;
export const MNTNAMLEN = 255;
export const FHSIZE3 = 64;

export const MountProc = { NULL: 0, MNT: 1, DUMP: 2, UMNT: 3, UMNTALL: 4, EXPORT: 5 } as const;

/** mountstat3 (RFC 1813 appendix I). */
export const Mountstat3 = {
  OK: 0,
  PERM: 1,
  NOENT: 2,
  IO: 5,
  ACCES: 13,
  NOTDIR: 20,
  INVAL: 22,
  NAMETOOLONG: 63,
  NOTSUPP: 10004,
  SERVERFAULT: 10006,
} as const;
export type Mountstat3 = (typeof Mountstat3)[keyof typeof Mountstat3];

const NAMES = new Map<number, string>(
  Object.entries(Mountstat3).map(([k, v]) => [v, v === 0 ? 'MNT3_OK' : `MNT3ERR_${k}`]),
);

export function mountstatName(status: number): string {
  return NAMES.get(status) ?? `MNT3ERR_${status}`;
}

/** AUTH_SYS: the only flavour MNT offers (RFC 1813 §5.2.1). */
export const MNT_AUTH_FLAVORS = [1];

/** MNT and UMNT arguments: one dirpath, nothing after it. */
export function decodeDirpath(r: XdrReader): string {
  const path = r.string(MNTPATHLEN, 'dirpath');
  r.end('dirpath args');
  return path;
}

export function decodeVoid(r: XdrReader): void {
  r.end('void args');
}

export type MountResult =
  | { status: typeof Mountstat3.OK; fhandle: Buffer; authFlavors: number[] }
  | { status: Exclude<Mountstat3, typeof Mountstat3.OK> };

/** mountres3. */
export function encodeMountResult(w: XdrWriter, res: MountResult): void {
  w.uint32(res.status);
  if (res.status !== Mountstat3.OK) return;
  w.opaque(res.fhandle).uint32(res.authFlavors.length);
  for (const f of res.authFlavors) w.uint32(f);
}

export interface ExportEntry {
  dir: string;
  groups: string[];
}

/** exports: a linked list of exportnode, each with its linked list of groupnode. */
export function encodeExports(w: XdrWriter, list: readonly ExportEntry[]): void {
  for (const e of list) {
    w.bool(true).string(e.dir);
    for (const g of e.groups) w.bool(true).string(g);
    w.bool(false);
  }
  w.bool(false);
}

export interface MountEntry {
  host: string;
  dir: string;
}

/** mountlist: a linked list of mountbody. */
export function encodeMountList(w: XdrWriter, list: readonly MountEntry[]): void {
  for (const m of list) w.bool(true).string(m.host).string(m.dir);
  w.bool(false);
}
