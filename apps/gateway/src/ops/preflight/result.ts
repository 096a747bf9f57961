/** One line of `./cfs gateway preflight`: the runbook's Day-1 checklist, item by item. */
export interface PreflightResult {
  verdict: 'PASS' | 'WARN' | 'FAIL';
  /** What was checked: `ports`, `dns`, `metadata`, `transport`, `admin token`, `s3.tls` … */
  item: string;
  message: string;
}

export const pass = (item: string, message: string): PreflightResult => ({ verdict: 'PASS', item, message });
export const warn = (item: string, message: string): PreflightResult => ({ verdict: 'WARN', item, message });
export const fail = (item: string, message: string): PreflightResult => ({ verdict: 'FAIL', item, message });

export function formatResult(r: PreflightResult): string {
  return `${r.verdict} ${r.item}: ${r.message}`;
}

export function summary(results: readonly PreflightResult[]): string {
  const n = (v: PreflightResult['verdict']) => results.filter((r) => r.verdict === v).length;
  const warnings = n('WARN');
  return `preflight: ${n('PASS')} passed, ${warnings} warning${warnings === 1 ? '' : 's'}, ${n('FAIL')} failed`;
}
