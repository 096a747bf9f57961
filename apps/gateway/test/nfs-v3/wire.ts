/**
 * The client side of NFSv3's XDR for tests: argument encoders and reply decoders written
 * from RFC 1813 independently of the server's codec, so a mistake is not mirrored.
 */
import { XdrReader } from '../../src/protocols/xdr/reader.ts';
import { XdrWriter } from '../../src/protocols/xdr/writer.ts';

export interface Fattr {
  type: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  size: bigint;
  used: bigint;
  rdev: [number, number];
  fsid: bigint;
  fileid: bigint;
  atime: [number, number];
  mtime: [number, number];
  ctime: [number, number];
}

export interface Wcc {
  before?: { size: bigint; mtime: [number, number]; ctime: [number, number] };
  after?: Fattr;
}

// ---- arguments -------------------------------------------------------------------------------

export type Args = (w: XdrWriter) => void;

export function encode(args: Args): Buffer {
  const w = new XdrWriter();
  args(w);
  return w.toBuffer();
}

export const fh = (w: XdrWriter, h: Buffer) => w.opaque(h);
export const dirop = (w: XdrWriter, dir: Buffer, name: string) => w.opaque(dir).string(name);

export interface SattrIn {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: bigint;
  atime?: 'server' | [number, number];
  mtime?: 'server' | [number, number];
}

export function sattr(w: XdrWriter, s: SattrIn = {}): void {
  for (const v of [s.mode, s.uid, s.gid]) {
    if (v === undefined) w.bool(false);
    else w.bool(true).uint32(v);
  }
  if (s.size === undefined) w.bool(false);
  else w.bool(true).uint64(s.size);
  for (const t of [s.atime, s.mtime]) {
    if (t === undefined) w.uint32(0);
    else if (t === 'server') w.uint32(1);
    else w.uint32(2).uint32(t[0]).uint32(t[1]);
  }
}

export const A = {
  getattr:
    (h: Buffer): Args =>
    (w) =>
      fh(w, h),
  setattr:
    (h: Buffer, s: SattrIn, guard?: [number, number]): Args =>
    (w) => {
      fh(w, h);
      sattr(w, s);
      if (guard) w.bool(true).uint32(guard[0]).uint32(guard[1]);
      else w.bool(false);
    },
  lookup:
    (dir: Buffer, name: string): Args =>
    (w) =>
      dirop(w, dir, name),
  access:
    (h: Buffer, bits: number): Args =>
    (w) =>
      fh(w, h).uint32(bits),
  readlink:
    (h: Buffer): Args =>
    (w) =>
      fh(w, h),
  read:
    (h: Buffer, offset: bigint, count: number): Args =>
    (w) =>
      fh(w, h).uint64(offset).uint32(count),
  write:
    (h: Buffer, offset: bigint, data: Buffer, stable = 2, count = data.length): Args =>
    (w) =>
      fh(w, h).uint64(offset).uint32(count).uint32(stable).opaque(data),
  create:
    (dir: Buffer, name: string, how: 'unchecked' | 'guarded' | Buffer, s: SattrIn = {}): Args =>
    (w) => {
      dirop(w, dir, name);
      if (Buffer.isBuffer(how)) w.uint32(2).fixedOpaque(how);
      else {
        w.uint32(how === 'unchecked' ? 0 : 1);
        sattr(w, s);
      }
    },
  mkdir:
    (dir: Buffer, name: string, s: SattrIn = {}): Args =>
    (w) => {
      dirop(w, dir, name);
      sattr(w, s);
    },
  symlink:
    (dir: Buffer, name: string, target: string, s: SattrIn = {}): Args =>
    (w) => {
      dirop(w, dir, name);
      sattr(w, s);
      w.string(target);
    },
  mknod:
    (dir: Buffer, name: string, type: number, s: SattrIn = {}): Args =>
    (w) => {
      dirop(w, dir, name);
      w.uint32(type);
      if (type === 3 || type === 4) {
        sattr(w, s);
        w.uint32(1).uint32(2);
      } else if (type === 6 || type === 7) sattr(w, s);
    },
  remove:
    (dir: Buffer, name: string): Args =>
    (w) =>
      dirop(w, dir, name),
  rmdir:
    (dir: Buffer, name: string): Args =>
    (w) =>
      dirop(w, dir, name),
  rename:
    (fromDir: Buffer, from: string, toDir: Buffer, to: string): Args =>
    (w) => {
      dirop(w, fromDir, from);
      dirop(w, toDir, to);
    },
  link:
    (file: Buffer, dir: Buffer, name: string): Args =>
    (w) =>
      dirop(fh(w, file), dir, name),
  readdir:
    (dir: Buffer, cookie: bigint, verf: Buffer, count: number): Args =>
    (w) =>
      fh(w, dir).uint64(cookie).fixedOpaque(verf).uint32(count),
  readdirplus:
    (dir: Buffer, cookie: bigint, verf: Buffer, dircount: number, maxcount: number): Args =>
    (w) =>
      fh(w, dir).uint64(cookie).fixedOpaque(verf).uint32(dircount).uint32(maxcount),
  fsstat:
    (h: Buffer): Args =>
    (w) =>
      fh(w, h),
  fsinfo:
    (h: Buffer): Args =>
    (w) =>
      fh(w, h),
  pathconf:
    (h: Buffer): Args =>
    (w) =>
      fh(w, h),
  commit:
    (h: Buffer, offset = 0n, count = 0): Args =>
    (w) =>
      fh(w, h).uint64(offset).uint32(count),
};

// ---- replies ---------------------------------------------------------------------------------

const time = (r: XdrReader, f: string): [number, number] => [r.uint32(`${f}.s`), r.uint32(`${f}.ns`)];

export function fattr(r: XdrReader): Fattr {
  return {
    type: r.uint32('type'),
    mode: r.uint32('mode'),
    nlink: r.uint32('nlink'),
    uid: r.uint32('uid'),
    gid: r.uint32('gid'),
    size: r.uint64('size'),
    used: r.uint64('used'),
    rdev: [r.uint32('rdev1'), r.uint32('rdev2')],
    fsid: r.uint64('fsid'),
    fileid: r.uint64('fileid'),
    atime: time(r, 'atime'),
    mtime: time(r, 'mtime'),
    ctime: time(r, 'ctime'),
  };
}

export const postOp = (r: XdrReader): Fattr | undefined => r.optional('post_op_attr', () => fattr(r));

export function wcc(r: XdrReader): Wcc {
  const before = r.optional('pre_op_attr', () => ({
    size: r.uint64('size'),
    mtime: time(r, 'mtime'),
    ctime: time(r, 'ctime'),
  }));
  return { before, after: postOp(r) };
}

export const postOpFh = (r: XdrReader): Buffer | undefined =>
  r.optional('post_op_fh3', () => Buffer.from(r.opaque(64, 'fh')));

export interface DirEntryOut {
  fileid: bigint;
  name: string;
  cookie: bigint;
  attrs?: Fattr;
  fh?: Buffer;
}

/** Each decoder reads a whole reply body (status first) and checks nothing is left. */
export const R = {
  getattr: (r: XdrReader) => {
    const status = r.uint32('status');
    return { status, attrs: status === 0 ? fattr(r) : undefined };
  },
  wccOnly: (r: XdrReader) => ({ status: r.uint32('status'), wcc: wcc(r) }),
  lookup: (r: XdrReader) => {
    const status = r.uint32('status');
    if (status !== 0) return { status, dirAttrs: postOp(r) };
    const h = Buffer.from(r.opaque(64, 'object'));
    return { status, fh: h, attrs: postOp(r), dirAttrs: postOp(r) };
  },
  access: (r: XdrReader) => {
    const status = r.uint32('status');
    const attrs = postOp(r);
    return { status, attrs, access: status === 0 ? r.uint32('access') : undefined };
  },
  readlink: (r: XdrReader) => {
    const status = r.uint32('status');
    const attrs = postOp(r);
    return { status, attrs, target: status === 0 ? r.string(4096, 'data') : undefined };
  },
  read: (r: XdrReader) => {
    const status = r.uint32('status');
    const attrs = postOp(r);
    if (status !== 0) return { status, attrs };
    const count = r.uint32('count');
    const eof = r.bool('eof');
    return { status, attrs, count, eof, data: Buffer.from(r.opaque(64 << 20, 'data')) };
  },
  write: (r: XdrReader) => {
    const status = r.uint32('status');
    const w = wcc(r);
    if (status !== 0) return { status, wcc: w };
    return {
      status,
      wcc: w,
      count: r.uint32('count'),
      committed: r.uint32('committed'),
      verf: Buffer.from(r.fixedOpaque(8, 'verf')),
    };
  },
  newObject: (r: XdrReader) => {
    const status = r.uint32('status');
    if (status !== 0) return { status, dirWcc: wcc(r) };
    return { status, fh: postOpFh(r), attrs: postOp(r), dirWcc: wcc(r) };
  },
  rename: (r: XdrReader) => ({ status: r.uint32('status'), fromWcc: wcc(r), toWcc: wcc(r) }),
  link: (r: XdrReader) => ({ status: r.uint32('status'), attrs: postOp(r), dirWcc: wcc(r) }),
  readdir: (r: XdrReader) => {
    const status = r.uint32('status');
    const attrs = postOp(r);
    if (status !== 0) return { status, attrs, entries: [] as DirEntryOut[], eof: false };
    const verf = Buffer.from(r.fixedOpaque(8, 'verf'));
    const entries: DirEntryOut[] = [];
    while (r.bool('follows')) {
      entries.push({ fileid: r.uint64('fileid'), name: r.string(4096, 'name'), cookie: r.uint64('cookie') });
    }
    return { status, attrs, verf, entries, eof: r.bool('eof') };
  },
  readdirplus: (r: XdrReader) => {
    const status = r.uint32('status');
    const attrs = postOp(r);
    if (status !== 0) return { status, attrs, entries: [] as DirEntryOut[], eof: false };
    const verf = Buffer.from(r.fixedOpaque(8, 'verf'));
    const entries: DirEntryOut[] = [];
    while (r.bool('follows')) {
      entries.push({
        fileid: r.uint64('fileid'),
        name: r.string(4096, 'name'),
        cookie: r.uint64('cookie'),
        attrs: postOp(r),
        fh: postOpFh(r),
      });
    }
    return { status, attrs, verf, entries, eof: r.bool('eof') };
  },
  fsstat: (r: XdrReader) => {
    const status = r.uint32('status');
    const attrs = postOp(r);
    if (status !== 0) return { status, attrs };
    return {
      status,
      attrs,
      tbytes: r.uint64('tbytes'),
      fbytes: r.uint64('fbytes'),
      abytes: r.uint64('abytes'),
      tfiles: r.uint64('tfiles'),
      ffiles: r.uint64('ffiles'),
      afiles: r.uint64('afiles'),
      invarsec: r.uint32('invarsec'),
    };
  },
  fsinfo: (r: XdrReader) => {
    const status = r.uint32('status');
    const attrs = postOp(r);
    if (status !== 0) return { status, attrs };
    return {
      status,
      attrs,
      rtmax: r.uint32('rtmax'),
      rtpref: r.uint32('rtpref'),
      rtmult: r.uint32('rtmult'),
      wtmax: r.uint32('wtmax'),
      wtpref: r.uint32('wtpref'),
      wtmult: r.uint32('wtmult'),
      dtpref: r.uint32('dtpref'),
      maxfilesize: r.uint64('maxfilesize'),
      timeDelta: time(r, 'time_delta'),
      properties: r.uint32('properties'),
    };
  },
  pathconf: (r: XdrReader) => {
    const status = r.uint32('status');
    const attrs = postOp(r);
    if (status !== 0) return { status, attrs };
    return {
      status,
      attrs,
      linkmax: r.uint32('linkmax'),
      nameMax: r.uint32('name_max'),
      noTrunc: r.bool('no_trunc'),
      chownRestricted: r.bool('chown_restricted'),
      caseInsensitive: r.bool('case_insensitive'),
      casePreserving: r.bool('case_preserving'),
    };
  },
  commit: (r: XdrReader) => {
    const status = r.uint32('status');
    const w = wcc(r);
    return { status, wcc: w, verf: status === 0 ? Buffer.from(r.fixedOpaque(8, 'verf')) : undefined };
  },
};

/** Decodes a reply body completely (trailing bytes fail the test). */
export function decodeReply<T>(body: Buffer, dec: (r: XdrReader) => T): T {
  const r = new XdrReader(body);
  const out = dec(r);
  r.end('reply');
  return out;
}
