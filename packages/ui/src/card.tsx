import type { ReactNode } from 'react';

export interface CardProps {
  title?: ReactNode;
  /** Right-aligned in the header, e.g. a StatusBadge. */
  action?: ReactNode;
  children?: ReactNode;
  className?: string;
}

export function Card({ title, action, children, className }: CardProps) {
  const hasHeader = title !== undefined || action !== undefined;
  return (
    <section
      className={`rounded-lg border border-slate-200 bg-white p-4 shadow-sm dark:border-slate-700 dark:bg-slate-900${className ? ` ${className}` : ''}`}
    >
      {hasHeader ? (
        <header className="mb-3 flex items-center justify-between gap-2">
          {title !== undefined ? (
            <h2 className="text-sm font-semibold text-slate-900 dark:text-slate-100">{title}</h2>
          ) : (
            <span />
          )}
          {action}
        </header>
      ) : null}
      {children}
    </section>
  );
}
