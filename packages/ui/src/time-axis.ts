/**
 * Ticks for a time axis: whole steps of the viewer's clock (every 30 s, 5 min, 15 min, …), few
 * enough to read, labelled with seconds only when the step is under a minute — so a chart of
 * the first two minutes after a start never reads "01:20, 01:20, 01:21".
 */
const STEPS_MS = [5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map(
  (s) => s * 1000,
);

export interface TimeAxis {
  /** Tick positions, ms since the epoch, ascending, all within [min, max]. */
  ticks: number[];
  /** The step between ticks, ms. */
  step: number;
  label: (t: number) => string;
}

const HM: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit' };
const HMS: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit', second: '2-digit' };

/** A moment as the viewer's clock shows it, to the second (a tooltip's heading). */
export const clockTime = (t: number): string => new Date(t).toLocaleTimeString([], HMS);

/** `maxTicks`: at most this many ticks (at least 2). */
export function timeAxis(min: number, max: number, maxTicks = 5): TimeAxis {
  const span = Math.max(0, max - min);
  const most = Math.max(2, maxTicks);
  const step = STEPS_MS.find((s) => Math.floor(span / s) + 1 <= most) ?? Math.ceil(span / (most - 1));
  // Whole steps of local time: the zone's offset at the window's start.
  const local = -new Date(min).getTimezoneOffset() * 60_000;
  const ticks: number[] = [];
  for (let t = Math.ceil((min + local) / step) * step - local; t <= max; t += step) ticks.push(t);
  if (ticks.length === 0) ticks.push(min);
  const options = step < 60_000 ? HMS : HM;
  return { ticks, step, label: (t) => new Date(t).toLocaleTimeString([], options) };
}
