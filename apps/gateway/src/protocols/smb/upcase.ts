/**
 * A name upper-cased one character at a time, as Windows compares names (NTFS's upcase table,
 * MS-FSA §2.1.4.2 "case-insensitive"): a character whose upper case is longer than itself —
 * `ß` (SS), `ŉ`, the ligatures — stays as it is. `toUpperCase()` alone turns `Maße.txt` into
 * `MASSE.TXT`, one name with another's: a create of `MASSE.TXT` would open `Maße.txt`.
 */
export function upcase(name: string): string {
  const upper = name.toUpperCase();
  // Most names: no character grew (none shrinks in upper case), so each kept its own.
  if (upper.length === name.length) return upper;
  let out = '';
  for (const ch of name) {
    const u = ch.toUpperCase();
    out += u.length === ch.length ? u : ch;
  }
  return out;
}
