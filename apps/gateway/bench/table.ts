/** One benchmark row: what was measured, against what, and whether the target is met. */
export interface BenchRow {
  workload: string;
  gateway: number;
  unit: string;
  peer?: number;
  peerName?: string;
  /** Target as text ("≥ 1,000,000/s", "≥ 0.8× dd") and the predicate deciding met/missed. */
  target: string;
  met: boolean;
}

export const fmt = (n: number) => (Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2));

/**
 * gateway ÷ peer with two decimals, cut rather than rounded: 0.4951× reads 0.49×, never the
 * 0.50× that would look like a "≥ 0.5×" target met beside the word MISSED.
 */
export function ratioText(r: Pick<BenchRow, 'gateway' | 'peer'>): string {
  // No peer, or a peer run that failed (0): no ratio to show.
  if (r.peer === undefined || !(r.peer > 0)) return '';
  return `${(Math.floor((r.gateway / r.peer) * 100 + 1e-9) / 100).toFixed(2)}×`;
}

export function printTable(title: string, rows: BenchRow[]): void {
  const cells = rows.map((r) => [
    r.workload,
    `${fmt(r.gateway)} ${r.unit}`,
    r.peer === undefined ? '' : `${fmt(r.peer)} ${r.unit} (${r.peerName})`,
    ratioText(r),
    r.target,
    r.target === '(info)' ? '' : r.met ? 'met' : 'MISSED',
  ]);
  const head = ['workload', 'gateway', 'peer', 'ratio', 'target', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i]!)).join('  ');
  console.log(`\n${title}\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const c of cells) console.log(line(c));
}
