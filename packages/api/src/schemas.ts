import { z } from 'zod';
import { ROLES } from './types/auth.ts';

/**
 * Input pieces shared by several procedures. They state the input contract the console is
 * held to; the gateway's own checks behind them stay authoritative.
 */

/** uid/gid: the control plane stores them as a signed 32-bit Int, so at most 2^31-2. */
export const id = (what: 'uid' | 'gid') =>
  z
    .number({ error: `${what} must be a number` })
    .int(`${what} must be a whole number`)
    .min(0, `${what} must be 0 or more`)
    .max(2 ** 31 - 2, `${what} must be at most ${2 ** 31 - 2}`);

/** User and group names as useradd takes them: lowercase, so SMB's case-blind names stay unambiguous. */
export const accountName = (what: 'user' | 'group') =>
  z
    .string()
    .regex(/^[a-z_][a-z0-9_.-]{0,31}$/, `${what} name must be lowercase letters, digits, _ . - (at most 32)`);

export const role = z.enum(ROLES);

/** A password as typed at sign-in: whatever was set, even before a length rule existed. */
export const password = z
  .string()
  .min(1, 'password must not be empty')
  .max(256, 'password is at most 256 characters');

/**
 * The shortest password the gateway sets, console and SMB alike: the control plane's own rule
 * (apps/gateway/src/control/validate.ts), checked here first to name it in the form.
 */
export const MIN_PASSWORD_LENGTH = 8;

/** A password being set. */
export const newPassword = z
  .string()
  .min(MIN_PASSWORD_LENGTH, `password must be at least ${MIN_PASSWORD_LENGTH} characters`)
  .max(256, 'password is at most 256 characters');

/** Decimal units are powers of 1000, `i` units powers of 1024; the spellings `./cfs quota` takes. */
const SIZE_UNITS: ReadonlyMap<string, bigint> = new Map([
  ['', 1n],
  ['b', 1n],
  ...(['k', 'm', 'g', 't', 'p'] as const).flatMap((p, i): [string, bigint][] => {
    const decimal = 1000n ** BigInt(i + 1);
    const binary = 1024n ** BigInt(i + 1);
    return [
      [p, decimal],
      [`${p}b`, decimal],
      [`${p}i`, binary],
      [`${p}ib`, binary],
    ];
  }),
]);
const SIZE = /^(\d+)(?:\.(\d+))?\s*([a-z]*)$/i;
const MAX_BYTES = 2n ** 63n - 1n;

/** Bytes in `20GB`, `512MiB`, `1.5TB`, `4096`; a message naming the problem otherwise. */
export function sizeBytes(text: string): bigint | string {
  const m = SIZE.exec(text.trim());
  if (!m) return `'${text}' is not a size: write a number and a unit, e.g. 20GB, 512MiB, 1.5TB`;
  const [, whole = '', fraction = '', unit = ''] = m;
  const scale = SIZE_UNITS.get(unit.toLowerCase());
  if (scale === undefined) return `'${text}' has an unknown unit '${unit}': use B, KB…PB or KiB…PiB`;
  const scaled = BigInt(whole + fraction) * scale;
  const divisor = 10n ** BigInt(fraction.length);
  if (scaled % divisor !== 0n) return `'${text}' is not a whole number of bytes`;
  if (scaled / divisor > MAX_BYTES) return `'${text}' is too large`;
  return scaled / divisor;
}

/** A byte limit as typed (`20GB`), kept as text so it prints back in the unit given. */
export const sizeText = z
  .string()
  .max(40)
  .superRefine((text, ctx) => {
    const bytes = sizeBytes(text);
    if (typeof bytes === 'string') ctx.addIssue({ code: 'custom', message: bytes });
  });

/** `7d`, `12h`, `90m`: a unit is required. */
export const durationText = z
  .string()
  .max(40)
  .regex(
    /^\s*\d+(\.\d+)?\s*(ms|s|m|h|d|w)\s*$/i,
    'a duration needs a number and a unit: ms, s, m, h, d or w (e.g. 7d)',
  );

/** An inode limit: a count of files and directories. */
export const inodeCount = z
  .number()
  .int('an inode limit is a whole number')
  .min(0)
  .max(Number.MAX_SAFE_INTEGER);
