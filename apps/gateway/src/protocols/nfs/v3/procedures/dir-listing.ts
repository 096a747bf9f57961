import { R_OK } from '../../../../storage/permissions.ts';
import type { Attributes, DirPlusPage } from '../../../../storage/types.ts';
import { FATTR3_BYTES } from '../codec/attrs.ts';
import { Nfsstat3 } from '../constants.ts';
import type { NfsCall } from '../context.ts';
import { nfsError } from '../errors.ts';
import { HANDLE_BYTES } from '../handle.ts';

/**
 * Directory listing shared by READDIR and READDIRPLUS (RFC 1813 §3.3.16–17).
 *
 * Cookies: 0 starts; 1 follows `.`; 2 follows `..`; a namespace entry's cookie c is sent as
 * c + 2. Namespace cookies are stable (an entry keeps its cookie until removed, and "after c"
 * stays meaningful when c itself is removed), so a cookie never goes bad while its directory
 * lives: the cookie verifier names the directory incarnation, and a cookie offered with a
 * verifier of another directory is NFS3ERR_BAD_COOKIE. An all-zero verifier is accepted with
 * any cookie, as clients send one after losing theirs.
 */
const COOKIE_AFTER_DOT = 1n;
const COOKIE_AFTER_DOTDOT = 2n;
const COOKIE_OFFSET = 2n;
const MAX_NS_COOKIE = (1n << 63n) - 1n;

export interface Listed {
  name: string;
  fileid: bigint;
  cookie: bigint;
  /** READDIRPLUS only: absent when the entry vanished while listing. */
  attrs?: Attributes;
}

/** Sizes of the encoded reply parts (XDR, bytes). */
export const DirSizes = {
  /** status + post_op_attr + cookieverf + end of list + eof. */
  fixed: 4 + 4 + FATTR3_BYTES + 8 + 4 + 4,
  name: (name: string) => 4 + ((Buffer.byteLength(name, 'utf8') + 3) & ~3),
  /** entry3: value_follows, fileid, name, cookie. */
  entry: (name: string) => 4 + 8 + DirSizes.name(name) + 8,
  /** What READDIRPLUS's dircount counts: fileid, name and cookie. */
  plusDirPart: (name: string) => 8 + DirSizes.name(name) + 8,
  /** entryplus3 with its attributes and handle (or without, 4 bytes each). */
  plusEntry: (name: string, withAttrs: boolean) =>
    DirSizes.entry(name) + (withAttrs ? 4 + FATTR3_BYTES : 4) + (withAttrs ? 4 + 4 + HANDLE_BYTES : 4),
};

export function cookieVerifier(dir: Attributes): Buffer {
  const v = Buffer.alloc(8);
  v.writeUInt32BE(dir.generation >>> 0, 0);
  v.writeUInt32BE(Number(dir.ino & 0xffff_ffffn), 4);
  return v;
}

const ZERO_VERIFIER = Buffer.alloc(8);

export interface ListOptions {
  cookie: bigint;
  verifier: Buffer;
  withAttrs: boolean;
  /** Entries worth fetching from the namespace at once. */
  batch: number;
  /** Accounts an entry if it fits the reply; false leaves it (and the rest) for the next call. */
  take(entry: Listed): boolean;
}

/** Entries after `cookie` as many as `take` accepts; TOOSMALL when not even one fits. */
export async function listDirectory(
  ctx: NfsCall,
  dir: Attributes,
  o: ListOptions,
): Promise<{ entries: Listed[]; eof: boolean }> {
  if (o.cookie !== 0n && !o.verifier.equals(cookieVerifier(dir)) && !o.verifier.equals(ZERO_VERIFIER)) {
    throw nfsError(Nfsstat3.BAD_COOKIE, 'cookie verifier of another directory');
  }
  const cred = ctx.cred();
  if ((await ctx.ns.access(cred, dir.ino, R_OK)) === 0) {
    throw nfsError(Nfsstat3.ACCES, 'no read permission on the directory');
  }
  const entries: Listed[] = [];
  const offer = (e: Listed): boolean => {
    if (o.take(e)) {
      entries.push(e);
      return true;
    }
    if (entries.length === 0) throw nfsError(Nfsstat3.TOOSMALL, 'the reply size cannot hold one entry');
    return false;
  };

  if (o.cookie === 0n) {
    if (!offer({ name: '.', fileid: dir.ino, cookie: COOKIE_AFTER_DOT, attrs: dir }))
      return { entries, eof: false };
  }
  if (o.cookie <= COOKIE_AFTER_DOT) {
    const parent = await ctx.parentOf(dir).catch(() => dir);
    if (!offer({ name: '..', fileid: parent.ino, cookie: COOKIE_AFTER_DOTDOT, attrs: parent })) {
      return { entries, eof: false };
    }
  }
  let after = o.cookie <= COOKIE_AFTER_DOTDOT ? 0n : o.cookie - COOKIE_OFFSET;
  // Past every cookie the namespace can issue (SQLite rowids are signed 64-bit): nothing follows.
  if (after > MAX_NS_COOKIE) return { entries, eof: true };
  for (;;) {
    // READDIRPLUS reads each page's attributes with it; an entry whose inode went since is
    // listed without attributes or handle.
    const page: DirPlusPage = o.withAttrs
      ? await ctx.ns.readdirPlus(cred, dir.ino, after, o.batch)
      : await ctx.ns.readdir(cred, dir.ino, after, o.batch);
    for (const e of page.entries) {
      const listed: Listed = { name: e.name, fileid: e.ino, cookie: e.cookie + COOKIE_OFFSET };
      if (e.attrs) listed.attrs = e.attrs;
      if (!offer(listed)) return { entries, eof: false };
      after = e.cookie;
    }
    if (page.eof || page.entries.length === 0) return { entries, eof: true };
  }
}
