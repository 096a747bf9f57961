import type { Attributes } from '../../../storage/types.ts';
import type { NfsErrorStatus } from './constants.ts';

/** nfstime3 (RFC 1813 §2.5). */
export interface NfsTime {
  readonly seconds: number;
  readonly nseconds: number;
}

/** fattr3 material: the namespace attributes plus the export's fsid (RFC 1813 §2.5). */
export interface Fattr3 {
  readonly attrs: Attributes;
  readonly fsid: bigint;
}

/** post_op_attr: absent when the attributes could not be had. */
export type PostOpAttr = Fattr3 | undefined;

/** pre_op_attr / wcc_attr: what the object looked like before the change. */
export type PreOpAttr =
  | { readonly size: bigint; readonly mtimeNs: bigint; readonly ctimeNs: bigint }
  | undefined;

/** wcc_data (RFC 1813 §2.6). */
export interface WccData {
  readonly before: PreOpAttr;
  readonly after: PostOpAttr;
}

export const NO_WCC: WccData = { before: undefined, after: undefined };

/** diropargs3. */
export interface DirOpArgs {
  readonly dir: Buffer;
  readonly name: string;
}

/** A time in sattr3: leave it, the server's clock, or the client's value. */
export type SetTime = 'server' | NfsTime;

/** sattr3 (RFC 1813 §2.5): only the fields the client asked to set are present. */
export interface Sattr3 {
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly size?: bigint;
  readonly atime?: SetTime;
  readonly mtime?: SetTime;
}

/** Every procedure's result: a success body, or a status with the failure body. */
export type Result<Ok, Fail> =
  | ({ readonly ok: true } & Ok)
  | ({ readonly ok: false; readonly status: NfsErrorStatus } & Fail);
