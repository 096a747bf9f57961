import { cx } from './cx.ts';

export interface UsageBarProps {
  /** Bytes (or inodes) used, soft and hard limits; null limits are not drawn. */
  used: number;
  soft: number | null;
  hard: number | null;
  label: string;
  className?: string;
}

/**
 * Usage against a quota: the fill is green under soft, amber between soft and hard, red at hard;
 * a tick marks soft, the right edge (or a tick, when only soft is set) marks hard.
 */
export function UsageBar({ used, soft, hard, label, className }: UsageBarProps) {
  const scale = Math.max(hard ?? 0, soft ?? 0, used, 1) * (hard === null ? 1.25 : 1);
  const pct = (v: number) => `${Math.min(100, (v / scale) * 100)}%`;
  const fill =
    hard !== null && used >= hard
      ? 'bg-red-600'
      : soft !== null && used > soft
        ? 'bg-amber-500'
        : 'bg-emerald-600';
  return (
    // biome-ignore lint/a11y/useSemanticElements: <meter> cannot draw the soft and hard markers
    <div
      role="meter"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={scale}
      aria-valuenow={used}
      className={cx(
        'relative h-2.5 w-full overflow-visible rounded-full bg-slate-200 dark:bg-slate-700',
        className,
      )}
    >
      <div className={cx('h-full rounded-full', fill)} style={{ width: pct(used) }} />
      {soft !== null ? (
        <span
          title="soft limit"
          className="absolute -top-1 h-4.5 w-0.5 bg-amber-600 dark:bg-amber-400"
          style={{ left: pct(soft) }}
        />
      ) : null}
      {hard !== null ? (
        <span
          title="hard limit"
          className="absolute -top-1 h-4.5 w-0.5 -translate-x-0.5 bg-red-700 dark:bg-red-400"
          style={{ left: pct(hard) }}
        />
      ) : null}
    </div>
  );
}
