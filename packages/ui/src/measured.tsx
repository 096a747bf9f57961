import type { ReactNode } from 'react';
import { cx } from './cx.ts';

/** A measurement as JSON carries it: numbers, words, lists and records of them. */
export type Measured = string | number | boolean | null | Measured[] | { [key: string]: Measured };

type Scalar = string | number | boolean | null;
type Row = Record<string, Measured>;

const isScalar = (v: Measured): v is Scalar => v === null || typeof v !== 'object';
const isRow = (v: Measured): v is Row => v !== null && typeof v === 'object' && !Array.isArray(v);
/** A record of scalars or lists of scalars: one table row. */
const isFlatRow = (v: Measured): v is Row =>
  isRow(v) && Object.values(v).every((x) => isScalar(x) || (Array.isArray(x) && x.every(isScalar)));

const round = (n: number) => String(Math.round(n * 1000) / 1000);
const DECIMAL = ['kB', 'MB', 'GB', 'TB', 'PB'];

/** `3000006` under a `…Bytes` key: `3.0 MB (3000006 B)`, the exact count kept beside. */
function bytes(n: number): string {
  if (Math.abs(n) < 1000) return `${n} B`;
  let v = n / 1000;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < DECIMAL.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(1)} ${DECIMAL[i]} (${n} B)`;
}

/** `604800000` under a `…Ms` key: `7 d`; under a second it stays in ms. */
function millis(n: number): string {
  const a = Math.abs(n);
  const sign = n < 0 ? '-' : '';
  if (a < 1000) return `${round(n)} ms`;
  if (a < 60_000) return `${sign}${round(a / 1000)} s`;
  if (a < 3_600_000) return `${sign}${round(a / 60_000)} min`;
  if (a < 86_400_000) return `${sign}${round(a / 3_600_000)} h`;
  return `${sign}${round(a / 86_400_000)} d`;
}

/** A value in words; a number in the unit its key names (`usedBytes`, `graceMs`, `p99_ms`). */
function scalar(v: Scalar, key = ''): string {
  if (v === null) return '—';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'number') {
    if (/bytes$/i.test(key)) return bytes(v);
    if (/(Ms|_ms)$/.test(key)) return millis(v);
    return Number.isInteger(v) ? String(v) : round(v);
  }
  return v === '' ? '""' : v;
}

/** Prose (a rule, an error) wraps in a wide column; numbers, names and modes stay on one line. */
const isLong = (v: Measured | undefined): boolean => typeof v === 'string' && v.length > 40;

/** A list of flat records (probes, endpoints, circuits) as one table: a column per key. */
function RowTable({ rows }: { rows: Row[] }) {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return (
    <div className="relative overflow-x-auto">
      <table className="text-xs tabular-nums">
        <thead>
          <tr>
            {columns.map((c) => (
              <th
                key={c}
                scope="col"
                className="border-b border-slate-200 px-2 py-1 text-left font-medium text-slate-500 dark:border-slate-700 dark:text-slate-400"
              >
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: rows in the order measured, never reordered
            <tr key={i} className="border-b border-slate-100 last:border-0 dark:border-slate-800">
              {columns.map((c) => (
                <td
                  key={c}
                  className={cx('px-2 py-1 align-top', isLong(r[c]) ? 'min-w-64' : 'whitespace-nowrap')}
                >
                  {c in r ? <Value value={r[c] ?? null} depth={2} name={c} /> : ''}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const NONE = <span className="text-slate-500 dark:text-slate-400">none</span>;

function Value({ value, depth, name = '' }: { value: Measured; depth: number; name?: string }): ReactNode {
  if (isScalar(value)) return <span className="break-words">{scalar(value, name)}</span>;
  if (Array.isArray(value)) {
    if (value.length === 0) return NONE;
    if (value.every(isScalar))
      return <span className="break-words">{value.map((v) => scalar(v, name)).join(', ')}</span>;
    if (value.every(isFlatRow) && depth < 3) return <RowTable rows={value} />;
  } else if (Object.keys(value).length === 0) {
    return NONE;
  } else if (depth < 3) {
    return <Fields value={value} depth={depth + 1} />;
  }
  return <code className="font-mono break-all">{JSON.stringify(value)}</code>;
}

/** A list of records is drawn as a table under its key, across the whole width. */
const isTable = (v: Measured, depth: number): boolean =>
  Array.isArray(v) && v.length > 0 && depth < 3 && v.every(isFlatRow);

function Fields({ value, depth }: { value: Row; depth: number }) {
  return (
    <dl className="grid grid-cols-[minmax(6rem,max-content)_minmax(0,1fr)] gap-x-3 gap-y-0.5">
      {Object.entries(value).map(([k, v]) => {
        const wide = isTable(v, depth);
        return (
          <div key={k} className="contents">
            <dt className={cx('text-slate-500 dark:text-slate-400', wide && 'col-span-2 mt-1')}>{k}</dt>
            <dd className={cx('min-w-0 tabular-nums', wide && 'col-span-2 mb-1')}>
              <Value value={v} depth={depth} name={k} />
            </dd>
          </div>
        );
      })}
    </dl>
  );
}

/** What a step measured, as the gateway sent it: numbers, timings and probe results, every key shown. */
export function MeasuredView({ measured }: { measured: Record<string, Measured> }) {
  if (Object.keys(measured).length === 0) return null;
  return (
    <div className="text-xs" data-testid="measured">
      <Fields value={measured} depth={1} />
    </div>
  );
}

/** A wizard step's measurements, open under a "Measured" summary; nothing when there are none. */
export function MeasuredDetails({ measured }: { measured: Record<string, Measured> }) {
  if (Object.keys(measured).length === 0) return null;
  return (
    <details open className="mt-3 rounded-md bg-slate-50 p-2 dark:bg-slate-800/60">
      <summary className="cursor-pointer text-xs font-medium text-slate-600 dark:text-slate-300">
        Measured
      </summary>
      <div className="mt-2">
        <MeasuredView measured={measured} />
      </div>
    </details>
  );
}
