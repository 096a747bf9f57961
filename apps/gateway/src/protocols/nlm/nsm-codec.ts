import type { XdrReader } from '../xdr/reader.ts';
import type { XdrWriter } from '../xdr/writer.ts';

/** Network Status Monitor (X/Open XNFS chapter 11): program 100024 version 1. */
export const NSM_PROG = 100024;
export const NSM_VERS = 1;
export const SM_MAXSTRLEN = 1024;

export const NsmProc = {
  NULL: 0,
  STAT: 1,
  MON: 2,
  UNMON: 3,
  UNMON_ALL: 4,
  SIMU_CRASH: 5,
  NOTIFY: 6,
} as const;

/** res (sm_stat_res.res_stat). */
export const SmRes = { SUCC: 0, FAIL: 1 } as const;

export interface MyId {
  name: string;
  prog: number;
  vers: number;
  proc: number;
}

export interface MonId {
  monName: string;
  myId: MyId;
}

function smString(r: XdrReader, field: string): string {
  return r.opaque(SM_MAXSTRLEN, field).toString('latin1');
}

function decodeMyIdFields(r: XdrReader): MyId {
  return {
    name: smString(r, 'my_name'),
    prog: r.int32('my_prog'),
    vers: r.int32('my_vers'),
    proc: r.int32('my_proc'),
  };
}

function decodeMonIdFields(r: XdrReader): MonId {
  return { monName: smString(r, 'mon_name'), myId: decodeMyIdFields(r) };
}

/** sm_name (SM_STAT). */
export function decodeSmName(r: XdrReader): string {
  const name = smString(r, 'mon_name');
  r.end('sm_name');
  return name;
}

/** mon (SM_MON): mon_id and 16 private bytes. */
export function decodeMon(r: XdrReader): { id: MonId; priv: Buffer } {
  const id = decodeMonIdFields(r);
  const priv = r.fixedOpaque(16, 'priv');
  r.end('mon');
  return { id, priv };
}

/** mon_id (SM_UNMON). */
export function decodeMonId(r: XdrReader): MonId {
  const id = decodeMonIdFields(r);
  r.end('mon_id');
  return id;
}

/** my_id (SM_UNMON_ALL). */
export function decodeMyId(r: XdrReader): MyId {
  const id = decodeMyIdFields(r);
  r.end('my_id');
  return id;
}

/** stat_chge (SM_NOTIFY). */
export function decodeStatChange(r: XdrReader): { monName: string; state: number } {
  const monName = smString(r, 'mon_name');
  const state = r.int32('state');
  r.end('stat_chge');
  return { monName, state };
}

export function encodeStatRes(w: XdrWriter, res: number, state: number): void {
  w.uint32(res).int32(state);
}

export function encodeStat(w: XdrWriter, state: number): void {
  w.int32(state);
}
