import type { ReactNode } from 'react';
import { cx } from './cx.ts';

export type StatTone = 'neutral' | 'good' | 'warning' | 'critical';

const TONE: Record<StatTone, string> = {
  neutral: 'text-slate-900 dark:text-slate-100',
  good: 'text-emerald-700 dark:text-emerald-400',
  warning: 'text-amber-700 dark:text-amber-400',
  critical: 'text-red-700 dark:text-red-400',
};

export interface StatProps {
  label: ReactNode;
  value: ReactNode;
  sub?: ReactNode;
  tone?: StatTone;
  className?: string;
}

/** One headline number with its label. */
export function Stat({ label, value, sub, tone = 'neutral', className }: StatProps) {
  return (
    <div className={cx('flex flex-col', className)}>
      <dt className="text-xs font-medium text-slate-500 dark:text-slate-400">{label}</dt>
      <dd className={cx('text-xl font-semibold tabular-nums', TONE[tone])}>{value}</dd>
      {sub ? <dd className="text-xs text-slate-500 dark:text-slate-400">{sub}</dd> : null}
    </div>
  );
}
