/**
 * Ticks for a value axis starting at zero: round steps (1, 2, 2.5 or 5 times a power of ten), so
 * a chart reads 0 / 1 / 2 / 3 / 4 instead of 0 / 0.95 / 1.9 / 2.85 / 3.8, and a top tick at or
 * above the largest value.
 */
export interface ValueAxis {
  /** Ascending from 0; the last is the axis's top. */
  ticks: number[];
  top: number;
}

const MULTIPLES = [1, 2, 2.5, 5, 10];

/** `max`: the largest value drawn (or the fixed top); `intervals`: at most this many steps. */
export function valueAxis(max: number, intervals = 4): ValueAxis {
  if (!Number.isFinite(max) || max <= 0) return { ticks: [0, 1], top: 1 };
  const raw = max / Math.max(1, intervals);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = (MULTIPLES.find((m) => m * magnitude >= raw * (1 - 1e-9)) ?? 10) * magnitude;
  const count = Math.ceil(max / step - 1e-9);
  const ticks = Array.from({ length: count + 1 }, (_, i) => Number((i * step).toPrecision(12)));
  return { ticks, top: ticks.at(-1) ?? max };
}

/**
 * Rows whose value for `key` has no drawn neighbour (missing or null before and after): a line
 * through them has no length, so they are drawn as dots or a short burst would not show at all.
 */
export function isolatedRows(data: ReadonlyArray<Record<string, number | null>>, key: string): Set<number> {
  const has = (i: number) => typeof data[i]?.[key] === 'number';
  const out = new Set<number>();
  for (let i = 0; i < data.length; i++) if (has(i) && !has(i - 1) && !has(i + 1)) out.add(i);
  return out;
}
