import { posix } from 'node:path';
import { InvalidValue } from './invalid-value.ts';

/**
 * A path inside the gateway's namespace (an export, a share, the S3 root), not on the host.
 * Accepted only in the one spelling every protocol will compare against: absolute, no empty,
 * `.` or `..` components, no trailing slash, no NUL.
 */
export function parseNamespacePath(text: string): string {
  if (text === '') throw new InvalidValue('path is empty: namespace paths start with / (e.g. /export)');
  if (text.includes('\0')) throw new InvalidValue('path contains a NUL byte');
  if (!text.startsWith('/')) {
    throw new InvalidValue(`'${text}' is not absolute: namespace paths start with / (e.g. /${text})`);
  }
  if (text.split('/').includes('..')) throw new InvalidValue(`'${text}' contains '..'`);
  const normal = posix.normalize(text).replace(/(.)\/$/, '$1');
  if (normal !== text) throw new InvalidValue(`'${text}' is not normalised: write '${normal}'`);
  return text;
}
