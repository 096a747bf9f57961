import { S3Error } from '../deps.ts';
import { el, list, malformed, parseXml, text, texts } from '../xml.ts';

/**
 * CORS rules: which web origins' pages may call S3, with which methods and request headers,
 * and what of the answers they may read. A bucket's own (PutBucketCors, kept in its CORS_XATTR)
 * or, for a bucket without, the gateway's one rule from `s3.cors_origins`.
 */
export interface CorsRule {
  id?: string;
  /** Origins as given (`https://app.example.com`, `https://*.example.com`, `*`). */
  origins: string[];
  methods: CorsMethod[];
  /** Request headers a preflight may ask for, lower case (`*`, `x-amz-*`). */
  headers: string[];
  /** Response headers the page may read besides the CORS-safelisted ones. */
  expose: string[];
  maxAgeSeconds?: number;
}

/** The bucket attribute holding its own rules (JSON, as CorsRule[]); absent: the gateway's rule. */
export const CORS_XATTR = 's3.cors';

export const CORS_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'] as const;
export type CorsMethod = (typeof CORS_METHODS)[number];

/** S3's bounds: 100 rules, a 64 KiB document. */
const MAX_RULES = 100;
export const MAX_CORS_BYTES = 64 * 1024;
const MAX_ID = 255;

/** What a page may read of an answer under the gateway's rule. */
const GATEWAY_EXPOSED: readonly string[] = [
  'ETag',
  'Content-Length',
  'Content-Range',
  'Accept-Ranges',
  'x-amz-request-id',
  'x-amz-version-id',
  'x-amz-delete-marker',
  'x-amz-checksum-crc32',
  'x-amz-checksum-crc32c',
  'x-amz-checksum-crc64nvme',
  'x-amz-checksum-sha1',
  'x-amz-checksum-sha256',
];

const gatewayRuleOf = new WeakMap<readonly string[], readonly CorsRule[]>();

/**
 * The gateway's rule for `s3.cors_origins` (the config's list, so one per reload): the listed
 * origins may use every method with any request headers, read ETags, version ids, checksums
 * and ranges, and keep a preflight's answer an hour. None when the list is empty.
 */
export function gatewayRules(origins: readonly string[]): readonly CorsRule[] {
  let rules = gatewayRuleOf.get(origins);
  if (!rules) {
    rules =
      origins.length === 0
        ? []
        : [
            {
              origins: [...origins],
              methods: [...CORS_METHODS],
              headers: ['*'],
              expose: [...GATEWAY_EXPOSED],
              maxAgeSeconds: 3600,
            },
          ];
    gatewayRuleOf.set(origins, rules);
  }
  return rules;
}

/**
 * A PutBucketCors body, checked whole as S3 checks it: one to 100 CORSRules, each with at least
 * one AllowedMethod (GET, PUT, POST, DELETE, HEAD) and AllowedOrigin; origins and allowed
 * headers with one `*` at most, exposed headers with none; MaxAgeSeconds a whole number.
 */
export function parseCorsConfiguration(body: string): CorsRule[] {
  const root = parseXml(body, 'CORSConfiguration');
  for (const tag of Object.keys(root))
    if (tag !== 'CORSRule') throw malformed(`<${tag}> is not part of a CORSConfiguration`);
  const rules = list(root, 'CORSRule');
  if (rules.length === 0) throw malformed('a CORSConfiguration holds at least one <CORSRule>');
  if (rules.length > MAX_RULES)
    throw malformed(`a CORSConfiguration holds at most ${MAX_RULES} rules, this one ${rules.length}`);
  return rules.map(parseRule);
}

const RULE_TAGS = new Set([
  'ID',
  'AllowedMethod',
  'AllowedOrigin',
  'AllowedHeader',
  'ExposeHeader',
  'MaxAgeSeconds',
]);

function parseRule(node: Record<string, unknown>): CorsRule {
  for (const tag of Object.keys(node))
    if (!RULE_TAGS.has(tag)) throw malformed(`<${tag}> is not part of a CORSRule`);
  const id = text(node, 'ID')?.trim();
  if (id !== undefined && id.length > MAX_ID)
    throw new S3Error('InvalidArgument', `The ID of a CORSRule is at most ${MAX_ID} characters.`, {
      ArgumentName: 'ID',
    });
  const methods = texts(node, 'AllowedMethod').map((m) => m.trim());
  if (methods.length === 0) throw malformed('each <CORSRule> needs an <AllowedMethod>');
  for (const m of methods)
    if (!(CORS_METHODS as readonly string[]).includes(m))
      throw new S3Error(
        'InvalidRequest',
        `Found unsupported HTTP method in CORS config. Unsupported method is ${m}`,
      );
  const origins = texts(node, 'AllowedOrigin').map((o) => o.trim());
  if (origins.length === 0) throw malformed('each <CORSRule> needs an <AllowedOrigin>');
  for (const o of origins) oneWildcardAtMost('AllowedOrigin', o);
  const headers = texts(node, 'AllowedHeader').map((h) => h.trim().toLowerCase());
  for (const h of headers) oneWildcardAtMost('AllowedHeader', h);
  const expose = texts(node, 'ExposeHeader').map((h) => h.trim());
  for (const h of expose)
    if (h.includes('*'))
      throw new S3Error(
        'InvalidRequest',
        `ExposeHeader "${h}" contains wildcard. We currently do not support wildcard for ExposeHeader.`,
      );
  const age = text(node, 'MaxAgeSeconds')?.trim();
  if (age !== undefined && !/^\d{1,9}$/.test(age))
    throw malformed(`<MaxAgeSeconds> must be a whole number of seconds, not "${age.slice(0, 32)}"`);
  return {
    ...(id ? { id } : {}),
    origins,
    methods: [...new Set(methods)] as CorsMethod[],
    headers,
    expose,
    ...(age !== undefined ? { maxAgeSeconds: Number(age) } : {}),
  };
}

function oneWildcardAtMost(tag: string, value: string): void {
  if (value.indexOf('*') !== value.lastIndexOf('*'))
    throw new S3Error('InvalidRequest', `${tag} "${value}" can not have more than one wildcard.`);
}

/** The inside of GetBucketCors's CORSConfiguration document. */
export function corsXml(rules: readonly CorsRule[]): string {
  return rules
    .map((r) => {
      let inner = r.id ? el('ID', r.id) : '';
      for (const h of r.headers) inner += el('AllowedHeader', h);
      for (const m of r.methods) inner += el('AllowedMethod', m);
      for (const o of r.origins) inner += el('AllowedOrigin', o);
      for (const h of r.expose) inner += el('ExposeHeader', h);
      if (r.maxAgeSeconds !== undefined) inner += el('MaxAgeSeconds', r.maxAgeSeconds);
      return `<CORSRule>${inner}</CORSRule>`;
    })
    .join('');
}

export function encodeCors(rules: readonly CorsRule[]): Buffer {
  return Buffer.from(JSON.stringify(rules));
}

const decoded = new WeakMap<Buffer, readonly CorsRule[]>();

const isStrings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
/** A stored rule of the shape this version writes. */
function isRule(r: unknown): boolean {
  if (typeof r !== 'object' || r === null) return false;
  const o = r as Record<string, unknown>;
  return isStrings(o.origins) && isStrings(o.methods) && isStrings(o.headers) && isStrings(o.expose);
}

/**
 * The bucket's own rules, from its attributes (decoded once per stored value); undefined when it
 * has none. A value this version cannot read allows no origin — closed, not open — until the
 * rules are put again.
 */
export function corsRulesIn(xattrs: ReadonlyMap<string, Buffer>): readonly CorsRule[] | undefined {
  const raw = xattrs.get(CORS_XATTR);
  if (!raw) return undefined;
  let rules = decoded.get(raw);
  if (!rules) {
    try {
      const parsed = JSON.parse(raw.toString()) as unknown;
      rules = Array.isArray(parsed) && parsed.every(isRule) ? (parsed as CorsRule[]) : [];
    } catch {
      rules = [];
    }
    decoded.set(raw, rules);
  }
  return rules;
}
