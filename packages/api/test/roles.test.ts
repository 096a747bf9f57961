import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TRPCError } from '@trpc/server';
import { appRouter, createCaller, type Role } from '../src/index.ts';
import { context, fakeControl, fakeTransport, type Who } from './fake-control.ts';

const PEM_CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const PEM_KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';

type Access = 'public' | Role;

/** Every procedure, a valid input, and the least role that may call it. */
const PROCEDURES: Array<[path: string, input: unknown, access: Access]> = [
  ['health', undefined, 'public'],
  ['auth.session', undefined, 'public'],
  ['auth.signIn', { user: 'alice', password: 'right-password' }, 'public'],
  ['auth.signOut', undefined, 'public'],
  ['metrics.history', { window: '1h' }, 'viewer'],
  ['diagnostics.list', undefined, 'viewer'],
  ['diagnostics.run', { tree: 'backend' }, 'viewer'],
  ['diagnostics.bundle', undefined, 'viewer'],
  ['diagnostics.remediate', { action: 'cache.invalidate', scope: 'all' }, 'operator'],
  ['metrics.snapshot', undefined, 'viewer'],
  ['listeners.list', undefined, 'viewer'],
  ['nodes.list', undefined, 'viewer'],
  ['nodes.drain', { name: 'gw-2' }, 'operator'],
  ['nodes.undrain', { name: 'gw-2' }, 'operator'],
  ['nodes.reload', { name: 'gw-2' }, 'operator'],
  ['rollingRestart.status', undefined, 'viewer'],
  ['rollingRestart.start', undefined, 'operator'],
  ['rollingRestart.cancel', undefined, 'operator'],
  ['connections.list', undefined, 'viewer'],
  ['connections.smbOpenFiles', undefined, 'viewer'],
  ['connections.closeSmbFile', { session: '0x1', fileId: '0x5' }, 'operator'],
  ['connections.endSmbSessions', { connection: 7 }, 'operator'],
  ['connections.locks', undefined, 'viewer'],
  ['connections.releaseLocks', { client: 'build-7.example.net' }, 'operator'],
  ['circuits.list', undefined, 'viewer'],
  ['circuits.reset', { backend: 'metadata' }, 'operator'],
  ['cache.invalidate', { scope: 'all' }, 'operator'],
  ['drain.status', undefined, 'viewer'],
  ['drain.drain', undefined, 'operator'],
  ['drain.undrain', undefined, 'operator'],
  ['config.status', undefined, 'viewer'],
  ['config.preview', undefined, 'viewer'],
  ['config.access', undefined, 'viewer'],
  ['config.reload', undefined, 'operator'],
  ['quotas.list', undefined, 'viewer'],
  ['quotas.get', { uid: 1000 }, 'viewer'],
  ['quotas.set', { uid: 1000, soft: '20GB', hard: '25GB' }, 'admin'],
  ['quotas.remove', { uid: 1000 }, 'admin'],
  ['quotas.explain', { uid: 1000 }, 'viewer'],
  ['quotas.usage', { kind: 'uid' }, 'viewer'],
  ['s3.buckets', undefined, 'viewer'],
  ['s3.bucketUsage', { bucket: 'logs' }, 'viewer'],
  ['s3.uploads', undefined, 'viewer'],
  ['s3.abortUpload', { uploadId: '0123456789abcdef0123456789abcdef' }, 'operator'],
  ['s3.lifecycle', undefined, 'viewer'],
  ['s3.runLifecycle', undefined, 'operator'],
  ['users.list', undefined, 'viewer'],
  ['users.add', { name: 'bob', role: 'viewer', password: 'bob-password' }, 'admin'],
  ['users.remove', { name: 'bob' }, 'admin'],
  ['users.setPassword', { name: 'bob', password: 'new-bob-password' }, 'admin'],
  ['users.setRole', { name: 'bob', role: 'operator' }, 'admin'],
  ['users.setDisabled', { name: 'bob', disabled: true }, 'admin'],
  ['groups.list', undefined, 'viewer'],
  ['groups.add', { name: 'staff', gid: 1500 }, 'admin'],
  ['groups.remove', { name: 'staff' }, 'admin'],
  ['groups.addMember', { name: 'staff', user: 'bob' }, 'admin'],
  ['groups.removeMember', { name: 'staff', user: 'bob' }, 'admin'],
  ['keys.list', { user: 'alice' }, 'viewer'],
  ['keys.create', { user: 'alice' }, 'admin'],
  ['keys.revoke', { accessKeyId: 'CFSAAAAAAAAAAAAAAAAA' }, 'admin'],
  ['certs.status', undefined, 'viewer'],
  ['certs.upload', { cert: PEM_CERT, key: PEM_KEY }, 'admin'],
  ['audit.list', { outcome: 'denied' }, 'viewer'],
];

const WHO: Who[] = ['viewer', 'operator', 'admin', 'anonymous'];
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

type Expected = 'allowed' | 'FORBIDDEN' | 'UNAUTHORIZED';

function expected(access: Access, who: Who): Expected {
  if (access === 'public') return 'allowed';
  if (who === 'anonymous') return 'UNAUTHORIZED';
  return RANK[who] >= RANK[access] ? 'allowed' : 'FORBIDDEN';
}

type Call = (input?: unknown) => Promise<unknown>;

/** `caller['drain']['drain']`, reached by its dotted path. */
export function procedureAt(caller: object, path: string): Call {
  const fn = path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], caller);
  assert.equal(typeof fn, 'function', `no procedure ${path}`);
  return fn as Call;
}

const mutations = new Set(
  Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>)
    .filter(([, p]) => p._def.type === 'mutation')
    .map(([path]) => path),
);

describe('role matrix: each procedure × viewer/operator/admin/anonymous', () => {
  test('0 the table names every procedure of the router, once', () => {
    assert.deepEqual(PROCEDURES.map(([p]) => p).sort(), Object.keys(appRouter._def.procedures).sort());
  });

  let n = 0;
  for (const [path, input, access] of PROCEDURES) {
    for (const who of WHO) {
      n++;
      const want = expected(access, who);
      const audited = mutations.has(path);
      test(`${n} ${path} as ${who} → ${want}${audited ? ', audited' : ''}`, async () => {
        const control = fakeControl();
        const caller = createCaller(context(who, control, fakeTransport()));
        const call = procedureAt(caller, path)(input);
        if (want === 'allowed') {
          await call;
        } else {
          await assert.rejects(call, (e: unknown) => {
            assert.ok(e instanceof TRPCError, String(e));
            assert.equal(e.code, want);
            return true;
          });
          // Refused before the gateway was asked to do anything but record the refusal.
          assert.deepEqual(
            control.calls.map((c) => c.method).filter((m) => m !== 'recordAudit'),
            [],
          );
        }
        if (!audited) {
          assert.equal(control.audits.length, 0, 'reads are not audited');
          return;
        }
        assert.equal(control.audits.length, 1, 'one audit entry per mutation');
        const entry = control.audits[0]!;
        assert.equal(entry.outcome, want === 'allowed' ? 'ok' : 'denied');
        assert.equal(entry.remoteAddress, '192.0.2.7');
        if (who !== 'anonymous') assert.equal(entry.actor, `console:${context(who, control).session!.user}`);
      });
    }
  }
});
