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
 * one, else a mangled form — up to 5 legal characters, "~", two characters of a hash of the
 * whole name, and up to 3 of the extension — as Samba's hash2 mangling does. Stable per name,
 * and unique enough for listings; nothing looks names up by it.
 */
export function shortName(name: string): string {
  if (name === '.' || name === '..') return '';
  if (valid83(name)) return name;
  const dot = name.lastIndexOf('.');
  const base = legal(dot > 0 ? name.slice(0, dot) : name).slice(0, 5) || '_';
  const ext = dot > 0 ? legal(name.slice(dot + 1)).slice(0, 3) : '';
  const h = createHash('sha1').update(name).digest().readUInt16LE(0) % 1296;
  const hash = h.toString(36).toUpperCase().padStart(2, '0');
  return `${base}~${hash}${ext ? `.${ext}` : ''}`;
}
