/**
 * What is wrong with a configuration, said so an operator can go straight to the line:
 * `FILE:LINE:COL key.path: message`. Line and column are 1-based; 0 means the problem has no
 * place in the file (a command-line flag, a file that cannot be read).
 */
export interface Problem {
  file: string;
  line: number;
  col: number;
  /** Dotted key path as written in the file (`nfs.exports.0.path`), or a flag (`--bind`). */
  path: string;
  message: string;
  severity: 'error' | 'warning';
}

/** The configuration cannot be found or read at all, as opposed to having problems inside. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Stands in for a file name when a problem comes from a command-line flag. */
export const COMMAND_LINE = '<command line>';

export function formatProblem(p: Problem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.col}` : p.file;
  const head = p.path === '' ? `${where}:` : `${where} ${p.path}:`;
  return `${head} ${p.severity === 'warning' ? 'warning: ' : ''}${p.message}`;
}

export function hasErrors(problems: readonly Problem[]): boolean {
  return problems.some((p) => p.severity === 'error');
}

/** In file order, as compilers list them; problems with no place in the file come first. */
export function sortProblems(problems: readonly Problem[]): Problem[] {
  return [...problems].sort((a, b) => a.line - b.line || a.col - b.col);
}

/** A key path as segments: map keys and list indexes. */
export type KeyPath = readonly (string | number)[];

/**
 * A problem before it has a place in a file. `at: 'key'` points at the key itself (an unknown
 * key), `at: 'value'` at its value, or at the nearest enclosing key when the value is absent.
 */
export interface Finding {
  path: KeyPath;
  message: string;
  severity: 'error' | 'warning';
  at: 'key' | 'value';
}

export function keyPathText(path: KeyPath): string {
  return path.join('.');
}
