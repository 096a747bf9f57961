import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type ControlPlane, openControlPlane } from '../../src/control/index.ts';
import { CFS, writeGatewayConfig } from '../quota/fixture.ts';
import { type RunResult, runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';

const actor = `cli:${process.env.USER || process.env.LOGNAME || userInfo().username}`;

/** ./cfs user|group|admin with no gateway running. */
describe('./cfs user, group and admin', () => {
  let dir: string;
  let configFile: string;
  let cp: ControlPlane;
  /** Every secret created here, and every output that must not show it. */
  const secrets: string[] = [];
  const outputs: Array<{ what: string; text: string }> = [];

  const cfs = async (args: string[], input?: string): Promise<RunResult> => {
    const r = await runCommand(CFS, [...args, '--config', configFile], {
      timeoutMs: 60_000,
      ...(input === undefined ? {} : { input }),
    });
    outputs.push({ what: `stderr of ${args.join(' ')}`, text: r.stderr });
    return r;
  };

  before(async () => {
    dir = makeTempDir('identity-cli');
    configFile = await writeGatewayConfig(dir);
    cp = await openControlPlane({ stateDir: join(dir, 'state') });
  });
  after(() => cp.close());

  test('1 user add with --groups creates the missing groups and says so', async () => {
    const g = await cfs(['group', 'add', 'claudefs-users', '--gid', '1500']);
    equal(g.code, 0, g.output);
    equal(g.stdout, 'added group claudefs-users (gid 1500)\n');

    secrets.push('alice-Secret-pw-1');
    const a = await cfs(
      ['user', 'add', 'alice', '--groups', 'claudefs-users', '--password-stdin'],
      'alice-Secret-pw-1\n',
    );
    equal(a.code, 0, a.output);
    equal(
      a.stdout,
      'created group alice (gid 1000)\nuser alice added: uid 1000, gid 1000, groups claudefs-users(1500), password set\n',
    );
    ok(await cp.users.verifyPassword('alice', 'alice-Secret-pw-1'), 'the password without its line break');
    outputs.push({ what: 'stdout of user add alice', text: a.stdout });

    const b = await cfs(['user', 'add', 'bob', '--groups', 'claudefs-users,devs', '--role', 'operator']);
    equal(b.code, 0, b.output);
    match(b.stdout, /^created group bob \(gid 1001\)\ncreated group devs \(gid \d+\)\n/);
    const devs = await cp.groups.get('devs');
    ok(devs && devs.gid >= 1000 && devs.gid !== 1500, 'next free gid');
    match(
      b.stdout,
      new RegExp(
        `user bob added: uid 1001, gid 1001, groups claudefs-users\\(1500\\),devs\\(${devs.gid}\\), role operator\\n$`,
      ),
    );

    const c = await cfs(['user', 'add', 'carol', '--uid', '2000', '--gid', '1500']);
    equal(c.code, 0, c.output);
    equal(c.stdout, 'user carol added: uid 2000, gid 1500\n', 'no group created for an explicit --gid');
  });

  const bad: Array<[number, string[], number, RegExp]> = [
    [1, ['user', 'add', 'alice'], 1, /user alice already exists/],
    [2, ['user', 'add', 'Dave'], 2, /user name "Dave" must match/],
    [3, ['user', 'add', 'dave', '--role', 'boss'], 2, /role must be one of viewer, operator, admin/],
    [4, ['user', 'add', 'dave', '--uid', 'x1'], 2, /--uid: 'x1' is not a uid/],
    [5, ['user', 'add', 'dave', '--groups', 'ok,Not-Ok'], 2, /--groups: group name "Not-Ok"/],
    [6, ['user', 'add', 'dave', '--uid', '1000'], 1, /uid 1000 is already taken/],
    [7, ['group', 'add', 'other', '--gid', '1500'], 1, /gid 1500 is already taken/],
    [8, ['group', 'show', 'nosuch'], 1, /group nosuch not found/],
    [9, ['user', 'key', 'create', 'nosuch'], 1, /user nosuch not found/],
    [10, ['admin', 'token', 'create', 'x'], 2, /--role is required/],
    [11, ['user', 'remove', 'nosuch'], 1, /user nosuch not found/],
  ];
  for (const [row, args, code, message] of bad) {
    test(`refused ${row}: ${args.join(' ')}`, async () => {
      const r = await cfs(args);
      equal(r.code, code, r.output);
      match(r.stderr, message);
    });
  }

  test('2 no group or user is left behind by a refused add', async () => {
    equal(await cp.users.get('dave'), null);
    equal(await cp.groups.get('dave'), null);
    equal(await cp.groups.get('ok'), null);
  });

  test('3 group show: getent’s line, then a readable form; --json; group list', async () => {
    const r = await cfs(['group', 'show', 'claudefs-users']);
    equal(r.code, 0, r.output);
    const lines = r.stdout.split('\n');
    equal(lines[0], 'claudefs-users:x:1500:alice,bob');
    match(r.stdout, /group: +claudefs-users\n/);
    match(r.stdout, /gid: +1500\n/);
    match(r.stdout, /members: +carol \(primary group\), alice, bob\n/);

    const j = JSON.parse((await cfs(['group', 'show', 'claudefs-users', '--json'])).stdout);
    equal(j.getent, 'claudefs-users:x:1500:alice,bob');
    deepEqual(
      j.members.map((m: { name: string; primary: boolean }) => [m.name, m.primary]),
      [
        ['carol', true],
        ['alice', false],
        ['bob', false],
      ],
    );
    const list = await cfs(['group', 'list']);
    match(list.stdout, /^NAME +GID +MEMBERS\n/);
    match(list.stdout, /\nclaudefs-users +1500 +carol,alice,bob\n/);
    const listJson = JSON.parse((await cfs(['group', 'list', '--json'])).stdout) as Array<{ name: string }>;
    deepEqual(listJson.map((g) => g.name).sort(), ['alice', 'bob', 'claudefs-users', 'devs']);
  });

  test('3b with identity.groups_from_host, group show reads the host’s group database too', async () => {
    const hostConfig = join(dir, 'host-groups.yaml');
    writeFileSync(hostConfig, `${readFileSync(configFile, 'utf8')}\nidentity: { groups_from_host: true }\n`);
    const host = await runCommand(CFS, ['group', 'show', 'root', '--config', hostConfig], {
      timeoutMs: 60_000,
    });
    equal(host.code, 0, host.output);
    match(host.stdout, /^root:x:0:/);
    const without = await cfs(['group', 'show', 'root']);
    equal(without.code, 1, 'not a control-plane group');
  });

  test('4 key create --json has exactly AccessKeyId and SecretAccessKey; only the key list shows ids', async () => {
    const r = await cfs(['user', 'key', 'create', 'alice', '--json']);
    equal(r.code, 0, r.output);
    const key = JSON.parse(r.stdout) as Record<string, string>;
    deepEqual(Object.keys(key), ['AccessKeyId', 'SecretAccessKey']);
    match(key.AccessKeyId!, /^CFS[A-Z2-7]{17}$/);
    secrets.push(key.SecretAccessKey!);
    const stored = await cp.s3Keys.lookup(key.AccessKeyId!);
    equal(stored?.secret, key.SecretAccessKey);
    equal(stored?.uid, 1000);

    const text = await cfs(['user', 'key', 'create', 'alice']);
    const m = /^AccessKeyId: +(\S+)\nSecretAccessKey: +(\S+)\n$/.exec(text.stdout);
    ok(m, text.stdout);
    secrets.push(m[2]!);
    match(text.stderr, /shown only now/);

    const list = await cfs(['user', 'key', 'list', 'alice']);
    equal(list.code, 0, list.output);
    match(list.stdout, new RegExp(`${key.AccessKeyId} +alice +active`));
    outputs.push({ what: 'stdout of key list', text: list.stdout });
    const listJson = JSON.parse((await cfs(['user', 'key', 'list', 'alice', '--json'])).stdout);
    equal(listJson.length, 2);
    outputs.push({ what: 'stdout of key list --json', text: JSON.stringify(listJson) });

    const revoke = await cfs(['user', 'key', 'revoke', key.AccessKeyId!]);
    equal(revoke.code, 0, revoke.output);
    equal(await cp.s3Keys.lookup(key.AccessKeyId!), null);
    match(
      (await cfs(['user', 'key', 'list', 'alice'])).stdout,
      new RegExp(`${key.AccessKeyId} +alice +inactive`),
    );
  });

  test('5 passwd reads the new password from stdin', async () => {
    secrets.push('alice-New-pw-2');
    const r = await cfs(['user', 'passwd', 'alice'], 'alice-New-pw-2\n');
    equal(r.code, 0, r.output);
    ok(await cp.users.verifyPassword('alice', 'alice-New-pw-2'));
    ok(!(await cp.users.verifyPassword('alice', 'alice-Secret-pw-1')));
    ok(await cp.users.getNtHash('alice'), 'SMB hash set too');
    const empty = await cfs(['user', 'passwd', 'alice'], '');
    equal(empty.code, 2);
    match(empty.stderr, /password must be 8 to 256 characters/);
    const short = await cfs(['user', 'passwd', 'alice'], 'abc1234\n');
    equal(short.code, 2);
    match(short.stderr, /password must be 8 to 256 characters/);
    ok(await cp.users.verifyPassword('alice', 'alice-New-pw-2'), 'the refused password changed nothing');
  });

  test('5b passwd ends the user’s console sessions; disable refuses it everywhere it signs in, enable undoes it', async () => {
    const session = await cp.sessions.create('alice', 60_000);
    secrets.push('alice-New-pw-3');
    const r = await cfs(['user', 'passwd', 'alice'], 'alice-New-pw-3\n');
    equal(r.stdout, 'password changed for alice (console and SMB); 1 console session ended\n');
    equal(await cp.sessions.resolve(session.cookie), null);

    const again = await cp.sessions.create('alice', 60_000);
    const { accessKeyId } = (await cp.s3Keys.list('alice')).find((k) => k.status === 'active') ?? {};
    ok(accessKeyId, 'alice has an active key');
    const d = await cfs(['user', 'disable', 'alice']);
    equal(d.code, 0, d.output);
    equal(
      d.stdout,
      'user alice disabled: the console, SMB and S3 refuse it; 1 console session ended; its SMB sessions end within 5 s (NFS AUTH_SYS is by uid: restrict it in the export)\n',
    );
    equal(await cp.sessions.resolve(again.cookie), null);
    equal(await cp.users.verifyPassword('alice', 'alice-New-pw-3'), false, 'no console sign-in');
    equal(await cp.users.getNtHash('alice'), null, 'no SMB session');
    equal(await cp.s3Keys.lookup(accessKeyId), null, 'no S3 request');
    match((await cfs(['user', 'list'])).stdout, /\nalice +1000 .* disabled\n/);
    // Its keys say why S3 refuses them, though each is still active.
    match(
      (await cfs(['user', 'key', 'list', 'alice'])).stdout,
      new RegExp(`${accessKeyId} +alice +active \\(user disabled\\)`),
    );
    const disabledJson = JSON.parse((await cfs(['user', 'key', 'list', 'alice', '--json'])).stdout) as Array<{
      accessKeyId: string;
      userDisabled: boolean;
    }>;
    equal(disabledJson.find((k) => k.accessKeyId === accessKeyId)?.userDisabled, true);

    const e = await cfs(['user', 'enable', 'alice']);
    equal(e.stdout, 'user alice enabled\n');
    match(
      (await cfs(['user', 'key', 'list', 'alice'])).stdout,
      new RegExp(`${accessKeyId} +alice +active +(?!\\()`),
    );
    ok(await cp.users.verifyPassword('alice', 'alice-New-pw-3'));
    ok(await cp.s3Keys.lookup(accessKeyId));
    const none = await cfs(['user', 'disable', 'nobody']);
    equal(none.code, 1);
    match(none.stderr, /user nobody not found/);
  });

  test('6 admin token create prints the token once, alone on stdout; only its sha256 is stored', async () => {
    const r = await cfs(['admin', 'token', 'create', 'ci', '--role', 'operator']);
    equal(r.code, 0, r.output);
    const token = r.stdout.trimEnd();
    match(token, /^cfs_[A-Za-z0-9_-]{43}$/);
    equal(r.stdout, `${token}\n`);
    match(r.stderr, /admin token ci created \(role operator, no expiry\); it is shown only now/);
    secrets.push(token);
    deepEqual(await cp.adminTokens.verify(token), { name: 'ci', role: 'operator' });

    // Read by another process: closing a descriptor this process opened on the database would
    // drop the POSIX locks `cp`'s SQLite holds on it (fcntl locks are per process), and `cp`
    // would go on reading an old snapshot.
    const state = join(dir, 'state');
    const files = readdirSync(state)
      .filter((f) => f.startsWith('control.db'))
      .map((f) => join(state, f));
    const db = execFileSync('cat', files).toString('latin1');
    ok(!db.includes(token), 'the token itself is nowhere in the database files');
    ok(db.includes(createHash('sha256').update(token).digest('hex')), 'its hash is');

    const list = await cfs(['admin', 'token', 'list']);
    match(list.stdout, /^NAME +ROLE +CREATED +LAST USED +EXPIRES +STATUS\nci +operator .* active\n$/);
    outputs.push({ what: 'stdout of token list', text: list.stdout });
    const revoke = await cfs(['admin', 'token', 'revoke', 'ci']);
    equal(revoke.code, 0, revoke.output);
    equal(await cp.adminTokens.verify(token), null);
    const json = JSON.parse((await cfs(['admin', 'token', 'list', '--json'])).stdout);
    equal(json[0].status, 'revoked');
    outputs.push({ what: 'stdout of token list --json', text: JSON.stringify(json) });
  });

  test('7 user list and remove', async () => {
    const list = await cfs(['user', 'list']);
    match(list.stdout, /^NAME +UID +GID +GROUPS +ROLE +PASSWORD +S3 KEYS +STATUS\n/);
    match(list.stdout, /\nalice +1000 +1000 +claudefs-users +- +set +1 +enabled\n/);
    match(list.stdout, /\nbob +1001 +1001 +claudefs-users,devs +operator +none +0 +enabled\n/);
    outputs.push({ what: 'stdout of user list', text: list.stdout });
    const json = JSON.parse((await cfs(['user', 'list', '--json'])).stdout);
    // The console's view of a user (control/views.ts): who can sign in to SMB, and when.
    deepEqual(
      json.map((u: { name: string; uid: number; hasNtHash: boolean }) => [u.name, u.uid, u.hasNtHash]),
      [
        ['alice', 1000, true],
        ['bob', 1001, false],
        ['carol', 2000, false],
      ],
    );
    for (const u of json as Array<{ createdAt: string; updatedAt: string }>) {
      match(u.updatedAt, /^\d{4}-\d\d-\d\dT/);
      ok(u.updatedAt >= u.createdAt, JSON.stringify(u));
    }
    outputs.push({ what: 'stdout of user list --json', text: JSON.stringify(json) });
    const r = await cfs(['user', 'remove', 'bob']);
    equal(r.code, 0, r.output);
    equal(await cp.users.get('bob'), null);
    equal(await cp.groups.get('bob'), null, 'the private group goes with the user');
  });

  test('7b group add-member / remove-member (gpasswd -a / -d) and group remove (groupdel)', async () => {
    await cfs(['group', 'add', 'backup', '--gid', '1600']);
    const a = await cfs(['group', 'add-member', 'backup', 'alice']);
    equal(a.code, 0, a.output);
    equal(a.stdout, 'added alice to group backup\nbackup:x:1600:alice\n');
    deepEqual((await cp.users.get('alice'))?.groups, ['claudefs-users', 'backup']);
    equal(
      (await cfs(['group', 'add-member', 'backup', 'alice'])).code,
      0,
      'adding a member twice is harmless',
    );

    const d = await cfs(['group', 'remove-member', 'backup', 'alice']);
    equal(d.code, 0, d.output);
    equal(d.stdout, 'removed alice from group backup\nbackup:x:1600:\n');
    deepEqual((await cp.users.get('alice'))?.groups, ['claudefs-users']);

    for (const [args, code, message] of [
      [['group', 'remove-member', 'backup', 'alice'], 2, /^user alice is not a member of group backup\n$/],
      [
        ['group', 'remove-member', 'alice', 'alice'],
        2,
        /^group alice is the primary group of user alice: give alice another primary group first\n$/,
      ],
      [['group', 'add-member', 'backup', 'nobody'], 1, /^user nobody not found\n$/],
      [['group', 'add-member', 'nosuch', 'alice'], 1, /^group nosuch not found\n$/],
      [['group', 'remove', 'alice'], 2, /^group alice is the primary group of user alice\n$/],
    ] as const) {
      const r = await cfs([...args]);
      equal(r.code, code, `${args.join(' ')}: ${r.output}`);
      equal(r.stdout, '', `${args.join(' ')} prints nothing on stdout`);
      match(r.stderr, message);
    }
    equal((await cp.users.get('alice'))?.gid, 1000, 'nothing changed');

    const rm = await cfs(['group', 'remove', 'backup']);
    equal(rm.code, 0, rm.output);
    equal(rm.stdout, 'removed group backup\n');
    equal(await cp.groups.get('backup'), null);
  });

  test('8 every change is audited as cli:<user>, outcomes included, with no secret in any detail', async () => {
    const entries = await cp.audit.list({ limit: 1000 });
    const seen = entries.map((e) => `${e.action} ${e.target} ${e.outcome}`);
    for (const want of [
      'group.add group:claudefs-users ok',
      'user.add user:alice ok',
      'user.add user:bob ok',
      'user.add user:alice error',
      'user.key.create user:alice ok',
      'user.key.revoke s3key:',
      'user.passwd user:alice ok',
      'user.passwd user:alice error',
      'admin.token.create token:ci ok',
      'admin.token.revoke token:ci ok',
      'user.remove user:bob ok',
      'user.disable user:alice ok',
      'user.enable user:alice ok',
      'user.disable user:nobody error',
      'group.add-member group:backup ok',
      'group.remove-member group:backup ok',
      'group.remove-member group:backup error',
      'group.remove group:alice error',
      'group.remove group:backup ok',
    ]) {
      ok(
        seen.some((s) => s.startsWith(want)),
        `audit has "${want}":\n${seen.join('\n')}`,
      );
    }
    for (const e of entries) equal(e.actor, actor);
    outputs.push({ what: 'audit log', text: JSON.stringify(entries) });
  });

  test('9 no password, secret key or token appears in any output other than the one that hands it out', () => {
    equal(secrets.length, 6);
    for (const s of secrets) {
      for (const o of outputs) ok(!o.text.includes(s), `${o.what} shows a secret`);
    }
  });
});

describe('./cfs on a state folder that is not there', () => {
  test('1 a missing state folder (a volume not mounted, a path mistyped) is an error, not an empty installation; nothing is created', async () => {
    const dir = makeTempDir('identity-cli-unmounted');
    mkdirSync(join(dir, 'not-mounted'));
    const configFile = await writeGatewayConfig(join(dir, 'not-mounted'));
    for (const args of [
      ['user', 'list'],
      ['admin', 'token', 'list'],
      ['ls', '/'],
      ['fsck', '/'],
    ]) {
      const r = await runCommand(CFS, [...args, '--config', configFile], { timeoutMs: 60_000 });
      ok(r.code !== 0, `${args.join(' ')} exited 0: ${r.stdout}`);
      const said =
        args[0] === 'fsck'
          ? /not-mounted\/state\/data cannot be read/
          : /does not exist .*is its volume mounted\?/;
      match(r.stderr, said, `${args.join(' ')}: ${r.stderr}`);
    }
    ok(!readdirSync(join(dir, 'not-mounted')).includes('state'), 'the state folder was made');
  });

  test('2 an empty state folder (a mount point with nothing mounted, or a new installation) is said so when a control plane is made in it', async () => {
    const dir = makeTempDir('identity-cli-empty');
    const configFile = await writeGatewayConfig(dir);
    mkdirSync(join(dir, 'state'));
    const cli = (...args: string[]) =>
      runCommand(CFS, [...args, '--config', configFile], { timeoutMs: 60_000 });
    const first = await cli('user', 'list');
    equal(first.code, 0, first.output);
    match(
      first.stderr,
      new RegExp(
        `note: ${dir}/state/control\\.db did not exist: a new, empty control plane was made there .*is it mounted\\?`,
      ),
    );
    const again = await cli('user', 'list');
    equal(again.stderr, '', 'said once, when it was made');
  });
});
