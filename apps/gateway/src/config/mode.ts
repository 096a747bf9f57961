import { InvalidValue } from './invalid-value.ts';

const MAX_MODE = 0o7777;

/**
 * Permission bits of a directory the gateway creates at first start. Text is octal as chmod
 * reads it ("1777", "0755", "0o755"); a number is the mode itself. The loader hands plain
 * YAML integers (`mode: 1777`) over as text, so they too mean what chmod would make of them.
 */
export function parseMode(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || value > MAX_MODE) {
      throw new InvalidValue(`mode ${value} is outside 0-0o7777`);
    }
    return value;
  }
  const m = /^(?:0o)?([0-7]{1,5})$/i.exec(value.trim());
  const mode = m?.[1] === undefined ? Number.NaN : Number.parseInt(m[1], 8);
  if (!(mode <= MAX_MODE)) {
    throw new InvalidValue(`mode '${value}' is not octal permission bits, e.g. 1777 or 0755`);
  }
  return mode;
}

export function formatMode(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}
