import { equal, match, ok } from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cliActor } from '../../src/cli/format/identity-context.ts';
import { openControlPlane } from '../../src/control/index.ts';
import { fetchText } from '../support/http.ts';
import { freePorts } from '../support/ports.ts';
import { type ProcessHandle, runCommand, spawnProcess } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';

const CFS = fileURLToPath(new URL('../../../../cfs', import.meta.url));

function nonLoopbackAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

describe('admin API', () => {
  let dir: string;
  let port: number;
  let gw: ProcessHandle;
  let viewerToken: string;
  let operatorToken: string;
  const base = () => `http://127.0.0.1:${port}`;

  before(async () => {
    dir = makeTempDir('admin');
    const ports = await freePorts(5);
    port = ports[4]!;
    const file = join(dir, 'gateway.yaml');
    writeFileSync(
      file,
      `node: { state_dir: ${dir}/state }
nfs: { enabled: false }
smb: { enabled: false }
s3: { enabled: false }
health: { bind: 0.0.0.0:${port} }
`,
    );
    const cp = await openControlPlane({ stateDir: join(dir, 'state') });
    viewerToken = (await cp.adminTokens.create('dash', 'viewer')).token;
    operatorToken = (await cp.adminTokens.create('ops', 'operator')).token;
    await cp.close();
    gw = spawnProcess(CFS, ['gateway', 'start', '--config', file], {
      name: 'gateway',
      env: { CFS_ADMIN_PASSWORD: 'x-Admin-pw-1' },
    });
    await gw.waitForLine(/gateway started/, 60_000);
  });
  after(() => gw.stop());

  test(
    "1 the runbook's plain curl invalidates the cache from the gateway host",
    requireTools('curl'),
    async () => {
      const r = await runCommand('curl', [
        '-s',
        '-X',
        'POST',
        `http://localhost:${port}/admin/cache/invalidate`,
      ]);
      equal(r.code, 0);
      const body = JSON.parse(r.stdout);
      equal(body.scope, 'all');
      equal(typeof body.dropped.total, 'number');
    },
  );

  test('2 a browser request from localhost is not trusted (CSRF): 401', async () => {
    const r = await fetchText(`${base()}/admin/drain`, {
      method: 'POST',
      headers: { origin: 'http://evil.example' },
    });
    equal(r.status, 401);
    match(r.body, /browser request/);
    const c = await fetchText(`${base()}/admin/cache/invalidate`, {
      method: 'POST',
      headers: { cookie: 'a=b' },
    });
    equal(c.status, 401);
  });

  test('3 tokens: a viewer reads but cannot drain (403); an operator resets a circuit; a bad token is 401', async () => {
    const auth = (t: string) => ({ authorization: `Bearer ${t}` });
    equal((await fetchText(`${base()}/admin/connections`, { headers: auth(viewerToken) })).status, 200);
    const denied = await fetchText(`${base()}/admin/drain`, { method: 'POST', headers: auth(viewerToken) });
    equal(denied.status, 403);
    match(denied.body, /needs operator/);
    const reset = await fetchText(`${base()}/admin/circuits/metadata/reset`, {
      method: 'POST',
      headers: auth(operatorToken),
    });
    equal(reset.status, 200);
    equal(JSON.parse(reset.body).state, 'closed');
    equal(
      (
        await fetchText(`${base()}/admin/circuits/disk/reset`, {
          method: 'POST',
          headers: auth(operatorToken),
        })
      ).status,
      404,
    );
    equal((await fetchText(`${base()}/admin/connections`, { headers: auth('nope') })).status, 401);
  });

  test('4 malformed JSON is 400 with a message; an oversized body 413; a bad field 400', async () => {
    const bad = await fetchText(`${base()}/admin/cache/invalidate`, { method: 'POST', body: '{"path":' });
    equal(bad.status, 400);
    match(bad.body, /malformed JSON/);
    const big = await fetchText(`${base()}/admin/cache/invalidate`, {
      method: 'POST',
      body: 'x'.repeat(100_000),
    });
    equal(big.status, 413);
    const field = await fetchText(`${base()}/admin/cache/invalidate`, { method: 'POST', body: '{"uid":-1}' });
    equal(field.status, 400);
    const path = await fetchText(`${base()}/admin/cache/invalidate`, {
      method: 'POST',
      body: '{"path":"/"}',
    });
    equal(path.status, 200);
    equal(JSON.parse(path.body).scope, 'path /');
  });

  test('4b a malformed body is refused without quoting it: a key or password left unquoted reaches neither the answer nor the audit log', async () => {
    const r = await fetchText(`${base()}/admin/cache/invalidate`, {
      method: 'POST',
      body: '{"path":"/","key":MIIEvQIBADANBgkq}',
    });
    equal(r.status, 400);
    match(r.body, /malformed JSON body/);
    ok(!r.body.includes('MIIE'), r.body);
    const cp = await openControlPlane({ stateDir: join(dir, 'state') });
    try {
      const entries = await cp.audit.list({ limit: 100 });
      ok(!JSON.stringify(entries).includes('MIIE'), 'the audit log quotes the body');
    } finally {
      await cp.close();
    }
  });

  test('5 from a non-loopback address a request without a token is 401', async (t) => {
    const addr = nonLoopbackAddress();
    if (!addr) return t.skip('this host has no non-loopback IPv4 address');
    const r = await fetchText(`http://${addr}:${port}/admin/cache/invalidate`, { method: 'POST' });
    equal(r.status, 401);
    match(r.body, /admin token required/);
  });

  test('5b ./cfs is audited as its user, as its control-plane commands are; the name grants nothing', async () => {
    const file = join(dir, 'gateway.yaml');
    for (const verb of ['drain', 'undrain']) {
      const r = await runCommand(CFS, ['gateway', verb, '--config', file]);
      equal(r.code, 0, r.stderr);
    }
    // A token caller keeps its token's name; a name that is not `cli:<user>` is not taken.
    const withToken = await fetchText(`${base()}/admin/cache/invalidate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operatorToken}`, 'x-cfs-actor': 'cli:mallory' },
      body: '{"uid":1000}',
    });
    equal(withToken.status, 200);
    const odd = await fetchText(`${base()}/admin/cache/invalidate`, {
      method: 'POST',
      headers: { 'x-cfs-actor': 'cli:<script>' },
      body: '{"path":"/"}',
    });
    equal(odd.status, 200);
  });

  test(
    "5c loopback trust is for root and the gateway's own user: another local account needs a token, whatever x-cfs-actor it claims",
    requireTools('curl'),
    async (t) => {
      if (process.getuid?.() !== 0) return t.skip('needs root, to run curl as another user');
      const asNobody = await runCommand(
        'curl',
        ['-s', '-X', 'POST', '-H', 'x-cfs-actor: cli:root', `${base()}/admin/cache/invalidate`],
        { uid: 65534, gid: 65534 },
      );
      match(
        asNobody.stdout,
        /loopback trust covers root and the gateway's own user; uid 65534 needs a token/,
      );
      // With a token it may: the token is who it is.
      const withToken = await runCommand(
        'curl',
        [
          '-s',
          '-X',
          'POST',
          '-H',
          `authorization: Bearer ${operatorToken}`,
          `${base()}/admin/cache/invalidate`,
        ],
        { uid: 65534, gid: 65534 },
      );
      equal(JSON.parse(withToken.stdout).scope, 'all');
    },
  );

  test(
    '5d a loopback request naming another host (a DNS-rebound page) needs a token',
    requireTools('curl'),
    async () => {
      const r = await runCommand('curl', [
        '-s',
        '-H',
        `host: attacker.example:${port}`,
        `${base()}/admin/connections`,
      ]);
      match(r.stdout, /naming host attacker\.example/);
      equal((await fetchText(`http://localhost:${port}/admin/connections`)).status, 200);
    },
  );

  test(
    "5e a console call's browser address (X-Forwarded-For, written by the console's server) is believed from root or the gateway's user on loopback, from nobody else",
    requireTools('curl'),
    async () => {
      const signIn = (url: string, browser: string, options = {}) =>
        runCommand(
          'curl',
          [
            ...['-s', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', '-H', 'x-cfs-csrf: 1'],
            ...['-H', 'content-type: application/json', '-H', `x-forwarded-for: ${browser}`],
            ...['--data', '{"user":"nosuch","password":"wrong-password"}', `${url}/trpc/auth.signIn`],
          ],
          options,
        );
      const expected = ['198.51.100.9'];
      equal((await signIn(base(), '198.51.100.9')).stdout, '401');
      if (process.getuid?.() === 0) {
        equal((await signIn(base(), '198.51.100.10', { uid: 65534, gid: 65534 })).stdout, '401');
        expected.push('127.0.0.1');
      }
      const far = nonLoopbackAddress();
      if (far) {
        equal((await signIn(`http://${far}:${port}`, '198.51.100.11')).stdout, '401');
        expected.push(far);
      }
      const cp = await openControlPlane({ stateDir: join(dir, 'state') });
      try {
        const denied = await cp.audit.list({ action: 'console.signin', actor: 'console:nosuch', limit: 10 });
        equal(
          denied
            .map((e) => e.remoteAddr)
            .sort()
            .join(),
          expected.sort().join(),
        );
      } finally {
        await cp.close();
      }
    },
  );

  test('6 every change is in the audit log with who, what it was done to and the outcome; reads are not; no token appears in the logs', async () => {
    const cp = await openControlPlane({ stateDir: join(dir, 'state') });
    try {
      const entries = await cp.audit.list({ limit: 100 });
      const seen = entries.map((e) => `${e.action}:${e.actor}:${e.target}:${e.outcome}`);
      const has = (entry: string) => ok(seen.includes(entry), `${entry} in ${seen.join(' ')}`);
      // A loopback caller is the user that owns its socket (curl run as root: cli:root),
      // whatever it claims in x-cfs-actor (test 5b's cli:<script>).
      has(`cache.invalidate:${cliActor()}:all:ok`);
      has(`cache.invalidate:${cliActor()}:path:/:ok`);
      has('cache.invalidate:token:ops:uid=1000:ok');
      has('gateway.drain:anonymous:/admin/drain:denied');
      // A valid token short of the role is refused as itself, not as anonymous.
      has('gateway.drain:token:dash:/admin/drain:denied');
      if (process.getuid?.() === 0) has('cache.invalidate:anonymous:/admin/cache/invalidate:denied');
      has('circuits.reset:token:ops:circuit:metadata:ok');
      has(`gateway.drain:${cliActor()}:gateway:ok`);
      has(`gateway.undrain:${cliActor()}:gateway:ok`);
      // Reads that succeeded changed nothing (the viewer's GET /admin/connections, ./cfs
      // polling the drain); a refused read is still recorded.
      ok(!seen.some((e) => /^(connections\.list|gateway\.drain\.status):.*:ok$/.test(e)), seen.join(' '));
      has('connections.list:anonymous:/admin/connections:denied');
    } finally {
      await cp.close();
    }
    for (const secret of [viewerToken, operatorToken, 'x-Admin-pw-1'])
      ok(!gw.output().includes(secret), 'a secret reached the log');
  });
});
