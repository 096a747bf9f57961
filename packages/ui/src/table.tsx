import type { ReactNode, ThHTMLAttributes } from 'react';
import { cx } from './cx.ts';

export function Table({
  children,
  className,
  caption,
}: {
  children: ReactNode;
  className?: string;
  caption?: string;
}) {
  return (
    // relative: screen-reader-only labels (absolutely positioned) stay inside the scroller
    // instead of widening the page on a narrow screen.
    <div className="relative overflow-x-auto">
      <table className={cx('w-full text-left text-sm', className)}>
        {caption ? <caption className="sr-only">{caption}</caption> : null}
        {children}
      </table>
    </div>
  );
}

export type SortDirection = 'ascending' | 'descending' | 'none';

export interface ThProps extends ThHTMLAttributes<HTMLTableCellElement> {
  /** Makes the header a button that asks for this column's sort. */
  sort?: SortDirection;
  onSort?: () => void;
}

export function Th({ children, sort, onSort, className, ...rest }: ThProps) {
  return (
    <th
      scope="col"
      aria-sort={onSort ? sort : undefined}
      className={cx(
        'border-b border-slate-200 px-2 py-1.5 text-xs font-semibold text-slate-600 dark:border-slate-700 dark:text-slate-300',
        className,
      )}
      {...rest}
    >
      {onSort ? (
        <button
          type="button"
          onClick={onSort}
          className="inline-flex items-center gap-1 rounded hover:text-slate-900 focus-visible:outline-2 focus-visible:outline-sky-600 dark:hover:text-white"
        >
          {children}
          <span aria-hidden="true">{sort === 'ascending' ? '▲' : sort === 'descending' ? '▼' : '↕'}</span>
        </button>
      ) : (
        children
      )}
    </th>
  );
}

export function Td({ children, className, ...rest }: ThHTMLAttributes<HTMLTableCellElement>) {
  return (
    <td
      className={cx('border-b border-slate-100 px-2 py-1.5 align-top dark:border-slate-800', className)}
      {...rest}
    >
      {children}
    </td>
  );
}

/** A table's header row: one plain column header each, and an unlabelled actions column when asked. */
export function HeadRow({ columns, actions = false }: { columns: readonly string[]; actions?: boolean }) {
  return (
    <thead>
      <tr>
        {columns.map((c) => (
          <Th key={c}>{c}</Th>
        ))}
        {actions ? (
          <Th>
            <span className="sr-only">Actions</span>
          </Th>
        ) : null}
      </tr>
    </thead>
  );
}
