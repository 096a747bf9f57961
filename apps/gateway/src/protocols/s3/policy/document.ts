import { BlockList, isIP } from 'node:net';
import { S3Error } from '../deps.ts';
import { actionsMatching, isReadAction } from './actions.ts';
import { wildcardMatch } from './wildcard.ts';

/**
 * A bucket policy (the IAM policy language, as S3 reads one): Allow and Deny statements over
 * principals, actions, resources and conditions. What this gateway carries out: Deny statements
 * of every shape, for anyone or named users (`arn:aws:iam::…:user/NAME`, NAME a `./cfs user`);
 * and Allow statements that let anyone (`"Principal": "*"`) read — anonymous access by policy,
 * as `mc anonymous set download` writes it. Access beyond that is POSIX's: a key's user acts
 * with its uid and gid, so an Allow that would grant writes, or grant a named user more than
 * its mode bits, is refused at PutBucketPolicy (NotImplemented) rather than silently ignored.
 */
export interface BucketPolicy {
  statements: Statement[];
}

export interface Statement {
  sid: string | undefined;
  effect: 'Allow' | 'Deny';
  /** '*': anyone, anonymous included; otherwise user names. */
  principals: '*' | ReadonlySet<string>;
  /** Action patterns (lower case, `*` and `?` wildcards); with notActions, every other action. */
  actions: readonly string[];
  notActions: boolean;
  /** Resource ARN patterns (`arn:aws:s3:::bucket/logs/*`, `*`), matched whole; notResources negates. */
  resources: readonly string[];
  notResources: boolean;
  conditions: readonly Condition[];
}

export type ConditionKey =
  | 'aws:sourceip'
  | 'aws:securetransport'
  | 'aws:referer'
  | 'aws:useragent'
  | 'aws:username'
  | 's3:prefix';

export interface Condition {
  /** The operator, lower case (`stringlike`, `ipaddress`…). */
  op: string;
  key: ConditionKey;
  values: readonly string[];
  /** For the IP operators: the values as a block list. */
  subnets?: BlockList;
}

/** S3's limit on a bucket policy's size. */
export const MAX_POLICY_BYTES = 20 * 1024;

const KEYS: readonly ConditionKey[] = [
  'aws:sourceip',
  'aws:securetransport',
  'aws:referer',
  'aws:useragent',
  'aws:username',
  's3:prefix',
];
const STRING_OPS = [
  'stringequals',
  'stringnotequals',
  'stringequalsignorecase',
  'stringnotequalsignorecase',
  'stringlike',
  'stringnotlike',
];
const IP_OPS = ['ipaddress', 'notipaddress'];
const OPS = [...STRING_OPS, ...IP_OPS, 'bool'];
export const ARN = 'arn:aws:s3:::';
const USER_ARN = /^arn:aws:iam::[0-9]*:user\/([A-Za-z0-9_.@+=,-]{1,64})$/;

const malformed = (message: string) => new S3Error('MalformedPolicy', message);
const unsupported = (message: string) =>
  new S3Error(
    'NotImplemented',
    `${message} (this gateway's bucket policies deny anything, and allow anyone to read).`,
  );

type Json = unknown;

/** One value or a list of them, as the policy language allows, as strings. */
function strings(v: Json, field: string): string[] {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) throw malformed(`${field} must not be empty`);
  return list.map((x) => {
    if (typeof x !== 'string') throw malformed(`${field} must be a string or a list of strings`);
    return x;
  });
}

/** The bucket policy in `text`, for `bucket`; MalformedPolicy or NotImplemented, naming what is wrong. */
export function parsePolicy(text: string, bucket: string): BucketPolicy {
  if (Buffer.byteLength(text) > MAX_POLICY_BYTES)
    throw malformed(`Policies are at most ${MAX_POLICY_BYTES} bytes`);
  let doc: Json;
  try {
    doc = JSON.parse(text);
  } catch {
    throw malformed("Policies must be valid JSON and the first byte must be '{'");
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw malformed("Policies must be valid JSON and the first byte must be '{'");
  const d = doc as Record<string, Json>;
  for (const k of Object.keys(d))
    if (!['Version', 'Id', 'Statement'].includes(k)) throw malformed(`Unknown field ${k}`);
  if (d.Version !== undefined && d.Version !== '2012-10-17' && d.Version !== '2008-10-17')
    throw malformed('The policy must contain a valid version string');
  if (d.Statement === undefined) throw malformed('Missing required field Statement');
  const list = Array.isArray(d.Statement) ? d.Statement : [d.Statement];
  if (list.length === 0) throw malformed('Missing required field Statement');
  return { statements: list.map((s, i) => parseStatement(s, i, bucket)) };
}

function parseStatement(s: Json, i: number, bucket: string): Statement {
  if (typeof s !== 'object' || s === null || Array.isArray(s))
    throw malformed(`Statement ${i + 1} must be an object`);
  const st = s as Record<string, Json>;
  const known = [
    'Sid',
    'Effect',
    'Principal',
    'NotPrincipal',
    'Action',
    'NotAction',
    'Resource',
    'NotResource',
    'Condition',
  ];
  for (const k of Object.keys(st))
    if (!known.includes(k)) throw malformed(`Unknown field ${k} in statement ${i + 1}`);
  const sid = st.Sid === undefined ? undefined : String(st.Sid);
  const name = sid ? `statement ${sid}` : `statement ${i + 1}`;
  if (st.Effect !== 'Allow' && st.Effect !== 'Deny')
    throw malformed(`Invalid effect in ${name}: Allow or Deny`);
  if (st.NotPrincipal !== undefined) throw unsupported(`NotPrincipal (${name}) is not supported`);
  if (st.Principal === undefined) throw malformed(`Missing required field Principal in ${name}`);
  const principals = parsePrincipal(st.Principal, name);
  if ((st.Action === undefined) === (st.NotAction === undefined))
    throw malformed(`${name} needs either Action or NotAction`);
  if ((st.Resource === undefined) === (st.NotResource === undefined))
    throw malformed(`${name} needs either Resource or NotResource`);
  const notActions = st.NotAction !== undefined;
  const actions = strings(st.Action ?? st.NotAction, 'Action').map((a) => {
    const lower = a.toLowerCase();
    if (lower !== '*' && !/^s3:[a-z0-9*?]+$/.test(lower)) throw malformed(`Policy has invalid action: ${a}`);
    return lower === '*' ? 's3:*' : lower;
  });
  const notResources = st.NotResource !== undefined;
  const resources = strings(st.Resource ?? st.NotResource, 'Resource').map((r) => {
    if (r === '*') return r;
    if (!r.startsWith(ARN)) throw malformed(`Policy has invalid resource: ${r}`);
    const rest = r.slice(ARN.length);
    const slash = rest.indexOf('/');
    if (!wildcardMatch(slash < 0 ? rest : rest.slice(0, slash), bucket))
      throw malformed(`Policy has invalid resource: ${r} is not in bucket ${bucket}`);
    return r;
  });
  const conditions = parseConditions(st.Condition, name);
  const statement: Statement = {
    sid,
    effect: st.Effect,
    principals,
    actions,
    notActions,
    resources,
    notResources,
    conditions,
  };
  if (statement.effect === 'Allow') checkAllow(statement, name);
  return statement;
}

function parsePrincipal(p: Json, name: string): '*' | ReadonlySet<string> {
  if (p === '*') return '*';
  if (typeof p !== 'object' || p === null || Array.isArray(p))
    throw malformed(`Invalid principal in ${name}`);
  const kinds = Object.keys(p);
  for (const k of kinds)
    if (k !== 'AWS')
      throw unsupported(`Principal ${k} (${name}) is not supported: name "*" or users as AWS ARNs`);
  const list = strings((p as Record<string, Json>).AWS, 'Principal');
  if (list.includes('*')) return '*';
  return new Set(
    list.map((a) => {
      const m = USER_ARN.exec(a);
      if (!m) throw malformed(`Invalid principal in ${name}: ${a} (arn:aws:iam::ACCOUNT:user/NAME)`);
      return m[1]!;
    }),
  );
}

function parseConditions(c: Json, name: string): Condition[] {
  if (c === undefined) return [];
  if (typeof c !== 'object' || c === null || Array.isArray(c))
    throw malformed(`Invalid Condition in ${name}`);
  const out: Condition[] = [];
  for (const [opName, block] of Object.entries(c as Record<string, Json>)) {
    const op = opName.toLowerCase();
    if (!OPS.includes(op)) throw unsupported(`Condition operator ${opName} (${name}) is not supported`);
    if (typeof block !== 'object' || block === null || Array.isArray(block))
      throw malformed(`Invalid Condition ${opName} in ${name}`);
    for (const [keyName, v] of Object.entries(block as Record<string, Json>)) {
      const key = keyName.toLowerCase() as ConditionKey;
      if (!KEYS.includes(key)) throw unsupported(`Condition key ${keyName} (${name}) is not supported`);
      const values = (Array.isArray(v) ? v : [v]).map((x) => {
        if (typeof x !== 'string' && typeof x !== 'boolean' && typeof x !== 'number')
          throw malformed(`Invalid value for ${keyName} in ${name}`);
        return String(x);
      });
      if (values.length === 0) throw malformed(`Condition ${keyName} in ${name} has no value`);
      const cond: Condition = { op, key, values };
      if (IP_OPS.includes(op) !== (key === 'aws:sourceip'))
        throw malformed(`${opName} does not apply to ${keyName} in ${name}`);
      if (op === 'bool' && key !== 'aws:securetransport')
        throw malformed(`Bool does not apply to ${keyName} in ${name}`);
      if (op === 'bool' && !values.every((x) => x === 'true' || x === 'false'))
        throw malformed(`Bool takes true or false in ${name}`);
      if (key === 'aws:sourceip') cond.subnets = subnets(values, name);
      out.push(cond);
    }
  }
  return out;
}

function subnets(values: readonly string[], name: string): BlockList {
  const list = new BlockList();
  for (const v of values) {
    const [addr, bits] = v.split('/');
    const family = isIP(addr ?? '');
    const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
    if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32))
      throw malformed(`Invalid IP address or CIDR ${v} in ${name}`);
    list.addSubnet(addr!, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

/**
 * An Allow must let anyone read and nothing more: named principals act with their own uid and
 * gid here, and anonymous writers have none.
 */
function checkAllow(s: Statement, name: string): void {
  if (s.principals !== '*')
    throw unsupported(
      `Allow for named users (${name}) is not supported: a user's access is its uid's and gid's mode bits`,
    );
  if (s.notActions)
    throw unsupported(`Allow with NotAction (${name}) would grant writes, which is not supported`);
  for (const pattern of s.actions) {
    const matched = actionsMatching(pattern);
    if (matched.length === 0) throw malformed(`Policy has invalid action: ${pattern}`);
    const write = matched.find((a) => !isReadAction(a));
    if (write)
      throw unsupported(
        `Allow of ${pattern} for anyone (${name}) grants ${write}: anyone may only be allowed to read`,
      );
  }
}
