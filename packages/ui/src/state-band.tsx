import { statusVariant } from './status-badge.tsx';

const FILL = {
  healthy: 'bg-emerald-500',
  degraded: 'bg-amber-500',
  unhealthy: 'bg-red-600',
  unknown: 'bg-slate-300 dark:bg-slate-600',
} as const;

export interface StateBandProps {
  label: string;
  /** One state word per sample, oldest first (`closed`, `half-open`, `open`). */
  states: string[];
}

/** A row of coloured slices, one per sample: a circuit's state over time. */
export function StateBand({ label, states }: StateBandProps) {
  const open = states.filter((s) => statusVariant(s) === 'unhealthy').length;
  return (
    <div className="flex items-center gap-3">
      <span className="w-24 shrink-0 text-xs font-medium text-slate-600 dark:text-slate-300">{label}</span>
      <div
        role="img"
        aria-label={`${label}: ${open} of ${states.length} samples open, now ${states.at(-1) ?? 'unknown'}`}
        className="flex h-4 flex-1 overflow-hidden rounded bg-slate-100 dark:bg-slate-800"
      >
        {states.map((s, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: samples are positional
          <span key={i} className={`h-full flex-1 ${FILL[statusVariant(s)]}`} title={s} />
        ))}
      </div>
    </div>
  );
}
