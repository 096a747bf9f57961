const NS_PER_SEC = 1_000_000_000n;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** GNU ls: a timestamp older than half a Gregorian year, or in the future, shows its year. */
const SIX_MONTHS_NS = (31_556_952n / 2n) * NS_PER_SEC;

function split(ns: bigint): { date: Date; nanos: bigint } {
  let secs = ns / NS_PER_SEC;
  let nanos = ns % NS_PER_SEC;
  if (nanos < 0n) {
    nanos += NS_PER_SEC;
    secs -= 1n;
  }
  return { date: new Date(Number(secs) * 1000), nanos };
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `ls -l` time, local: `Nov 28 04:21` when recent, `Nov 28  2023` otherwise. */
export function lsTime(ns: bigint, nowNs: bigint): string {
  const { date } = split(ns);
  const day = `${MONTHS[date.getMonth()]} ${String(date.getDate()).padStart(2, ' ')}`;
  const recent = ns > nowNs - SIX_MONTHS_NS && ns <= nowNs;
  return recent
    ? `${day} ${pad(date.getHours())}:${pad(date.getMinutes())}`
    : `${day}  ${date.getFullYear()}`;
}

/** coreutils stat time, local with nanoseconds and offset: `2024-11-28 04:21:07.123456789 +0100`. */
export function statTime(ns: bigint): string {
  const { date, nanos } = split(ns);
  const offset = -date.getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${nanos.toString().padStart(9, '0')} ` +
    `${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`
  );
}

/** RFC 3339 in UTC with nanoseconds: `2024-11-28T04:21:07.123456789Z`. */
export function isoTime(ns: bigint): string {
  const { date, nanos } = split(ns);
  return `${date.toISOString().slice(0, 19)}.${nanos.toString().padStart(9, '0')}Z`;
}
