import type { BucketPolicy, Condition, Statement } from './document.ts';
import { wildcardMatch } from './wildcard.ts';

/** What a request is, as a bucket policy sees it. */
export interface PolicyRequest {
  /** The IAM action (lower case): `s3:getobject`. */
  action: string;
  /** The resource's ARN: `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`. */
  resource: string;
  /** The key's user; undefined for an anonymous request. */
  user: string | undefined;
  sourceIp: string;
  secure: boolean;
  referer?: string;
  userAgent?: string;
  /** ListBucket's `prefix`. */
  prefix?: string;
}

export interface Decision {
  effect: 'Allow' | 'Deny';
  /** The statement that decided (its Sid, or its position). */
  statement: string;
}

/**
 * IAM's evaluation for one resource policy: an explicit Deny wins; else an Allow allows; else
 * the policy says nothing (undefined) and the gateway's own rules decide.
 */
export function evaluate(policy: BucketPolicy, r: PolicyRequest): Decision | undefined {
  let decided: Decision | undefined;
  policy.statements.forEach((s, i) => {
    if (decided?.effect === 'Deny' || !applies(s, r)) return;
    if (s.effect === 'Deny' || decided === undefined)
      decided = { effect: s.effect, statement: s.sid ?? String(i + 1) };
  });
  return decided;
}

function applies(s: Statement, r: PolicyRequest): boolean {
  if (s.principals !== '*' && (r.user === undefined || !s.principals.has(r.user))) return false;
  if (s.actions.some((a) => wildcardMatch(a, r.action)) === s.notActions) return false;
  if (s.resources.some((p) => wildcardMatch(p, r.resource)) === s.notResources) return false;
  return s.conditions.every((c) => holds(c, r));
}

function requestValue(c: Condition, r: PolicyRequest): string | undefined {
  switch (c.key) {
    case 'aws:sourceip':
      return r.sourceIp;
    case 'aws:securetransport':
      return String(r.secure);
    case 'aws:referer':
      return r.referer;
    case 'aws:useragent':
      return r.userAgent;
    case 'aws:username':
      return r.user;
    case 's3:prefix':
      return r.prefix;
  }
}

/** A condition on a key the request lacks holds only for the negated operators, as in IAM. */
function holds(c: Condition, r: PolicyRequest): boolean {
  const v = requestValue(c, r);
  const negated = c.op.includes('not');
  if (v === undefined) return negated;
  let any: boolean;
  switch (c.op.replace('not', '')) {
    case 'stringequals':
      any = c.values.includes(v);
      break;
    case 'stringequalsignorecase':
      any = c.values.some((x) => x.toLowerCase() === v.toLowerCase());
      break;
    case 'stringlike':
      any = c.values.some((x) => wildcardMatch(x, v));
      break;
    case 'ipaddress': {
      // An IPv4 client on a dual-stack socket reads ::ffff:a.b.c.d.
      const ip = v.startsWith('::ffff:') && v.includes('.') ? v.slice(7) : v;
      any = c.subnets?.check(ip, ip.includes(':') ? 'ipv6' : 'ipv4') ?? false;
      break;
    }
    case 'bool':
      any = c.values.includes(v);
      break;
    default:
      return false;
  }
  return negated ? !any : any;
}
