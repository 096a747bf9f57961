import { createHash } from 'node:crypto';

/** Characters an 8.3 name component may hold (upper case; FAT's legal set less lower case). */
const SHORT_CHAR = /^[A-Z0-9$%'\-_@~`!(){}^#&]$/;

function valid83(name: string): boolean {
  if (name === '.' || name === '..') return false;
  const dot = name.lastIndexOf('.');
  const base = dot < 0 ? name : name.slice(0, dot);
  const ext = dot < 0 ? '' : name.slice(dot + 1);
  if (base.length < 1 || base.length > 8 || ext.length > 3 || (dot >= 0 && ext.length === 0)) return false;
  return [...base, ...ext].every((c) => SHORT_CHAR.test(c));
}

function legal(s: string): string {
  return [...s.toUpperCase()].filter((c) => SHORT_CHAR.test(c) && c !== '~').join('');
}

/**
 * The 8.3 alternate name of a name (MS-FSCC §2.1.5.2.1): the name itself when it already is
 * one (in any case, as NTFS keeps no other), else a mangled form — up to 5 legal characters,
 * "~", two characters of a hash of the whole name, and up to 3 of the extension — as Samba's
 * hash2 mangling does. Stable per name; a CREATE naming it opens the name (paths.ts).
 */
export function shortName(name: string): string {
  if (name === '.' || name === '..') return '';
  if (valid83(name.toUpperCase())) return name;
  const dot = name.lastIndexOf('.');
  const base = legal(dot > 0 ? name.slice(0, dot) : name).slice(0, 5) || '_';
  const ext = dot > 0 ? legal(name.slice(dot + 1)).slice(0, 3) : '';
  const h = createHash('sha1').update(name).digest().readUInt16LE(0) % 1296;
  const hash = h.toString(36).toUpperCase().padStart(2, '0');
  return `${base}~${hash}${ext ? `.${ext}` : ''}`;
}

/**
 * Whether Windows may hold the name (MS-FSCC §2.1.5.2): no control character, `"`, `*`, `/`,
 * `:`, `<`, `>`, `?`, `\` or `|`, and no trailing dot or space — Win32 strips those from the
 * names it sends, so a client would open or delete `trail` when it means `trail.`.
 */
function windowsLegal(name: string): boolean {
  if (name.endsWith('.') || name.endsWith(' ')) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x20 || '"*/:<>?\\|'.includes(name[i]!)) return false;
  }
  return true;
}

/**
 * The name a listing shows: the stored name, or its 8.3 name where a Windows client could not
 * use it — a name made over NFS or S3 with `\` (which a client takes for a path, failing the
 * whole listing), `:` (a stream), `?`, `*`, `<`, `>`, `|`, `"`, a control character, or a
 * trailing dot or space. The 8.3 name opens it (as Samba's mangled names do).
 */
export function listedName(name: string): string {
  return windowsLegal(name) ? name : shortName(name);
}

/** shortName's mangled form: up to 5 characters, `~`, two of the hash, up to 3 of extension. */
const MANGLED = /^[^.~]{1,5}~[0-9A-Z]{2}(\.[^.]{1,3})?$/i;

/** Whether a name a client sent may be an 8.3 name standing for another (`DOCUM~K3.TXT`). */
export function mayBeShortName(name: string): boolean {
  return MANGLED.test(name);
}
