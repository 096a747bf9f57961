/**
 * One row per procedure of the golden session's two programs: its name, how its arguments
 * read as one line of text (RFC 1813 §3.3 for NFSv3, appendix I for MOUNT — written from the
 * RFC, independently of the server's codec), and how its results are read (nfs-v3/wire.ts's
 * decoders, equally independent). Each reader consumes exactly its part of the record.
 */
import type { XdrReader } from '../../src/protocols/xdr/reader.ts';
import { R } from '../nfs-v3/wire.ts';
import type { Service } from './session.ts';

export interface ProcedureRow {
  proc: number;
  name: string;
  /** The arguments as text, e.g. `fh(ino 5) "small.txt"`. */
  args: (r: XdrReader) => string;
  results: (r: XdrReader) => unknown;
}

/** Handles are opaque to clients; shown by the inode they carry (layout: nfs/v3/handle.ts). */
function fh(r: XdrReader, field = 'fh'): string {
  const h = r.opaque(64, field);
  return h.length === 40 && h[0] === 1 ? `fh(ino ${h.readBigUInt64BE(12)})` : `fh(${h.toString('hex')})`;
}

const text = (r: XdrReader, field = 'name') => JSON.stringify(r.string(1024, field));
const dirop = (r: XdrReader) => `${fh(r, 'dir')} ${text(r)}`;
const time = (r: XdrReader, field: string) => `${r.uint32(`${field}.s`)}.${r.uint32(`${field}.ns`)}`;
const none = () => '';
const nothing = () => undefined;

function sattr(r: XdrReader): string {
  const set: string[] = [];
  for (const f of ['mode', 'uid', 'gid'] as const) {
    if (r.bool(`set_${f}`)) {
      const v = r.uint32(f);
      set.push(f === 'mode' ? `mode=0${v.toString(8)}` : `${f}=${v}`);
    }
  }
  if (r.bool('set_size')) set.push(`size=${r.uint64('size')}`);
  for (const f of ['atime', 'mtime'] as const) {
    const how = r.uint32(`set_${f}`);
    if (how === 1) set.push(`${f}=server`);
    else if (how === 2) set.push(`${f}=${time(r, f)}`);
    else if (how !== 0) set.push(`${f}=?${how}`);
  }
  return `{${set.join(' ')}}`;
}

const STABLE = ['UNSTABLE', 'DATA_SYNC', 'FILE_SYNC'];
const CREATE_MODE = ['UNCHECKED', 'GUARDED', 'EXCLUSIVE'];
const verf = (r: XdrReader) => r.fixedOpaque(8, 'verf').toString('hex');
const range = (r: XdrReader) => `offset=${r.uint64('offset')} count=${r.uint32('count')}`;

const NFS3: readonly ProcedureRow[] = [
  { proc: 0, name: 'NULL', args: none, results: nothing },
  { proc: 1, name: 'GETATTR', args: fh, results: R.getattr },
  {
    proc: 2,
    name: 'SETATTR',
    args: (r) => {
      const head = `${fh(r)} ${sattr(r)}`;
      return r.bool('guard.check') ? `${head} guard=${time(r, 'guard')}` : head;
    },
    results: R.wccOnly,
  },
  { proc: 3, name: 'LOOKUP', args: dirop, results: R.lookup },
  {
    proc: 4,
    name: 'ACCESS',
    args: (r) => `${fh(r)} access=0x${r.uint32('access').toString(16)}`,
    results: R.access,
  },
  { proc: 5, name: 'READLINK', args: fh, results: R.readlink },
  { proc: 6, name: 'READ', args: (r) => `${fh(r)} ${range(r)}`, results: R.read },
  {
    proc: 7,
    name: 'WRITE',
    args: (r) => {
      const head = `${fh(r)} ${range(r)}`;
      const stable = r.uint32('stable');
      return `${head} ${STABLE[stable] ?? stable} data=${r.opaque(64 << 20, 'data').length}B`;
    },
    results: R.write,
  },
  {
    proc: 8,
    name: 'CREATE',
    args: (r) => {
      const where = dirop(r);
      const mode = r.uint32('createhow.mode');
      const how = mode === 2 ? `verf=${verf(r)}` : mode <= 1 ? sattr(r) : '';
      return `${where} ${CREATE_MODE[mode] ?? mode} ${how}`;
    },
    results: R.newObject,
  },
  { proc: 9, name: 'MKDIR', args: (r) => `${dirop(r)} ${sattr(r)}`, results: R.newObject },
  {
    proc: 10,
    name: 'SYMLINK',
    args: (r) => `${dirop(r)} ${sattr(r)} -> ${text(r, 'symlink_data')}`,
    results: R.newObject,
  },
  {
    proc: 11,
    name: 'MKNOD',
    args: (r) => {
      const where = dirop(r);
      const type = r.uint32('type');
      if (type === 3 || type === 4) return `${where} type=${type} ${sattr(r)} rdev=${time(r, 'spec')}`;
      return type === 6 || type === 7 ? `${where} type=${type} ${sattr(r)}` : `${where} type=${type}`;
    },
    results: R.newObject,
  },
  { proc: 12, name: 'REMOVE', args: dirop, results: R.wccOnly },
  { proc: 13, name: 'RMDIR', args: dirop, results: R.wccOnly },
  { proc: 14, name: 'RENAME', args: (r) => `${dirop(r)} to ${dirop(r)}`, results: R.rename },
  { proc: 15, name: 'LINK', args: (r) => `${fh(r)} as ${dirop(r)}`, results: R.link },
  {
    proc: 16,
    name: 'READDIR',
    args: (r) => `${fh(r)} cookie=${r.uint64('cookie')} verf=${verf(r)} count=${r.uint32('count')}`,
    results: R.readdir,
  },
  {
    proc: 17,
    name: 'READDIRPLUS',
    args: (r) =>
      `${fh(r)} cookie=${r.uint64('cookie')} verf=${verf(r)} dircount=${r.uint32('dircount')} maxcount=${r.uint32('maxcount')}`,
    results: R.readdirplus,
  },
  { proc: 18, name: 'FSSTAT', args: fh, results: R.fsstat },
  { proc: 19, name: 'FSINFO', args: fh, results: R.fsinfo },
  { proc: 20, name: 'PATHCONF', args: fh, results: R.pathconf },
  { proc: 21, name: 'COMMIT', args: (r) => `${fh(r)} ${range(r)}`, results: R.commit },
];

const MOUNT3: readonly ProcedureRow[] = [
  { proc: 0, name: 'NULL', args: none, results: nothing },
  {
    proc: 1,
    name: 'MNT',
    args: (r) => text(r, 'dirpath'),
    results: (r) => {
      if (r.uint32('mountstat3') !== 0) return;
      r.opaque(64, 'fhandle');
      r.array(64, 'auth_flavors', () => r.uint32('auth_flavor'));
    },
  },
  {
    proc: 2,
    name: 'DUMP',
    args: none,
    results: (r) => {
      while (r.bool('mountlist.follows')) {
        r.string(255, 'ml_hostname');
        r.string(1024, 'ml_directory');
      }
    },
  },
  { proc: 3, name: 'UMNT', args: (r) => text(r, 'dirpath'), results: nothing },
  { proc: 4, name: 'UMNTALL', args: none, results: nothing },
  {
    proc: 5,
    name: 'EXPORT',
    args: none,
    results: (r) => {
      while (r.bool('exports.follows')) {
        r.string(1024, 'ex_dir');
        while (r.bool('groups.follows')) r.string(255, 'gr_name');
      }
    },
  },
];

export const PROGRAM_OF: Readonly<Record<Service, number>> = { NFS: 100003, MOUNT: 100005 };

/** The row of a procedure; throws for one the golden session cannot read. */
export function procedure(service: Service, proc: number): ProcedureRow {
  const row = (service === 'NFS' ? NFS3 : MOUNT3).find((p) => p.proc === proc);
  if (!row) throw new Error(`no ${service} procedure ${proc}`);
  return row;
}
