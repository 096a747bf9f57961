import { type LoadOptions, type LoadResult, loadConfig } from '../../config/load.ts';
import type { Problem } from '../../config/problems.ts';

export interface TlsLenientResult extends LoadResult {
  /** The s3.tls problems, reported as warnings (empty when none). */
  tlsProblems: Problem[];
}

const isTlsProblem = (p: Problem) => p.path === 's3.tls' || p.path.startsWith('s3.tls.');

/**
 * Loads a configuration whose certificate files may be bad. A bad certificate makes the file
 * invalid for `gateway start`, yet it is exactly when an operator runs `cert status`,
 * `preflight` or `drain`: those get the configuration, with the TLS problems apart.
 */
export async function loadConfigDespiteTls(file: string, opts: LoadOptions = {}): Promise<TlsLenientResult> {
  const loaded = await loadConfig(file, { ...opts, tls: 'warning' });
  return { ...loaded, tlsProblems: loaded.problems.filter(isTlsProblem) };
}
