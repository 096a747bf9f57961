import { upcase } from './upcase.ts';

/** Whether a QUERY_DIRECTORY pattern names one entry rather than matching several. */
export const hasWildcards = (pattern: string): boolean => /[*?<>"]/.test(pattern);

/**
 * Whether a name matches a QUERY_DIRECTORY pattern (MS-FSA §2.1.4.4), case-insensitively:
 * `*` and `?`, and the DOS forms `<` (DOS_STAR: up to the final dot), `>` (DOS_QM: one
 * character, or none before a dot or the end) and `"` (DOS_DOT: a dot, or the end). "*" and
 * "*.*" match everything, as Windows clients mean them. With `exact` (a pattern without
 * wildcards that an entry bears exactly) only that name matches.
 */
export function compilePattern(pattern: string, exact = false): (name: string) => boolean {
  if (pattern === '*' || pattern === '*.*' || pattern === '') return () => true;
  if (exact) return (name) => name === pattern;
  if (!hasWildcards(pattern)) {
    const upper = upcase(pattern);
    return (name) => upcase(name) === upper;
  }
  let re = '';
  for (const ch of pattern) {
    if (ch === '*') re += '[\\s\\S]*';
    else if (ch === '?') re += '[\\s\\S]';
    else if (ch === '<') re += '(?:(?!\\.[^.]*$)[\\s\\S])*';
    else if (ch === '>') re += '(?:[^.]|(?=\\.|$))';
    else if (ch === '"') re += '(?:\\.|$)';
    else re += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  const compiled = new RegExp(`^${re}$`, 'iu');
  return (name) => compiled.test(name);
}
