import type { XdrWriter } from '../../../xdr/writer.ts';
import { encodePostOpAttr, encodePostOpFh, encodeWcc } from '../codec/attrs.ts';
import { Nfsstat3 } from '../constants.ts';
import type { PostOpAttr, Result, WccData } from '../types.ts';

/** Result shapes several procedures share. */

export function encodeStatus(w: XdrWriter, res: { ok: true } | { ok: false; status: number }): void {
  w.uint32(res.ok ? Nfsstat3.OK : res.status);
}

/** SETATTR, REMOVE, RMDIR: wcc_data of one object in both arms. */
export type WccRes = Result<{ wcc: WccData }, { wcc: WccData }>;

export function encodeWccRes(w: XdrWriter, res: WccRes): void {
  encodeStatus(w, res);
  encodeWcc(w, res.wcc);
}

/** Failure arm of most read-side procedures: post_op_attr of the object. */
export interface PostOpFail {
  attrs: PostOpAttr;
}

/** CREATE, MKDIR, SYMLINK, MKNOD (diropres3-like): the new object, then the directory's wcc_data. */
export type NewObjectRes = Result<{ fh: Buffer; attrs: PostOpAttr; dirWcc: WccData }, { dirWcc: WccData }>;

export function encodeNewObjectRes(w: XdrWriter, res: NewObjectRes): void {
  encodeStatus(w, res);
  if (res.ok) {
    encodePostOpFh(w, res.fh);
    encodePostOpAttr(w, res.attrs);
  }
  encodeWcc(w, res.dirWcc);
}
