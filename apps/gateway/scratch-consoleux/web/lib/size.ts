/**
 * Sizes as operators type them (`20GB`, `512MiB`, `1.5TB`, `4096`): decimal units are powers of
 * 1000, `i` units powers of 1024 — the spellings `./cfs quota` and the quotas API take.
 * The gateway checks again; this only keeps a bad form from being sent.
 */
const PREFIXES = ['k', 'm', 'g', 't', 'p'] as const;
const SIZE = /^(\d+)(?:\.(\d+))?\s*([a-z]*)$/i;
const MAX_BYTES = 2n ** 63n - 1n;

function unitScale(unit: string): bigint | undefined {
  const u = unit.toLowerCase();
  if (u === '' || u === 'b') return 1n;
  const i = PREFIXES.indexOf(u[0] as (typeof PREFIXES)[number]);
  if (i < 0) return undefined;
  const rest = u.slice(1);
  if (rest === '' || rest === 'b') return 1000n ** BigInt(i + 1);
  if (rest === 'i' || rest === 'ib') return 1024n ** BigInt(i + 1);
  return undefined;
}

/** Bytes, or a message naming the problem. */
export function parseSize(text: string): bigint | string {
  const m = SIZE.exec(text.trim());
  if (!m) return `'${text}' is not a size: write a number and a unit, e.g. 20GB, 512MiB, 1.5TB`;
  const [, whole = '', fraction = '', unit = ''] = m;
  const scale = unitScale(unit);
  if (scale === undefined) return `'${text}' has an unknown unit '${unit}': use B, KB…PB or KiB…PiB`;
  const scaled = BigInt(whole + fraction) * scale;
  const divisor = 10n ** BigInt(fraction.length);
  if (scaled % divisor !== 0n) return `'${text}' is not a whole number of bytes`;
  if (scaled / divisor > MAX_BYTES) return `'${text}' is too large`;
  return scaled / divisor;
}

const DURATION = /^\s*\d+(\.\d+)?\s*(ms|s|m|h|d|w)\s*$/i;

export function durationProblem(text: string): string | null {
  return DURATION.test(text) ? null : 'a duration needs a number and a unit: ms, s, m, h, d or w (e.g. 7d)';
}
