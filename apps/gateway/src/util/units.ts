/**
 * Sizes and durations as operators write them (`10GB`, `512MiB`, `7d`) and as the runbook
 * prints them back (`usage=10GB/10GB`). Sizes are bigint bytes: quotas reach past 2^53.
 */

export class UnitError extends Error {
  override readonly name = 'UnitError';
}

/** Canonical spelling → bytes. Decimal units are powers of 1000, `i` units powers of 1024. */
const SIZE_UNITS = {
  B: 1n,
  KB: 10n ** 3n,
  MB: 10n ** 6n,
  GB: 10n ** 9n,
  TB: 10n ** 12n,
  PB: 10n ** 15n,
  KiB: 2n ** 10n,
  MiB: 2n ** 20n,
  GiB: 2n ** 30n,
  TiB: 2n ** 40n,
  PiB: 2n ** 50n,
} as const;

export type SizeUnit = keyof typeof SIZE_UNITS;

/** Every accepted spelling, lower-cased: `m`, `mb` → MB; `mi`, `mib` → MiB; `` and `b` → B. */
const SIZE_SPELLINGS: ReadonlyMap<string, SizeUnit> = new Map<string, SizeUnit>([
  ['', 'B'],
  ['b', 'B'],
  ...(['K', 'M', 'G', 'T', 'P'] as const).flatMap((p): [string, SizeUnit][] => [
    [p.toLowerCase(), `${p}B`],
    [`${p.toLowerCase()}b`, `${p}B`],
    [`${p.toLowerCase()}i`, `${p}iB`],
    [`${p.toLowerCase()}ib`, `${p}iB`],
  ]),
]);

/** Sizes are stored as SQLite INTEGER (signed 64-bit). */
const MAX_BYTES = 2n ** 63n - 1n;

const SIZE_SYNTAX = /^(\d+)(?:\.(\d+))?\s*([a-z]*)$/i;
const SIZE_HELP = 'write a number and a unit, e.g. 4096, 512MiB, 10GB, 1.5TB';

export function parseSize(text: string): { bytes: bigint; unit: SizeUnit } {
  const trimmed = text.trim();
  if (trimmed === '') throw new UnitError(`size is empty: ${SIZE_HELP}`);
  if (trimmed.startsWith('-')) throw new UnitError(`size '${text}' is negative`);
  const m = SIZE_SYNTAX.exec(trimmed);
  if (!m) throw new UnitError(`'${text}' is not a size: ${SIZE_HELP}`);
  const [, whole = '', fraction = '', spelled = ''] = m;
  const unit = SIZE_SPELLINGS.get(spelled.toLowerCase());
  if (unit === undefined) {
    throw new UnitError(`'${text}' has an unknown unit '${spelled}': use B, KB, MB, GB, TB, PB or KiB…PiB`);
  }
  const scaled = BigInt(whole + fraction) * SIZE_UNITS[unit];
  const divisor = 10n ** BigInt(fraction.length);
  if (scaled % divisor !== 0n) throw new UnitError(`size '${text}' is not a whole number of bytes`);
  const bytes = scaled / divisor;
  if (bytes > MAX_BYTES) throw new UnitError(`size '${text}' is too large (at most ${MAX_BYTES} bytes)`);
  return { bytes, unit };
}

/**
 * `bytes` in `unit` with at most two decimals, trailing zeros dropped (12_500_000_000n, 'GB' →
 * '12.5GB'). `unit` takes any spelling parseSize accepts. Without a unit the largest decimal
 * unit that keeps the number at least 1 is used, as the runbook's log lines do.
 */
export function formatSize(bytes: bigint, unit?: string): string {
  const canonical = unit === undefined ? humanSizeUnit(bytes) : SIZE_SPELLINGS.get(unit.toLowerCase());
  if (canonical === undefined) throw new UnitError(`unknown size unit '${unit}'`);
  return `${formatHundredths(bytes, SIZE_UNITS[canonical])}${canonical}`;
}

/**
 * `bytes` in `unit` (10GB of a 12GB limit reads in GB), unless that would round a non-zero
 * amount to 0 there: then in its own unit (10KB, not 0GB).
 */
export function formatSizeNear(bytes: bigint, unit?: string): string {
  const text = formatSize(bytes, unit);
  return bytes !== 0n && /^-?0[^.\d]/.test(text) ? formatSize(bytes) : text;
}

function humanSizeUnit(bytes: bigint): SizeUnit {
  const magnitude = bytes < 0n ? -bytes : bytes;
  const decimal: SizeUnit[] = ['PB', 'TB', 'GB', 'MB', 'KB'];
  return decimal.find((u) => magnitude >= SIZE_UNITS[u]) ?? 'B';
}

/** value / scale rounded half away from zero to two decimals, trailing zeros dropped. */
function formatHundredths(value: bigint, scale: bigint): string {
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  const hundredths = (magnitude * 200n + scale) / (2n * scale);
  const whole = hundredths / 100n;
  const cents = hundredths % 100n;
  const fraction = cents === 0n ? '' : `.${cents.toString().padStart(2, '0').replace(/0$/, '')}`;
  return `${negative && hundredths !== 0n ? '-' : ''}${whole}${fraction}`;
}

const DURATION_UNITS = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
} as const;

type DurationUnit = keyof typeof DURATION_UNITS;

const DURATION_SYNTAX = /^(\d+)(?:\.(\d+))?\s*([a-z]*)$/i;
const DURATION_HELP = 'ms, s, m, h, d or w, e.g. 500ms, 10s, 7d';

/**
 * Milliseconds. A unit is required — a bare `10` is ambiguous between seconds and milliseconds —
 * except for `0`, the same in every unit (`stale_uploads_expiry: 0` turns the expiry off).
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (trimmed === '') throw new UnitError(`duration is empty: write a number and a unit (${DURATION_HELP})`);
  if (trimmed.startsWith('-')) throw new UnitError(`duration '${text}' is negative`);
  const m = DURATION_SYNTAX.exec(trimmed);
  if (!m) throw new UnitError(`'${text}' is not a duration: write a number and a unit (${DURATION_HELP})`);
  const [, whole = '', fraction = '', spelled = ''] = m;
  if (spelled === '' && /^0+$/.test(whole) && fraction === '') return 0;
  if (spelled === '') throw new UnitError(`duration '${text}' needs a unit: ${DURATION_HELP}`);
  const unit = spelled.toLowerCase();
  if (!isDurationUnit(unit)) {
    throw new UnitError(`'${text}' has an unknown unit '${spelled}': use ${DURATION_HELP}`);
  }
  const scaled = BigInt(whole + fraction) * BigInt(DURATION_UNITS[unit]);
  const divisor = 10n ** BigInt(fraction.length);
  if (scaled % divisor !== 0n) {
    throw new UnitError(`duration '${text}' is not a whole number of milliseconds`);
  }
  const ms = scaled / divisor;
  if (ms > BigInt(Number.MAX_SAFE_INTEGER)) throw new UnitError(`duration '${text}' is too long`);
  return Number(ms);
}

function isDurationUnit(unit: string): unit is DurationUnit {
  return Object.hasOwn(DURATION_UNITS, unit);
}

/**
 * The largest unit that shows `ms` exactly with at most two decimals, so parseDuration reads
 * back the same number: 1500 → '1.5s', 90000 → '1.5m', 1234 → '1234ms'.
 */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new UnitError(`${ms} is not a duration in milliseconds`);
  const units: DurationUnit[] = ['w', 'd', 'h', 'm', 's'];
  const unit = units.find((u) => ms >= DURATION_UNITS[u] && (ms * 100) % DURATION_UNITS[u] === 0) ?? 'ms';
  return `${formatHundredths(BigInt(ms), BigInt(DURATION_UNITS[unit]))}${unit}`;
}

/** `6d 23h`, `3h 12m`, `4m 5s`, `12s`: the two largest units, for a time left or gone (grace remaining, idle time). */
export function formatRemaining(ms: number): string {
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  const parts: string[] = [];
  let left = Math.max(0, Math.floor(ms));
  for (const [name, size] of units) {
    const n = Math.floor(left / size);
    left -= n * size;
    if (n > 0 || parts.length > 0) parts.push(`${n}${name}`);
    if (parts.length === 2) break;
  }
  if (parts.length === 0) return ms > 0 ? '<1s' : '0s';
  if (parts[1] === '0h' || parts[1] === '0m' || parts[1] === '0s') parts.pop();
  return parts.join(' ');
}
