import type { ReactNode } from 'react';
import { cx } from './cx.ts';

/** How a wizard step turned out; `info` is also the step under way, `skipped` one not reached. */
export type StepVerdict = 'pass' | 'warn' | 'fail' | 'info' | 'skipped';

/** The verdict as the card's left rail (the dark variant too, or the card's dark border wins). */
const RAIL: Record<StepVerdict, string> = {
  pass: 'border-l-emerald-500 dark:border-l-emerald-500',
  warn: 'border-l-amber-500 dark:border-l-amber-500',
  fail: 'border-l-red-500 dark:border-l-red-500',
  info: 'border-l-sky-500 dark:border-l-sky-500',
  skipped: 'border-l-slate-300 dark:border-l-slate-600',
};

export interface WizardStepProps {
  /** 0-based; shown as its 1-based number before the title. */
  index: number;
  title: ReactNode;
  /** One line under the title: what kind of step, how long it took. */
  meta?: ReactNode;
  verdict: StepVerdict;
  /** Right of the title, e.g. a StatusBadge. */
  badge?: ReactNode;
  /** The step the wizard is on: `aria-current="step"` and a ring. */
  current?: boolean;
  children?: ReactNode;
  /** Under a rule at the bottom: where the step comes from (a runbook section). */
  footer?: ReactNode;
  /** `data-*` attributes for the item, without the prefix: `{ step: 'usage' }`. */
  data?: Record<string, string>;
}

/**
 * One step of a wizard (a diagnostic tree, the rolling restart) as a card in an ordered list,
 * its verdict on the left rail. Put it in an `<ol>`.
 */
export function WizardStep({
  index,
  title,
  meta,
  verdict,
  badge,
  current,
  children,
  footer,
  data = {},
}: WizardStepProps) {
  const attributes = Object.fromEntries(Object.entries(data).map(([k, v]) => [`data-${k}`, v]));
  return (
    <li
      {...attributes}
      aria-current={current ? 'step' : undefined}
      className={cx(
        'rounded-lg border border-l-4 border-slate-200 bg-white p-4 shadow-sm dark:border-slate-700 dark:bg-slate-900',
        RAIL[verdict],
        current && 'ring-1 ring-sky-500/40',
      )}
    >
      <header className="flex flex-wrap items-start justify-between gap-2">
        <div className="min-w-0">
          <h3 className="text-sm font-semibold">
            <span className="mr-1.5 text-slate-400 tabular-nums">{index + 1}.</span>
            {title}
          </h3>
          {meta ? <p className="text-xs text-slate-500 dark:text-slate-400">{meta}</p> : null}
        </div>
        {badge}
      </header>
      {children}
      {footer ? (
        <footer className="mt-3 border-t border-slate-100 pt-2 text-xs text-slate-500 dark:border-slate-800 dark:text-slate-400">
          {footer}
        </footer>
      ) : null}
    </li>
  );
}
