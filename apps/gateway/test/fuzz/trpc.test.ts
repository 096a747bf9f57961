/**
 * Every tRPC procedure (introspected from the router) called with random JSON inputs through
 * createCaller on a real gateway's GatewayControl: as an anonymous caller and a viewer, every
 * protected call is refused (UNAUTHORIZED / FORBIDDEN), no mutation succeeds and nothing
 * changes; as an admin, every call either succeeds or fails with a client error — never
 * INTERNAL_SERVER_ERROR, never another exception, never a hang. A share goes over HTTP to the
 * ops listener with mangled bodies and query strings: always a JSON tRPC error, never a 500.
 */
import { deepEqual, ok } from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { appRouter, createCaller, type Role } from '@claudefs/api';
import { TRPCError } from '@trpc/server';
import { createGatewayControl } from '../../src/ops/trpc/control.ts';
import { type DiagGateway, startDiagGateway } from '../diagnostics/fixture.ts';
import { fuzzCases, fuzzSeed, mutateBytes, Rng, runFuzz } from '../support/fuzz.ts';

type Caller = ReturnType<typeof createCaller>;
type Proc = (input: unknown) => Promise<unknown>;

const procedures = Object.entries(
  appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>,
)
  .map(([path, p]) => ({ path, type: p._def.type }))
  .filter((p) => p.type === 'query' || p.type === 'mutation');

/** Field names the schemas use, so random objects often get past the first check. */
const KEYS =
  'accessKeyId action actor beforeId code detail expiresAt gid grace group groups hard hardInodes id key kind level limit message name outcome password path role scope since soft softInodes status target tree uid until user via window inputs step confirm cert members'.split(
    ' ',
  );
const STRINGS = [
  '',
  'alice',
  'admin',
  'viewer',
  'root',
  'a'.repeat(300),
  '../../etc/passwd',
  '10GB',
  '-1',
  '1.5TiB',
  'debug',
  'metadata',
  'nfs',
  '\0',
  '%00',
  "' OR 1=1 --",
  '__proto__',
  'é',
  '2026-01-01T00:00:00Z',
  'not-a-date',
];
const NUMBERS = [0, -1, 1, 0.5, 2 ** 31, 2 ** 31 - 2, 2 ** 53, -(2 ** 53), Number.MAX_VALUE, 1e-300];

function value(r: Rng, depth: number): unknown {
  switch (r.below(depth > 2 ? 5 : 8)) {
    case 0:
      return null;
    case 1:
      return r.chance(2);
    case 2:
      return r.pick(NUMBERS);
    case 3:
    case 4:
      return r.chance(4) ? r.bytes(r.below(20)).toString('latin1') : r.pick(STRINGS);
    case 5:
      return Array.from({ length: r.below(4) }, () => value(r, depth + 1));
    default:
      return object(r, depth + 1);
  }
}

function object(r: Rng, depth: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let n = r.below(5); n > 0; n--) o[r.pick(KEYS)] = value(r, depth);
  if (r.chance(30)) Object.defineProperty(o, '__proto__', { value: { polluted: true }, enumerable: true });
  return o;
}

const input = (r: Rng): unknown => (r.chance(10) ? undefined : r.chance(5) ? value(r, 0) : object(r, 0));

function call(caller: Caller, path: string, arg: unknown): Promise<unknown> {
  let fn: unknown = caller;
  for (const part of path.split('.')) fn = (fn as Record<string, unknown>)[part];
  return (fn as Proc)(arg);
}

/** A call's outcome, or an exception that is not a TRPCError, or a hang, as a failure. */
async function outcome(caller: Caller, path: string, arg: unknown): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${path} did not answer in 60 s`)), 60_000);
  });
  try {
    await Promise.race([call(caller, path, arg), hang]);
    return 'ok';
  } catch (e) {
    if (!(e instanceof TRPCError)) throw new Error(`${path}(${JSON.stringify(arg)}) threw ${e}`);
    return e.code;
  } finally {
    clearTimeout(timer);
  }
}

let g: DiagGateway;
let callerOf: (role: Role | null) => Caller;

before(async () => {
  g = await startDiagGateway('fuzz-trpc');
  const control = createGatewayControl(g.gw);
  callerOf = (role) =>
    createCaller({ control, session: role === null ? null : { user: `fuzz-${role}`, role } });
});
after(() => g?.stop());

async function snapshot(admin: Caller) {
  return {
    users: await admin.users.list(),
    groups: await admin.groups.list(),
    drain: (await admin.health()) as unknown,
  };
}

const REFUSED_CASES = fuzzCases(3_000);
const ADMIN_CASES = fuzzCases(15_000);
const HTTP_CASES = fuzzCases(2_000);

test(`1 ${REFUSED_CASES} random calls as anonymous and viewer: refused or read-only, nothing changes`, async () => {
  const r = new Rng(fuzzSeed('trpc refused'));
  const admin = callerOf('admin');
  const before = await snapshot(admin);
  const codes = new Map<string, number>();
  await runFuzz('tRPC inputs', REFUSED_CASES, async () => {
    for (let i = 0; i < REFUSED_CASES; i++) {
      const p = r.pick(procedures);
      const role = r.chance(2) ? null : ('viewer' as const);
      const got = await outcome(callerOf(role), p.path, input(r));
      const key = `${role ?? 'anonymous'} ${p.type} ${got}`;
      codes.set(key, (codes.get(key) ?? 0) + 1);
      ok(got !== 'INTERNAL_SERVER_ERROR', `${p.path} as ${role}: ${got}`);
      // A mutation as these callers changes nothing: only sign-in/out are open to them, and
      // random credentials never sign in.
      if (p.type === 'mutation' && got === 'ok')
        ok(p.path === 'auth.signOut', `${p.path} as ${role} succeeded`);
    }
  });
  deepEqual(
    JSON.parse(JSON.stringify((await snapshot(admin)).users)),
    JSON.parse(JSON.stringify(before.users)),
  );
  deepEqual(
    JSON.parse(JSON.stringify((await snapshot(admin)).groups)),
    JSON.parse(JSON.stringify(before.groups)),
  );
  ok(codes.size > 4, JSON.stringify([...codes]));
});

test(`2 ${ADMIN_CASES} random calls as admin: success or a client error, never INTERNAL_SERVER_ERROR`, async (t) => {
  const r = new Rng(fuzzSeed('trpc admin'));
  const admin = callerOf('admin');
  const codes = new Map<string, number>();
  await runFuzz('tRPC inputs', ADMIN_CASES, async () => {
    for (let i = 0; i < ADMIN_CASES; i++) {
      const p = r.pick(procedures);
      const arg = input(r);
      const got = await outcome(admin, p.path, arg);
      codes.set(got, (codes.get(got) ?? 0) + 1);
      ok(got !== 'INTERNAL_SERVER_ERROR', `${p.path}(${JSON.stringify(arg)}): INTERNAL_SERVER_ERROR`);
    }
  });
  t.diagnostic(JSON.stringify([...codes]));
  ok((codes.get('BAD_REQUEST') ?? 0) > ADMIN_CASES / 4, JSON.stringify([...codes]));
  // Still serving.
  ok((await admin.health()) !== undefined);
});

test(`3 ${HTTP_CASES} mangled HTTP calls to /trpc: a JSON error reply, never a 500`, async () => {
  const r = new Rng(fuzzSeed('trpc http'));
  const base = `http://127.0.0.1:${g.ports.health}`;
  const statuses = new Map<number, number>();
  await runFuzz('tRPC inputs', HTTP_CASES, async () => {
    for (let i = 0; i < HTTP_CASES; i++) {
      const p = r.pick(procedures);
      const json = Buffer.from(JSON.stringify(input(r)) ?? '');
      const body = r.chance(2) ? mutateBytes(r, json, [], 3) : json;
      const batch = r.chance(8);
      const path = batch ? `${p.path},${r.pick(procedures).path}` : p.path;
      const query = p.type === 'query' || r.chance(6);
      const url = `${base}/trpc/${path}${query ? `?${batch ? 'batch=1&' : ''}input=${encodeURIComponent(body.toString('latin1'))}` : batch ? '?batch=1' : ''}`;
      const res = await fetch(url, {
        method: query ? 'GET' : 'POST',
        headers: { 'content-type': r.chance(8) ? 'text/plain' : 'application/json', 'x-cfs-csrf': '1' },
        ...(query ? {} : { body: new Uint8Array(body) }),
        signal: AbortSignal.timeout(60_000),
      });
      const text = await res.text();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      ok(
        res.status < 500,
        `${res.status} for ${url} ${body.toString('latin1').slice(0, 200)}: ${text.slice(0, 300)}`,
      );
      JSON.parse(text);
    }
  });
  ok(statuses.size >= 2, JSON.stringify([...statuses]));
});
