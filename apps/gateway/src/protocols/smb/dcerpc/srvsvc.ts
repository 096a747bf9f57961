import type { OpResult, RpcInterface } from './interface.ts';
import { NdrReader, NdrWriter } from './ndr.ts';

const NETR_SHARE_ENUM = 15;
const NETR_SHARE_GET_INFO = 16;

const STYPE_DISKTREE = 0x0000_0000;
const STYPE_IPC_HIDDEN = 0x8000_0003;
const WERR_OK = 0;
const WERR_UNKNOWN_LEVEL = 124;
const WERR_INVALID_NAME = 123;
/** NERR_NetNameNotFound. */
const WERR_NET_NAME_NOT_FOUND = 2310;

export interface ShareListing {
  name: string;
  remark: string;
  ipc: boolean;
  path: string;
}

/**
 * srvsvc (MS-SRVS, 4b324fc8-1670-01d3-1278-5a47bf6ee188 v3.0): NetrShareEnum (`smbclient -L`,
 * `net view`) and NetrShareGetInfo.
 */
export function srvsvc(shares: readonly ShareListing[]): RpcInterface {
  return {
    uuid: '4b324fc8-1670-01d3-1278-5a47bf6ee188',
    version: 3,
    call(opnum, stub): OpResult {
      try {
        if (opnum === NETR_SHARE_ENUM) return { stub: shareEnum(stub, shares) };
        if (opnum === NETR_SHARE_GET_INFO) return { stub: shareGetInfo(stub, shares) };
        return { fault: 'op_rng_error' };
      } catch {
        return { fault: 'protocol_error' };
      }
    },
  };
}

const typeOf = (s: ShareListing) => (s.ipc ? STYPE_IPC_HIDDEN : STYPE_DISKTREE);
const pathOf = (s: ShareListing) => (s.ipc ? '' : `C:${s.path.replaceAll('/', '\\')}`);

/** SHARE_INFO_0/1/2 fixed parts, then each entry's deferred strings (MS-SRVS §2.2.4.22–24). */
function writeInfo(w: NdrWriter, level: number, s: ShareListing): void {
  w.pointer(true);
  if (level >= 1) w.u32(typeOf(s)).pointer(true);
  if (level === 2) w.u32(0).u32(0xffff_ffff).u32(0).pointer(true).pointer(false);
}

function writeStrings(w: NdrWriter, level: number, s: ShareListing): void {
  w.string(s.name);
  if (level >= 1) w.string(s.remark);
  if (level === 2) w.string(pathOf(s));
}

/** NetrShareEnum (opnum 15, MS-SRVS §3.1.4.8). */
function shareEnum(stub: Buffer, shares: readonly ShareListing[]): Buffer {
  const r = new NdrReader(stub);
  if (r.u32('ServerName')) r.string('ServerName');
  const level = r.u32('InfoStruct.Level');
  r.u32('InfoStruct.Switch');
  if (r.u32('InfoStruct.Container')) {
    r.u32('EntriesRead');
    r.u32('Buffer');
  }
  r.u32('PreferedMaximumLength');
  const hasResume = r.u32('ResumeHandle') !== 0;
  if (hasResume) r.u32('ResumeHandle.Value');

  const w = new NdrWriter();
  w.u32(level).u32(level);
  if (level !== 0 && level !== 1 && level !== 2) {
    w.pointer(false).u32(0).pointer(false).u32(WERR_UNKNOWN_LEVEL);
    return w.finish();
  }
  w.pointer(true);
  w.u32(shares.length).pointer(shares.length > 0);
  if (shares.length > 0) {
    w.u32(shares.length);
    for (const s of shares) writeInfo(w, level, s);
    for (const s of shares) writeStrings(w, level, s);
  }
  w.u32(shares.length);
  if (hasResume) w.pointer(true).u32(0);
  else w.pointer(false);
  w.u32(WERR_OK);
  return w.finish();
}

/** NetrShareGetInfo (opnum 16, MS-SRVS §3.1.4.10). */
function shareGetInfo(stub: Buffer, shares: readonly ShareListing[]): Buffer {
  const r = new NdrReader(stub);
  if (r.u32('ServerName')) r.string('ServerName');
  const name = r.string('NetName');
  const level = r.u32('Level');
  const w = new NdrWriter();
  const share = shares.find((s) => s.name.toUpperCase() === name.toUpperCase());
  const status = !share
    ? WERR_NET_NAME_NOT_FOUND
    : level > 2
      ? WERR_UNKNOWN_LEVEL
      : name === ''
        ? WERR_INVALID_NAME
        : WERR_OK;
  w.u32(level);
  if (status !== WERR_OK || !share) {
    w.pointer(false).u32(status);
    return w.finish();
  }
  w.pointer(true);
  writeInfo(w, level, share);
  writeStrings(w, level, share);
  w.u32(WERR_OK);
  return w.finish();
}
