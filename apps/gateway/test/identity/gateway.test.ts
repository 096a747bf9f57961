import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openControlPlane } from '../../src/control/index.ts';
import { ensureAdminAccount } from '../../src/ops/identity/bootstrap.ts';
import { invalidateCredentials, resolveUserCredential } from '../../src/ops/identity/credentials.ts';
import { CFS, type InProcessGateway, startGateway, waitUntil, writeGatewayConfig } from '../quota/fixture.ts';
import { spawnProcess } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';

const BANNER = /Console admin account created: user admin, password (\S+)\n/;

/** Starts `./cfs gateway start` and stops it again; its whole output. */
async function runGatewayOnce(configFile: string, env: Record<string, string>): Promise<string> {
  const gw = spawnProcess(CFS, ['gateway', 'start', '--config', configFile], { name: 'gateway', env });
  await gw.waitForLine(/gateway started/, 60_000);
  const status = await gw.stop();
  equal(status.code, 0, gw.output());
  return gw.output();
}

describe('console admin bootstrap on a fresh state', () => {
  test("1 a generated password goes to a file only its owner reads, and is printed only to a terminal: not to a service's journal; the next start says nothing", async () => {
    const dir = makeTempDir('bootstrap');
    const configFile = await writeGatewayConfig(dir);
    const first = await runGatewayOnce(configFile, { CFS_ADMIN_PASSWORD: '' });
    const file = join(dir, 'state', 'initial-admin-password');
    const password = readFileSync(file, 'utf8').trim();
    ok(password.length >= 20);
    equal(statSync(file).mode & 0o777, 0o600);
    // stdout here is a pipe, as under systemd: the banner names the file, not the password.
    match(
      first,
      new RegExp(
        `Console admin account created: user admin; its password is in ${file} \\(readable by its owner only\\)`,
      ),
    );
    ok(!BANNER.test(first), first);
    ok(!first.includes(password), 'the password reached the output');
    match(first, /console account admin created; its password is in /);

    const second = await runGatewayOnce(configFile, { CFS_ADMIN_PASSWORD: '' });
    ok(!BANNER.test(second), second);
    ok(!second.includes(password));
    ok(!/console account admin created/.test(second));

    const cp = await openControlPlane({ stateDir: join(dir, 'state') });
    try {
      const admin = await cp.users.get('admin');
      equal(admin?.role, 'admin');
      equal(admin?.uid, 999, 'below 1000, so the first operator-made user still gets uid 1000');
      ok(await cp.users.verifyPassword('admin', password));
      const audit = await cp.audit.list({ action: 'user.add', target: 'user:admin' });
      equal(audit.length, 1);
      equal(audit[0]!.actor, 'gateway');
      ok(!JSON.stringify(audit).includes(password));
    } finally {
      await cp.close();
    }
  });

  test('2 CFS_ADMIN_PASSWORD is used and not printed', async () => {
    const dir = makeTempDir('bootstrap-env');
    const configFile = await writeGatewayConfig(dir);
    const chosen = 'Chosen-admin-pw-9';
    const out = await runGatewayOnce(configFile, { CFS_ADMIN_PASSWORD: chosen });
    ok(!out.includes(chosen), out);
    ok(!BANNER.test(out));
    match(out, /console account admin created with the password from CFS_ADMIN_PASSWORD/);
    const cp = await openControlPlane({ stateDir: join(dir, 'state') });
    try {
      ok(await cp.users.verifyPassword('admin', chosen));
    } finally {
      await cp.close();
    }
  });

  test('2b a CFS_ADMIN_PASSWORD shorter than 8 characters refuses the start, saying why, creating nothing', async () => {
    const dir = makeTempDir('bootstrap-short');
    const configFile = await writeGatewayConfig(dir);
    const short = 'Ab1-x';
    const gw = spawnProcess(CFS, ['gateway', 'start', '--config', configFile], {
      name: 'gateway',
      env: { CFS_ADMIN_PASSWORD: short },
    });
    const status = await gw.exited;
    const out = gw.output();
    ok(status.code !== 0, out);
    match(out, /CFS_ADMIN_PASSWORD: password must be 8 to 256 characters; no console admin was created/);
    ok(!out.includes(short), 'the refused password is not echoed');
    const cp = await openControlPlane({ stateDir: join(dir, 'state') });
    try {
      equal(await cp.users.get('admin'), null);
    } finally {
      await cp.close();
    }
  });

  test('3 no bootstrap when an admin already exists', async () => {
    const dir = makeTempDir('bootstrap-exists');
    const configFile = await writeGatewayConfig(dir);
    const cp = await openControlPlane({ stateDir: join(dir, 'state') });
    try {
      await cp.users.add({ name: 'root-op', role: 'admin' });
    } finally {
      await cp.close();
    }
    const out = await runGatewayOnce(configFile, { CFS_ADMIN_PASSWORD: '' });
    ok(!BANNER.test(out), out);
    const again = await openControlPlane({ stateDir: join(dir, 'state') });
    try {
      equal(await again.users.get('admin'), null);
    } finally {
      await again.close();
    }
  });
});

test('4 two nodes bootstrapping one control plane at the same moment: one creates the admin, the other finds it', async () => {
  const cp = await openControlPlane({ stateDir: join(makeTempDir('bootstrap-race'), 'state') });
  try {
    const printed: string[] = [];
    // A terminal: the password itself is printed (npm start in a shell).
    const o = { print: (l: string) => printed.push(l), log: { info() {}, warn() {} }, terminal: true };
    const results = await Promise.all([ensureAdminAccount(cp, o), ensureAdminAccount(cp, o)]);
    deepEqual([...results].sort(), ['created', 'exists']);
    equal(printed.length, 1, 'the password is printed once, by the node that created it');
    const shown = BANNER.exec(printed[0]!)?.[1];
    ok(shown && (await cp.users.verifyPassword('admin', shown)), printed[0]);
    equal((await cp.users.get('admin'))?.role, 'admin');
  } finally {
    await cp.close();
  }
});

describe('credentials in a running gateway', () => {
  let g: InProcessGateway;
  const secrets: string[] = [];
  const outputs: string[] = [];
  const cfs = async (args: string[], input?: string) => {
    const r = await g.cfs(args, input);
    outputs.push(r.stderr);
    return r;
  };

  before(async () => {
    g = await startGateway('', 'identity-gw');
  });
  after(() => g.stop());

  test('1 a user added with ./cfs resolves at once, by name, with its groups', async () => {
    equal(await resolveUserCredential(g.gw, 'erin'), null);
    const add = await cfs(['user', 'add', 'erin', '--uid', '3000', '--groups', 'claudefs-users,ops']);
    equal(add.code, 0, add.output);
    const erin = await resolveUserCredential(g.gw, 'erin');
    const groups = await Promise.all(['claudefs-users', 'ops'].map((n) => g.gw.control.groups.get(n)));
    deepEqual(erin, {
      name: 'erin',
      uid: 3000,
      gid: 3000,
      gids: groups.map((x) => x!.gid).sort((a, b) => a - b),
    });
    equal((await resolveUserCredential(g.gw, 'Erin'))?.uid, 3000, 'SMB may send the name in any case');
  });

  test('2 a new S3 key resolves at once; a revoked one stops within a second', async () => {
    const created = await cfs(['user', 'key', 'create', 'erin', '--json']);
    equal(created.code, 0, created.output);
    const key = JSON.parse(created.stdout) as { AccessKeyId: string; SecretAccessKey: string };
    secrets.push(key.SecretAccessKey);
    const byKey = await resolveUserCredential(g.gw, key.AccessKeyId);
    equal(byKey?.name, 'erin');
    equal(byKey?.uid, 3000);
    equal(byKey?.accessKeyId, key.AccessKeyId);
    equal(byKey?.secret, key.SecretAccessKey);

    const revoked = await cfs(['user', 'key', 'revoke', key.AccessKeyId]);
    equal(revoked.code, 0, revoked.output);
    await waitUntil(
      async () => (await resolveUserCredential(g.gw, key.AccessKeyId)) === null,
      1500,
      'revoked key refused',
    );
  });

  test('3 a password set with ./cfs works in the running gateway at once', async () => {
    secrets.push('Erin-pw-for-smb-1');
    const r = await cfs(['user', 'passwd', 'erin'], 'Erin-pw-for-smb-1');
    equal(r.code, 0, r.output);
    ok(await g.gw.control.users.verifyPassword('erin', 'Erin-pw-for-smb-1'));
  });

  test('4 with groups_from_host, the host’s groups for the name are merged in', async () => {
    const dir = makeTempDir('hostgroups');
    const groupFile = join(dir, 'group');
    const passwdFile = join(dir, 'passwd');
    writeFileSync(
      groupFile,
      '# host groups\nwheel:x:10:root,erin\nstaff:x:50:\nmedia:x:60:bob,erin\nbad line\n',
    );
    writeFileSync(passwdFile, 'root:x:0:0:root:/root:/bin/sh\nerin:x:3000:70:Erin:/home/erin:/bin/sh\n');
    const files = { groupFile, passwdFile };
    const fromHost = { control: g.gw.control, config: { identity: { groupsFromHost: true } } };
    const controlOnly = { control: g.gw.control, config: { identity: { groupsFromHost: false } } };
    invalidateCredentials(fromHost);
    const own = (await resolveUserCredential(controlOnly, 'erin', files))!.gids;
    invalidateCredentials(fromHost);
    const merged = await resolveUserCredential(fromHost, 'erin', files);
    deepEqual(
      merged?.gids,
      [...new Set([...own, 10, 60, 70])].sort((a, b) => a - b),
    );
    equal(merged?.gid, 3000);
  });

  test('5 a removed user stops resolving within a second', async () => {
    const r = await cfs(['user', 'remove', 'erin']);
    equal(r.code, 0, r.output);
    await waitUntil(
      async () => (await resolveUserCredential(g.gw, 'erin')) === null,
      1500,
      'removed user refused',
    );
  });

  test('6 nothing the gateway logged, nor any command’s stderr, shows a secret or password', () => {
    ok(g.log.raw.length > 0);
    secrets.push(process.env.CFS_ADMIN_PASSWORD ?? '');
    for (const s of secrets) {
      ok(s.length > 0);
      ok(!g.log.text().includes(s), 'gateway log shows a secret');
      for (const o of outputs) ok(!o.includes(s), 'command output shows a secret');
    }
  });
});
