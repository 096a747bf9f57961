import { randomBytes } from 'node:crypto';
import { S3Error } from '../deps.ts';
import { checkTags, type Tag } from '../tagging.ts';
import { doc, el, list, malformed, parseXml, text } from '../xml.ts';

/**
 * A bucket's lifecycle configuration (S3's PutBucketLifecycleConfiguration): rules that expire
 * objects by age or on a date, and abort multipart uploads left incomplete. Kept as JSON in one
 * attribute of the bucket's directory; the sweeper (sweeper.ts) carries the rules out.
 *
 * What a bucket without storage classes can do is accepted — expiration, noncurrent version
 * expiration and delete-marker cleanup for versioned buckets, aborting incomplete uploads;
 * Transition and NoncurrentVersionTransition are refused with NotImplemented rather than
 * stored and never acted on.
 */
export const LIFECYCLE_XATTR = 's3.lifecycle';

export const DAY_MS = 86_400_000;
/** S3's limit. */
export const MAX_RULES = 1000;
const MAX_ID = 255;
/** S3's limit on NewerNoncurrentVersions. */
const MAX_NEWER_NONCURRENT = 100;

export interface RuleFilter {
  prefix: string;
  tags: Tag[];
  /** Objects larger than this many bytes. */
  sizeGreaterThan?: number;
  /** Objects smaller than this many bytes. */
  sizeLessThan?: number;
}

export interface LifecycleRule {
  id: string;
  enabled: boolean;
  /**
   * How the rule named its objects, kept to write it back as given: `<Filter>` (`and` when the
   * filter used `<And>`), the older rule-level `<Prefix>`, or nothing (every object).
   */
  form: 'filter' | 'and' | 'prefix' | 'none';
  filter: RuleFilter;
  /** Objects expire this many days after they were last written (rounded up to midnight UTC)… */
  expirationDays?: number;
  /** …or from this date on (midnight UTC, ms since the epoch). */
  expirationDate?: number;
  /** Incomplete multipart uploads are aborted this many days after they started. */
  abortUploadsAfterDays?: number;
  /** In a versioned bucket: noncurrent versions go this many days after they became noncurrent… */
  noncurrentDays?: number;
  /** …keeping this many newer noncurrent versions whatever their age. */
  newerNoncurrentVersions?: number;
  /** A delete marker left with no version behind it goes. */
  expiredObjectDeleteMarker?: boolean;
}

const invalid = (message: string) => new S3Error('InvalidArgument', message);
const invalidRequest = (message: string) => new S3Error('InvalidRequest', message);
const notImplemented = (what: string, why: string) =>
  new S3Error('NotImplemented', `${what} is not supported by this gateway: ${why}.`);

type Node = Record<string, unknown>;

const child = (node: Node, tag: string): Node | undefined => {
  const v = node[tag];
  if (v === undefined) return undefined;
  if (v === '') return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw malformed(`<${tag}> must hold elements`);
  return v as Node;
};

function positiveInt(raw: string | undefined, what: string): number | undefined {
  if (raw === undefined) return undefined;
  const s = raw.trim();
  if (!/^\d{1,6}$/.test(s) || Number(s) === 0) throw invalid(`'${what}' must be a positive integer`);
  return Number(s);
}

function byteCount(raw: string | undefined, what: string): number | undefined {
  if (raw === undefined) return undefined;
  const s = raw.trim();
  if (!/^\d{1,16}$/.test(s)) throw invalid(`'${what}' must be a non-negative number of bytes`);
  return Number(s);
}

function tagOf(t: Node): Tag {
  const key = text(t, 'Key');
  const value = text(t, 'Value');
  if (key === undefined || value === undefined) throw malformed('<Tag> needs <Key> and <Value>');
  return { key, value };
}

function parseFilter(f: Node): { filter: RuleFilter; and: boolean } {
  const and = child(f, 'And');
  const prefix = text(f, 'Prefix');
  const tags = list(f, 'Tag');
  const greater = text(f, 'ObjectSizeGreaterThan');
  const less = text(f, 'ObjectSizeLessThan');
  const given = [and, prefix, greater, less].filter((x) => x !== undefined).length + tags.length;
  if (given > 1) throw malformed('<Filter> holds one condition; combine several in <And>');
  const src = and ?? f;
  const filter: RuleFilter = { prefix: text(src, 'Prefix') ?? '', tags: list(src, 'Tag').map(tagOf) };
  const gt = byteCount(text(src, 'ObjectSizeGreaterThan'), 'ObjectSizeGreaterThan');
  const lt = byteCount(text(src, 'ObjectSizeLessThan'), 'ObjectSizeLessThan');
  if (gt !== undefined) filter.sizeGreaterThan = gt;
  if (lt !== undefined) filter.sizeLessThan = lt;
  if (gt !== undefined && lt !== undefined && gt >= lt)
    throw invalid("'ObjectSizeGreaterThan' must be less than 'ObjectSizeLessThan'");
  checkTags(filter.tags, 10, 'Object');
  return { filter, and: and !== undefined };
}

/** The date of an `<Expiration><Date>`: ISO 8601 (UTC unless it names a zone), at midnight UTC as S3 requires. */
function parseDate(raw: string): number {
  const s = raw.trim();
  const m = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.exec(s);
  // JavaScript reads a date-time without a zone as local time; S3 means GMT.
  const ms = m ? Date.parse(m[1] !== undefined && m[2] === undefined ? `${s}Z` : s) : Number.NaN;
  if (!Number.isFinite(ms)) throw invalid(`'Date' is not an ISO 8601 date: ${s}`);
  if (ms % DAY_MS !== 0) throw invalid("'Date' must be at midnight GMT");
  return ms;
}

function parseRule(r: Node, n: number): LifecycleRule {
  for (const [tag, why] of [
    ['Transition', 'this gateway has one storage class'],
    ['Transitions', 'this gateway has one storage class'],
    ['NoncurrentVersionTransition', 'this gateway has one storage class'],
    ['NoncurrentVersionTransitions', 'this gateway has one storage class'],
  ] as const) {
    if (r[tag] !== undefined) throw notImplemented(`The lifecycle action ${tag}`, why);
  }
  const status = text(r, 'Status')?.trim();
  if (status !== 'Enabled' && status !== 'Disabled') throw malformed('<Status> must be Enabled or Disabled');
  // No ID, or an empty one: S3 makes one up.
  const id = text(r, 'ID') || randomBytes(12).toString('base64url');
  if (id.length > MAX_ID) throw invalid(`ID length should not exceed allowed limit of ${MAX_ID}`);

  const filterNode = child(r, 'Filter');
  const rulePrefix = text(r, 'Prefix');
  if (filterNode && rulePrefix !== undefined) throw malformed('a rule has <Filter> or <Prefix>, not both');
  let form: LifecycleRule['form'] = 'none';
  let filter: RuleFilter = { prefix: '', tags: [] };
  if (filterNode) {
    const parsed = parseFilter(filterNode);
    filter = parsed.filter;
    form = parsed.and ? 'and' : 'filter';
  } else if (rulePrefix !== undefined) {
    filter = { prefix: rulePrefix, tags: [] };
    form = 'prefix';
  }

  const rule: LifecycleRule = { id, enabled: status === 'Enabled', form, filter };
  const exp = child(r, 'Expiration');
  if (exp) {
    const days = positiveInt(text(exp, 'Days'), 'Days');
    const date = text(exp, 'Date');
    const marker = text(exp, 'ExpiredObjectDeleteMarker')?.trim();
    if (marker !== undefined) {
      if (marker !== 'true' && marker !== 'false')
        throw malformed('<ExpiredObjectDeleteMarker> must be true or false');
      if (days !== undefined || date !== undefined)
        throw invalid(
          'ExpiredObjectDeleteMarker cannot be specified with Days or Date in a Lifecycle Expiration Policy',
        );
      if (filter.tags.length > 0)
        throw invalid(
          'ExpiredObjectDeleteMarker cannot be specified with a tag filter (a delete marker has no tags)',
        );
      if (marker === 'true') rule.expiredObjectDeleteMarker = true;
    } else if ((days === undefined) === (date === undefined)) {
      throw malformed('<Expiration> holds one of <Days>, <Date> or <ExpiredObjectDeleteMarker>');
    }
    if (days !== undefined) rule.expirationDays = days;
    if (date !== undefined) rule.expirationDate = parseDate(date);
  }
  const noncurrent = child(r, 'NoncurrentVersionExpiration');
  if (noncurrent) {
    const days = positiveInt(text(noncurrent, 'NoncurrentDays'), 'NoncurrentDays');
    if (days === undefined) throw malformed('<NoncurrentVersionExpiration> needs <NoncurrentDays>');
    rule.noncurrentDays = days;
    const newer = positiveInt(text(noncurrent, 'NewerNoncurrentVersions'), 'NewerNoncurrentVersions');
    if (newer !== undefined) {
      if (newer > MAX_NEWER_NONCURRENT)
        throw invalid(`NewerNoncurrentVersions must be at most ${MAX_NEWER_NONCURRENT}`);
      rule.newerNoncurrentVersions = newer;
    }
  }
  const abort = child(r, 'AbortIncompleteMultipartUpload');
  if (abort) {
    const days = positiveInt(text(abort, 'DaysAfterInitiation'), 'DaysAfterInitiation');
    if (days === undefined) throw malformed('<AbortIncompleteMultipartUpload> needs <DaysAfterInitiation>');
    if (filter.tags.length > 0 || filter.sizeGreaterThan !== undefined || filter.sizeLessThan !== undefined)
      throw invalidRequest(
        `Rule ${n}: AbortIncompleteMultipartUpload cannot be combined with a tag or size filter (an upload has neither yet)`,
      );
    rule.abortUploadsAfterDays = days;
  }
  if (!exp && !abort && !noncurrent)
    throw invalidRequest(`Rule ${n}: at least one action needs to be specified in a rule`);
  return rule;
}

/** A `LifecycleConfiguration` document: every rule checked, nothing kept from a refused one. */
export function parseLifecycle(body: string): LifecycleRule[] {
  const root = parseXml(body, 'LifecycleConfiguration');
  const rules = list(root, 'Rule').map((r, i) => parseRule(r, i + 1));
  if (rules.length === 0) throw malformed('no <Rule>');
  if (rules.length > MAX_RULES) throw invalidRequest(`at most ${MAX_RULES} rules`);
  const ids = new Set<string>();
  for (const r of rules) {
    if (ids.has(r.id)) throw invalid('Rule ID must be unique. Found same ID for more than one rule');
    ids.add(r.id);
  }
  return rules;
}

function filterXml(r: LifecycleRule): string {
  const f = r.filter;
  const tags = f.tags.map((t) => `<Tag>${el('Key', t.key)}${el('Value', t.value)}</Tag>`).join('');
  const sizes = `${el('ObjectSizeGreaterThan', f.sizeGreaterThan)}${el('ObjectSizeLessThan', f.sizeLessThan)}`;
  switch (r.form) {
    case 'none':
      return '';
    case 'prefix':
      return el('Prefix', f.prefix);
    case 'and':
      return `<Filter><And>${el('Prefix', f.prefix)}${tags}${sizes}</And></Filter>`;
    case 'filter':
      return `<Filter>${f.prefix !== '' || (tags === '' && sizes === '') ? el('Prefix', f.prefix) : ''}${tags}${sizes}</Filter>`;
  }
}

/** The configuration as GetBucketLifecycleConfiguration returns it. */
export function lifecycleXml(rules: readonly LifecycleRule[]): string {
  return doc(
    'LifecycleConfiguration',
    rules
      .map((r) => {
        const exp =
          r.expirationDays !== undefined
            ? `<Expiration>${el('Days', r.expirationDays)}</Expiration>`
            : r.expirationDate !== undefined
              ? `<Expiration>${el('Date', new Date(r.expirationDate).toISOString())}</Expiration>`
              : r.expiredObjectDeleteMarker
                ? '<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>'
                : '';
        const noncurrent =
          r.noncurrentDays !== undefined
            ? `<NoncurrentVersionExpiration>${el('NoncurrentDays', r.noncurrentDays)}${el('NewerNoncurrentVersions', r.newerNoncurrentVersions)}</NoncurrentVersionExpiration>`
            : '';
        const abort =
          r.abortUploadsAfterDays !== undefined
            ? `<AbortIncompleteMultipartUpload>${el('DaysAfterInitiation', r.abortUploadsAfterDays)}</AbortIncompleteMultipartUpload>`
            : '';
        return `<Rule>${el('ID', r.id)}${filterXml(r)}${el('Status', r.enabled ? 'Enabled' : 'Disabled')}${exp}${noncurrent}${abort}</Rule>`;
      })
      .join(''),
  );
}

export function encodeLifecycle(rules: readonly LifecycleRule[]): Buffer {
  return Buffer.from(JSON.stringify(rules));
}

/** The rules a bucket's attribute holds (none when absent or unreadable). */
export function decodeLifecycle(raw: Buffer | undefined): LifecycleRule[] {
  if (!raw) return [];
  try {
    const rules = JSON.parse(raw.toString()) as unknown;
    return Array.isArray(rules) ? (rules as LifecycleRule[]) : [];
  } catch {
    return [];
  }
}

// ---- when --------------------------------------------------------------------------------------

/** S3 rounds an age-based expiry up to the next midnight UTC. */
const nextMidnight = (ms: number) => Math.ceil(ms / DAY_MS) * DAY_MS;

/** When an object last written at `mtimeMs` expires under the rule; undefined: never. */
export function expiresAt(rule: LifecycleRule, mtimeMs: number): number | undefined {
  if (rule.expirationDate !== undefined) return rule.expirationDate;
  if (rule.expirationDays !== undefined) return nextMidnight(mtimeMs + rule.expirationDays * DAY_MS);
  return undefined;
}

/**
 * When a version that became noncurrent at `sinceMs` goes under the rule; undefined: never
 * (no noncurrent expiry, or one of the `newerNoncurrentVersions` it keeps — `newer` counts the
 * noncurrent versions newer than this one).
 */
export function noncurrentExpiresAt(rule: LifecycleRule, sinceMs: number, newer: number): number | undefined {
  if (rule.noncurrentDays === undefined) return undefined;
  if (rule.newerNoncurrentVersions !== undefined && newer < rule.newerNoncurrentVersions) return undefined;
  return nextMidnight(sinceMs + rule.noncurrentDays * DAY_MS);
}

/** When an upload started at `initiatedMs` is aborted under the rule; undefined: never. */
export function abortsAt(rule: LifecycleRule, initiatedMs: number): number | undefined {
  if (rule.abortUploadsAfterDays === undefined) return undefined;
  return nextMidnight(initiatedMs + rule.abortUploadsAfterDays * DAY_MS);
}

/** Whether the rule's filter names an object: under its prefix, within its sizes, with all its tags. */
export function matchesObject(rule: LifecycleRule, key: string, size: number, tags: readonly Tag[]): boolean {
  const f = rule.filter;
  if (!key.startsWith(f.prefix)) return false;
  if (f.sizeGreaterThan !== undefined && !(size > f.sizeGreaterThan)) return false;
  if (f.sizeLessThan !== undefined && !(size < f.sizeLessThan)) return false;
  return f.tags.every((t) => tags.some((h) => h.key === t.key && h.value === t.value));
}

/** One line for an operator: what the rule does to what. */
export function describeRule(r: LifecycleRule): string {
  const what: string[] = [];
  if (r.filter.prefix !== '') what.push(`keys under "${r.filter.prefix}"`);
  for (const t of r.filter.tags) what.push(`tag ${t.key}=${t.value}`);
  if (r.filter.sizeGreaterThan !== undefined) what.push(`larger than ${r.filter.sizeGreaterThan} B`);
  if (r.filter.sizeLessThan !== undefined) what.push(`smaller than ${r.filter.sizeLessThan} B`);
  const actions: string[] = [];
  if (r.expirationDays !== undefined)
    actions.push(`expire ${r.expirationDays} day${r.expirationDays === 1 ? '' : 's'} after last write`);
  if (r.expirationDate !== undefined)
    actions.push(`expire from ${new Date(r.expirationDate).toISOString().slice(0, 10)}`);
  if (r.expiredObjectDeleteMarker) actions.push('remove delete markers left alone');
  if (r.noncurrentDays !== undefined)
    actions.push(
      `expire noncurrent versions ${r.noncurrentDays} day${r.noncurrentDays === 1 ? '' : 's'} after they were replaced${r.newerNoncurrentVersions !== undefined ? ` (keeping the newest ${r.newerNoncurrentVersions})` : ''}`,
    );
  if (r.abortUploadsAfterDays !== undefined)
    actions.push(
      `abort uploads after ${r.abortUploadsAfterDays} day${r.abortUploadsAfterDays === 1 ? '' : 's'}`,
    );
  return `${actions.join('; ')} — ${what.length > 0 ? what.join(', ') : 'every object'}`;
}
