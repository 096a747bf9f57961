import { isFsError } from '../../storage/errors.ts';
import type { Namespace } from '../../storage/namespace.ts';
import type { Attributes, Credential } from '../../storage/types.ts';
import { macNameToDisk } from './apple/mac-names.ts';
import { caseIndexFor, INDEX_MIN_ENTRIES } from './case-index.ts';
import { NT_STATUS } from './deps.ts';
import { SmbError } from './errors.ts';
import { mayBeShortName, shortName } from './short-names.ts';
import { upcase } from './upcase.ts';

/** Characters no NTFS name component may hold (MS-FSCC §2.1.5.2), besides controls. */
const ILLEGAL_CHAR = /["*/:<>?|]/;
const illegal = (s: string) => ILLEGAL_CHAR.test(s) || [...s].some((c) => c.charCodeAt(0) < 0x20);
const MAX_COMPONENT_UTF16 = 255;
const MAX_LINK_HOPS = 40;
/** Case-insensitive lookups scan a directory; beyond this many entries the scan gives up. */
const MAX_SCAN_ENTRIES = 100_000;

export interface SmbName {
  components: string[];
  /** Set for a named stream ("file:stream[:$DATA]"); the default stream "::$DATA" is no stream. */
  stream?: string;
  /** The default stream was named ("file::$DATA"): a directory, which has none, is not found so. */
  defaultStream?: boolean;
}

/**
 * A stream name may hold any character but NUL, "\\", "/" and ":" (Windows' rules, as
 * smbtorture's smb2.streams.names2 checks them; wildcards and controls are allowed).
 */
const ILLEGAL_STREAM_CHAR = /[\\/:\0]/;

const invalid = (why: string) => new SmbError(NT_STATUS.STATUS_OBJECT_NAME_INVALID, why);

/**
 * A CREATE or rename name (share-relative, backslash-separated; MS-SMB2 §3.3.5.9): components
 * checked for illegal characters and "."/"..", a trailing stream suffix split off. A slash
 * separates components too, as Samba's check_path_syntax_smb2 makes it (a trailing one is
 * STATUS_OBJECT_NAME_INVALID, as there). With
 * `macNames` (a share with apple_extensions) the components' private-use characters become the
 * characters they stand for (apple/mac-names.ts).
 */
export function parseSmbName(
  name: string,
  opts: { leadingSlash?: 'reject' | 'strip'; macNames?: boolean } = {},
): SmbName {
  let n = name;
  if (n.startsWith('\\') || n.startsWith('/')) {
    if (opts.leadingSlash !== 'strip')
      throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'name starts with a path separator');
    n = n.replace(/^[\\/]+/, '');
  }
  if (n === '') return { components: [] };
  let stream: string | undefined;
  let defaultStream: boolean | undefined;
  const colon = n.indexOf(':');
  if (colon >= 0) {
    const suffix = n.slice(colon + 1);
    n = n.slice(0, colon);
    const [sname = '', stype, ...rest] = suffix.split(':');
    if (rest.length > 0) throw invalid('too many colons');
    if (stype !== undefined && stype.toUpperCase() !== '$DATA') throw invalid(`stream type ${stype}`);
    if (sname === '' && stype === undefined) throw invalid('a colon without a stream name');
    if (ILLEGAL_STREAM_CHAR.test(sname)) throw invalid('illegal character in a stream name');
    if (sname.length > MAX_COMPONENT_UTF16) throw invalid('stream name longer than 255 characters');
    if (sname !== '') stream = sname;
    if (n === '')
      return stream === undefined ? { components: [], defaultStream: true } : { components: [], stream };
    if (stream === undefined) defaultStream = true;
  }
  if (n.endsWith('/')) throw invalid('a trailing slash');
  if (n.endsWith('\\')) n = n.slice(0, -1);
  // "." and ".." are resolved here, as Samba's check_path_syntax does; climbing above the share
  // root is STATUS_OBJECT_PATH_SYNTAX_BAD.
  const components: string[] = [];
  for (const c of n.split(/[\\/]/)) {
    if (c === '') throw invalid('empty path component');
    if (c === '.') continue;
    if (c === '..') {
      if (components.pop() === undefined)
        throw new SmbError(NT_STATUS.STATUS_OBJECT_PATH_SYNTAX_BAD, 'above the share root');
      continue;
    }
    if (illegal(c)) throw invalid(`illegal character in "${c}"`);
    if (c.length > MAX_COMPONENT_UTF16) throw invalid('name component longer than 255 characters');
    components.push(opts.macNames ? macNameToDisk(c) : c);
  }
  if (stream !== undefined) return { components, stream };
  return defaultStream ? { components, defaultStream } : { components };
}

export interface Resolved {
  /** Directory the last component is in (undefined for the share root itself). */
  parent: Attributes | undefined;
  /** Name of the last component as stored (its case), or as given when it does not exist. */
  name: string;
  /** The object, if it exists (after following symlinks). */
  attrs: Attributes | undefined;
  /** Share-relative path of the directory chain, as stored (for notify and status). */
  path: string;
}

/**
 * Finds `name` in `dir`: exact match first, then a case-insensitive scan (SMB names ignore
 * case, the namespace keeps it, as Samba's `case sensitive = auto` does). Returns the entry
 * and the name it is stored under.
 */
export async function lookupName(
  ns: Namespace,
  cred: Credential,
  dir: bigint,
  name: string,
): Promise<{ attrs: Attributes; name: string } | undefined> {
  try {
    return { attrs: await ns.lookup(cred, dir, name), name };
  } catch (e) {
    if (!isFsError(e, 'ENOENT')) throw e;
  }
  const upper = upcase(name);
  // An 8.3 name a listing showed (short-names.ts) is no stored name: the scan looks for it.
  const short = mayBeShortName(name);
  const index = caseIndexFor(ns);
  const dirAttrs = await ns.getattr(dir);
  const known = index.lookup(dir, dirAttrs.changeId, upper);
  if (known.known && (known.name !== undefined || !short)) {
    if (known.name === undefined) return undefined;
    try {
      return { attrs: await ns.lookup(cred, dir, known.name), name: known.name };
    } catch (e) {
      if (!isFsError(e, 'ENOENT')) throw e;
      index.forget(dir);
    }
  }
  const names: string[] = [];
  let found: string | undefined;
  let cookie = 0n;
  for (;;) {
    let page: Awaited<ReturnType<Namespace['readdir']>>;
    try {
      page = await ns.readdir(cred, dir, cookie, 1000);
    } catch (e) {
      if (isFsError(e, 'EACCES')) return undefined;
      throw e;
    }
    for (const e of page.entries) {
      names.push(e.name);
      if (found === undefined && e.name.length === name.length && upcase(e.name) === upper) found = e.name;
      else if (found === undefined && short && upcase(shortName(e.name)) === upper) found = e.name;
      cookie = e.cookie;
    }
    if (page.eof || page.entries.length === 0 || names.length >= MAX_SCAN_ENTRIES) break;
  }
  if (names.length >= INDEX_MIN_ENTRIES && names.length < MAX_SCAN_ENTRIES)
    index.build(dir, dirAttrs.changeId, names);
  return found === undefined ? undefined : { attrs: await ns.lookup(cred, dir, found), name: found };
}

/**
 * Walks `components` from the share root. A missing or non-directory intermediate component is
 * STATUS_OBJECT_PATH_NOT_FOUND; a missing last one is `attrs: undefined`. Symbolic links are
 * followed when their target stays inside the share (`sharePath`); others are not found. A
 * link in the last place keeps the link's own parent and name, so delete and rename act on
 * the link, as unlink(2) does.
 */
export function resolvePath(
  ns: Namespace,
  cred: Credential,
  rootIno: bigint,
  sharePath: string,
  components: readonly string[],
): Promise<Resolved> {
  return walk(ns, cred, rootIno, sharePath, components, { hops: 0 });
}

async function walk(
  ns: Namespace,
  cred: Credential,
  rootIno: bigint,
  sharePath: string,
  components: readonly string[],
  links: { hops: number },
): Promise<Resolved> {
  const root = await ns.getattr(rootIno);
  const stack: Array<{ attrs: Attributes; name: string }> = [];
  const here = () => stack[stack.length - 1]?.attrs ?? root;
  const names = () => stack.map((s) => s.name);
  const pathNotFound = () =>
    new SmbError(NT_STATUS.STATUS_OBJECT_PATH_NOT_FOUND, `path not found: ${components.join('\\')}`);
  let todo = [...components];
  while (todo.length > 0) {
    const part = todo.shift()!;
    const last = todo.length === 0;
    if (part === '..') {
      stack.pop();
      continue;
    }
    const dir = here();
    let found: { attrs: Attributes; name: string } | undefined;
    try {
      found = await lookupName(ns, cred, dir.ino, part);
    } catch (e) {
      if (!last && (isFsError(e, 'ENOTDIR') || isFsError(e, 'ENOENT'))) throw pathNotFound();
      throw e;
    }
    if (!found) {
      if (!last) throw pathNotFound();
      return { parent: dir, name: part, attrs: undefined, path: [...names(), part].join('\\') };
    }
    const { attrs, name } = found;
    if (attrs.type === 'symlink') {
      if (++links.hops > MAX_LINK_HOPS)
        throw new SmbError(NT_STATUS.STATUS_STOPPED_ON_SYMLINK, 'too many symbolic links');
      const target = await ns.readlink(cred, attrs.ino);
      let base = names();
      if (target.startsWith('/')) {
        const prefix = sharePath === '/' ? '/' : `${sharePath}/`;
        if (!target.startsWith(prefix)) {
          if (last) return { parent: dir, name, attrs: undefined, path: [...names(), name].join('\\') };
          throw pathNotFound();
        }
        base = [];
      }
      const next = [...base, ...target.split('/').filter((c) => c !== '' && c !== '.')];
      if (last) {
        const inner = await walk(ns, cred, rootIno, sharePath, next, links);
        return { parent: dir, name, attrs: inner.attrs, path: [...names(), name].join('\\') };
      }
      stack.length = 0;
      todo = [...next, ...todo];
      continue;
    }
    if (last) return { parent: dir, name, attrs, path: [...names(), name].join('\\') };
    if (attrs.type !== 'dir') throw pathNotFound();
    stack.push({ attrs, name });
  }
  // Ended on "..": the directory reached.
  const top = stack.pop();
  if (!top) return { parent: undefined, name: '', attrs: root, path: '' };
  return { parent: here(), name: top.name, attrs: top.attrs, path: [...names(), top.name].join('\\') };
}
