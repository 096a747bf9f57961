import type { ReactNode } from 'react';
import { cx } from './cx.ts';

export interface PanelStateProps {
  state: 'loading' | 'empty' | 'error';
  children?: ReactNode;
  className?: string;
}

/** What a panel shows instead of its data: loading, nothing to show, or why it failed. */
export function PanelState({ state, children, className }: PanelStateProps) {
  const text =
    children ??
    (state === 'loading' ? 'Loading…' : state === 'empty' ? 'Nothing to show.' : 'Could not load.');
  return (
    <div
      role={state === 'error' ? 'alert' : 'status'}
      data-panel-state={state}
      className={cx(
        'flex min-h-16 items-center justify-center gap-2 rounded-md px-3 py-4 text-center text-sm',
        state === 'error'
          ? 'bg-red-50 text-red-800 dark:bg-red-950 dark:text-red-200'
          : 'text-slate-500 dark:text-slate-400',
        className,
      )}
    >
      {state === 'loading' ? (
        <span
          aria-hidden="true"
          className="h-3.5 w-3.5 animate-spin rounded-full border-2 border-slate-300 border-t-sky-600"
        />
      ) : null}
      <span>{text}</span>
    </div>
  );
}
