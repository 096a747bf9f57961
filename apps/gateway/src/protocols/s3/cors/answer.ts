import type { IncomingHttpHeaders, OutgoingHttpHeader, OutgoingHttpHeaders } from 'node:http';
import { S3Error } from '../deps.ts';
import type { CorsRule } from './rules.ts';

/**
 * How S3 answers browsers under a list of CORS rules: the first rule that allows the request's
 * origin and method (and, for a preflight, every header it asks to send) decides. A preflight
 * (OPTIONS) is answered without authentication, as S3 answers it; the request that follows is
 * signed as any other, and its answer (errors included) says what the page may read of it.
 */

/** `*` standing for any run of characters, once at most (parse checked), case ignored. */
function matches(pattern: string, value: string): boolean {
  const p = pattern.toLowerCase();
  const v = value.toLowerCase();
  const star = p.indexOf('*');
  if (star < 0) return p === v;
  const head = p.slice(0, star);
  const tail = p.slice(star + 1);
  return v.length >= head.length + tail.length && v.startsWith(head) && v.endsWith(tail);
}

const originPattern = (r: CorsRule, origin: string) => r.origins.find((o) => matches(o, origin));
const allowsMethod = (r: CorsRule, method: string) => (r.methods as readonly string[]).includes(method);
const allowsHeader = (r: CorsRule, h: string) => r.headers.some((p) => matches(p, h));

const VARY = 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method';

/**
 * What the rule tells the browser: the origin (`*` when the rule's origin is `*`, and then no
 * credentials), the methods, the headers it may read, how long it may keep a preflight's answer.
 */
function ruleHeaders(rule: CorsRule, origin: string, pattern: string): Array<[string, string]> {
  const out: Array<[string, string]> = [['access-control-allow-origin', pattern === '*' ? '*' : origin]];
  if (pattern !== '*') out.push(['access-control-allow-credentials', 'true']);
  out.push(['access-control-allow-methods', rule.methods.join(', ')]);
  if (rule.expose.length > 0) out.push(['access-control-expose-headers', rule.expose.join(', ')]);
  if (rule.maxAgeSeconds !== undefined) out.push(['access-control-max-age', String(rule.maxAgeSeconds)]);
  return out;
}

/**
 * Adds to an answer's header list what a cross-origin caller needs: nothing without rules or
 * an Origin; `Vary` always then (caches keep answers per origin); the matching rule's headers.
 * A preflight's answer carries its own (preflight()).
 */
export function addCorsHeaders(
  rules: readonly CorsRule[],
  method: string | undefined,
  headers: IncomingHttpHeaders,
  list: OutgoingHttpHeader[] | OutgoingHttpHeaders,
): void {
  const origin = headers.origin;
  if (rules.length === 0 || origin === undefined || method === 'OPTIONS') return;
  const pairs: Array<[string, string]> = [['vary', VARY]];
  for (const r of rules) {
    const pattern = originPattern(r, origin);
    if (pattern !== undefined && allowsMethod(r, method ?? 'GET')) {
      pairs.push(...ruleHeaders(r, origin, pattern));
      break;
    }
  }
  for (const [name, value] of pairs) {
    if (Array.isArray(list)) list.push(name, value);
    else list[name] = value;
  }
}

function forbidden(why: string): S3Error {
  return new S3Error('AccessForbidden', `CORSResponse: ${why}`);
}

/**
 * A preflight (OPTIONS): the headers of its 200, or the S3 error that refuses it — saying which
 * of origin, method or header no rule allows, for whoever reads the browser's console.
 */
export function preflight(rules: readonly CorsRule[], headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const origin = headers.origin;
  const method = headers['access-control-request-method'];
  if (origin === undefined || method === undefined)
    throw new S3Error(
      'InvalidRequest',
      'Insufficient information. Origin and Access-Control-Request-Method request headers needed.',
    );
  if (rules.length === 0) throw forbidden('CORS is not enabled for this bucket.');
  const asked = headers['access-control-request-headers'];
  const wanted = (asked ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  const byOrigin = rules.filter((r) => originPattern(r, origin) !== undefined);
  if (byOrigin.length === 0)
    throw forbidden(`This CORS request is not allowed: ${origin} is not an allowed origin.`);
  const byMethod = byOrigin.filter((r) => allowsMethod(r, method));
  if (byMethod.length === 0)
    throw forbidden(`This CORS request is not allowed: ${method} is not an allowed method for ${origin}.`);
  const rule = byMethod.find((r) => wanted.every((h) => allowsHeader(r, h)));
  if (!rule) {
    const refused = wanted.find((h) => !byMethod.some((r) => allowsHeader(r, h)));
    throw forbidden(
      `This CORS request is not allowed: ${refused ? `the request header ${refused} is` : 'these request headers together are'} not allowed for ${method} from ${origin}.`,
    );
  }
  const out: OutgoingHttpHeaders = { vary: VARY };
  for (const [name, value] of ruleHeaders(rule, origin, originPattern(rule, origin)!)) out[name] = value;
  if (asked !== undefined) out['access-control-allow-headers'] = asked;
  return out;
}
