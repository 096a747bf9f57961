import type { S3Env } from '../context.ts';
import { S3Error } from '../deps.ts';
import { el, list, malformed, parseXml, text } from '../xml.ts';

/** The bucket attribute holding its Object Lock configuration (JSON); absent: never enabled. */
export const OBJECT_LOCK_XATTR = 's3.object-lock';

export type LockMode = 'GOVERNANCE' | 'COMPLIANCE';
export const LOCK_MODES: readonly LockMode[] = ['GOVERNANCE', 'COMPLIANCE'];

/** What new objects get when their request names no retention: a period from their creation. */
export interface DefaultRetention {
  mode: LockMode;
  days?: number;
  years?: number;
}

/** A bucket's Object Lock: once enabled never disabled; the default retention may come and go. */
export interface BucketObjectLock {
  enabled: true;
  rule?: DefaultRetention;
}

/** S3's bounds on a default retention period (100 years). */
const MAX_DAYS = 36_500;
const MAX_YEARS = 100;

/** The bucket's Object Lock configuration, from its cached attributes; undefined when not enabled. */
export async function objectLockOf(env: S3Env, bucketIno: bigint): Promise<BucketObjectLock | undefined> {
  const raw = (await env.ns.listXattrs(bucketIno)).get(OBJECT_LOCK_XATTR);
  if (!raw) return undefined;
  const parsed = JSON.parse(raw.toString()) as BucketObjectLock;
  return parsed.enabled ? parsed : undefined;
}

export function encodeObjectLock(lock: BucketObjectLock): Buffer {
  return Buffer.from(JSON.stringify(lock));
}

/** The ObjectLockConfiguration document of GetObjectLockConfiguration. */
export function objectLockXml(lock: BucketObjectLock): string {
  const r = lock.rule;
  const period = r && (r.days ? el('Days', r.days) : el('Years', r.years));
  const rule = r ? `<Rule><DefaultRetention>${el('Mode', r.mode)}${period}</DefaultRetention></Rule>` : '';
  return el('ObjectLockEnabled', 'Enabled') + rule;
}

/**
 * A PutObjectLockConfiguration body, checked as S3 checks it: ObjectLockEnabled must be
 * Enabled; a Rule holds one DefaultRetention with a Mode and either Days or Years, a positive
 * whole number within 100 years.
 */
export function parseObjectLockConfiguration(body: string): BucketObjectLock {
  const root = parseXml(body, 'ObjectLockConfiguration');
  if (text(root, 'ObjectLockEnabled')?.trim() !== 'Enabled')
    throw malformed('<ObjectLockEnabled> must be Enabled');
  const rules = list(root, 'Rule');
  if (rules.length === 0) return { enabled: true };
  if (rules.length > 1) throw malformed('one <Rule> at most');
  const d = rules[0]!.DefaultRetention;
  if (typeof d !== 'object' || d === null || Array.isArray(d))
    throw malformed('<Rule> must hold one <DefaultRetention>');
  const retention = d as Record<string, unknown>;
  const mode = text(retention, 'Mode')?.trim();
  if (!LOCK_MODES.includes(mode as LockMode)) throw malformed('<Mode> must be GOVERNANCE or COMPLIANCE');
  const days = text(retention, 'Days')?.trim();
  const years = text(retention, 'Years')?.trim();
  if ((days === undefined) === (years === undefined))
    throw malformed('<DefaultRetention> takes either <Days> or <Years>');
  const value = days ?? years!;
  const n = /^\d{1,6}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n > 0))
    throw new S3Error('InvalidArgument', 'Default retention period must be a positive integer value.', {
      ArgumentName: days === undefined ? 'Years' : 'Days',
      ArgumentValue: value.slice(0, 32),
    });
  if (n > (days === undefined ? MAX_YEARS : MAX_DAYS))
    throw new S3Error('InvalidArgument', 'Default retention period is too large.', {
      ArgumentName: days === undefined ? 'Years' : 'Days',
      ArgumentValue: value,
    });
  const rule: DefaultRetention =
    days === undefined ? { mode: mode as LockMode, years: n } : { mode: mode as LockMode, days: n };
  return { enabled: true, rule };
}

/** Until when (ms since the epoch) a default retention holds an object made at `fromMs`. */
export function defaultUntilMs(rule: DefaultRetention, fromMs: number): number {
  const d = new Date(fromMs);
  if (rule.years !== undefined) d.setUTCFullYear(d.getUTCFullYear() + rule.years);
  else d.setUTCDate(d.getUTCDate() + (rule.days ?? 0));
  return d.getTime();
}
