import type { Command } from 'commander';
import type { AddUserInput, ControlPlane, Role } from '../../control/index.ts';
import { checkName } from '../../control/validate.ts';
import { keyView, userView } from '../../control/views.ts';
import { CliExit, runCli } from '../context.ts';
import {
  audited,
  CONFIG_OPTION,
  parseId,
  printJson,
  readNewPassword,
  withControlPlane,
} from '../format/identity-context.ts';
import { groupRecordLine, keysTable, usersTable } from '../format/identity-text.ts';

interface AddOptions {
  uid?: string;
  gid?: string;
  groups?: string;
  role?: string;
  passwordStdin?: boolean;
  config?: string;
}

function parseGroups(text: string): string[] {
  const names = [
    ...new Set(
      text
        .split(',')
        .map((g) => g.trim())
        .filter((g) => g !== ''),
    ),
  ];
  for (const g of names) {
    try {
      checkName('group', g);
    } catch (e) {
      throw new CliExit(`--groups: ${(e as Error).message}`, 2);
    }
  }
  return names;
}

/** Groups that `add` will create: missing supplementary groups and, without --gid, the private group. */
async function missingGroups(cp: ControlPlane, input: AddUserInput): Promise<string[]> {
  const wanted = [...(input.gid === undefined ? [input.name] : []), ...(input.groups ?? [])];
  const missing: string[] = [];
  for (const g of new Set(wanted)) if (!(await cp.groups.get(g))) missing.push(g);
  return missing;
}

async function addUser(name: string, o: AddOptions): Promise<number> {
  try {
    checkName('user', name);
  } catch (e) {
    throw new CliExit((e as Error).message, 2);
  }
  const input: AddUserInput = { name };
  if (o.uid !== undefined) input.uid = parseId('--uid', o.uid, 'uid');
  if (o.gid !== undefined) input.gid = parseId('--gid', o.gid, 'gid');
  if (o.groups !== undefined) input.groups = parseGroups(o.groups);
  if (o.role !== undefined) input.role = o.role as Role;
  // Piped in, or typed twice when stdin is a terminal.
  if (o.passwordStdin) input.password = await readNewPassword();
  return withControlPlane(o.config, async (cp) => {
    const missing = await missingGroups(cp, input);
    const add = async () => {
      // users.add creates the groups before the user row; a taken uid would leave them behind.
      if (input.uid !== undefined && (await cp.users.get(input.uid))) {
        throw new CliExit(`uid ${input.uid} is already taken`, 1);
      }
      return cp.users.add(input);
    };
    const user = await audited(cp, 'user.add', `user:${name}`, add, {
      uid: input.uid,
      gid: input.gid,
      groups: input.groups,
      role: input.role,
      login: input.password === undefined ? 'none' : 'password',
      createdGroups: missing,
    });
    for (const g of missing) {
      const created = await cp.groups.get(g);
      if (created) process.stdout.write(`created ${groupRecordLine(created)}\n`);
    }
    const groups = user.groups.map((g, i) => `${g}(${user.gids[i]})`).join(',');
    process.stdout.write(
      `user ${user.name} added: uid ${user.uid}, gid ${user.gid}` +
        `${groups === '' ? '' : `, groups ${groups}`}${user.role === null ? '' : `, role ${user.role}`}` +
        `${user.hasPassword ? ', password set' : ''}\n`,
    );
    return 0;
  });
}

async function listUsers(o: { json?: boolean; config?: string }): Promise<number> {
  return withControlPlane(o.config, async (cp) => {
    const [users, keys] = await Promise.all([cp.users.list(), cp.s3Keys.list()]);
    if (o.json) {
      printJson(users.map(userView));
      return 0;
    }
    const active = new Map<string, number>();
    for (const k of keys)
      if (k.status === 'active') active.set(k.userName, (active.get(k.userName) ?? 0) + 1);
    process.stdout.write(usersTable(users, active));
    return 0;
  });
}

async function removeUser(name: string, o: { config?: string }): Promise<number> {
  return withControlPlane(o.config, async (cp) => {
    await audited(cp, 'user.remove', `user:${name}`, () => cp.users.remove(name));
    process.stdout.write(
      `user ${name} removed, with its S3 keys and console sessions; its SMB sessions end within 5 s\n`,
    );
    return 0;
  });
}

async function changePassword(name: string, o: { config?: string }): Promise<number> {
  return withControlPlane(o.config, async (cp) => {
    if (!(await cp.users.get(name))) throw new CliExit(`user ${name} not found`, 1);
    const password = await readNewPassword();
    const ended = await audited(cp, 'user.passwd', `user:${name}`, async () => {
      await cp.users.setPassword(name, password);
      return cp.sessions.revokeUser(name);
    });
    process.stdout.write(`password changed for ${name} (console and SMB)${sessionsEnded(ended)}\n`);
    return 0;
  });
}

const sessionsEnded = (n: number) => (n === 0 ? '' : `; ${n} console session${n === 1 ? '' : 's'} ended`);

/**
 * usermod -L / -U: a disabled account keeps its files, groups and keys but signs in nowhere —
 * the console, SMB and S3 refuse it (a running gateway within its credential caches' second),
 * its console sessions end, and its SMB sessions within 5 s (smb/end-sessions.ts). NFS AUTH_SYS carries a uid, not an account, so
 * NFS access is the export's to restrict.
 */
async function setDisabled(name: string, disabled: boolean, o: { config?: string }): Promise<number> {
  return withControlPlane(o.config, async (cp) => {
    const ended = await audited(cp, disabled ? 'user.disable' : 'user.enable', `user:${name}`, async () => {
      await cp.users.setDisabled(name, disabled);
      return disabled ? cp.sessions.revokeUser(name) : 0;
    });
    process.stdout.write(
      disabled
        ? `user ${name} disabled: the console, SMB and S3 refuse it${sessionsEnded(ended)}; its SMB sessions end within 5 s (NFS AUTH_SYS is by uid: restrict it in the export)\n`
        : `user ${name} enabled\n`,
    );
    return 0;
  });
}

async function createKey(name: string, o: { json?: boolean; config?: string }): Promise<number> {
  return withControlPlane(o.config, async (cp) => {
    const key = await audited(cp, 'user.key.create', `user:${name}`, () => cp.s3Keys.create(name));
    if (o.json) {
      printJson({ AccessKeyId: key.accessKeyId, SecretAccessKey: key.secret });
    } else {
      process.stdout.write(`AccessKeyId:     ${key.accessKeyId}\nSecretAccessKey: ${key.secret}\n`);
      process.stderr.write('The secret access key is shown only now; store it safely.\n');
    }
    return 0;
  });
}

async function listKeys(name: string, o: { json?: boolean; config?: string }): Promise<number> {
  return withControlPlane(o.config, async (cp) => {
    if (!(await cp.users.get(name))) throw new CliExit(`user ${name} not found`, 1);
    const keys = await cp.s3Keys.list(name);
    if (o.json) printJson(keys.map(keyView));
    else process.stdout.write(keysTable(keys));
    return 0;
  });
}

async function revokeKey(id: string, o: { config?: string }): Promise<number> {
  return withControlPlane(o.config, async (cp) => {
    await audited(cp, 'user.key.revoke', `s3key:${id}`, () => cp.s3Keys.revoke(id));
    process.stdout.write(`access key ${id} revoked\n`);
    return 0;
  });
}

export function registerUser(program: Command): void {
  const user = program.command('user').description('users: uid/gid, groups, console role, password, S3 keys');
  user
    .command('add')
    .description('add a user (groups named in --groups that do not exist are created)')
    .argument('<name>', 'user name, lowercase like useradd')
    .option('--uid <uid>', 'uid (default: the next free one from 1000)')
    .option('--gid <gid>', 'primary gid (default: a private group named like the user)')
    .option('--groups <a,b>', 'supplementary groups, comma-separated')
    .option('--role <role>', 'console role: viewer, operator or admin')
    .option('--password-stdin', 'read the password (console and SMB) from stdin')
    .option(...CONFIG_OPTION)
    .action((name: string, o: AddOptions) => runCli(() => addUser(name, o)));
  user
    .command('list')
    .description('list users')
    .option('--json', 'print as JSON')
    .option(...CONFIG_OPTION)
    .action((o: { json?: boolean; config?: string }) => runCli(() => listUsers(o)));
  user
    .command('disable')
    .description(
      'refuse the user at sign-in (console, SMB, S3) and end its SMB sessions; files, groups and keys stay',
    )
    .argument('<name>', 'user name')
    .option(...CONFIG_OPTION)
    .action((name: string, o: { config?: string }) => runCli(() => setDisabled(name, true, o)));
  user
    .command('enable')
    .description('let a disabled user sign in again')
    .argument('<name>', 'user name')
    .option(...CONFIG_OPTION)
    .action((name: string, o: { config?: string }) => runCli(() => setDisabled(name, false, o)));
  user
    .command('remove')
    .description('remove a user, its S3 keys and sessions (console and SMB)')
    .argument('<name>', 'user name')
    .option(...CONFIG_OPTION)
    .action((name: string, o: { config?: string }) => runCli(() => removeUser(name, o)));
  user
    .command('passwd')
    .description('set a user’s password: read from stdin, or asked for when stdin is a terminal')
    .argument('<name>', 'user name')
    .option(...CONFIG_OPTION)
    .action((name: string, o: { config?: string }) => runCli(() => changePassword(name, o)));

  const key = user.command('key').description('S3 access keys');
  key
    .command('create')
    .description('create an S3 access key; the secret is printed once')
    .argument('<name>', 'user name')
    .option('--json', 'print {"AccessKeyId", "SecretAccessKey"} as JSON')
    .option(...CONFIG_OPTION)
    .action((name: string, o: { json?: boolean; config?: string }) => runCli(() => createKey(name, o)));
  key
    .command('list')
    .description('list a user’s S3 access keys (never their secrets)')
    .argument('<name>', 'user name')
    .option('--json', 'print as JSON')
    .option(...CONFIG_OPTION)
    .action((name: string, o: { json?: boolean; config?: string }) => runCli(() => listKeys(name, o)));
  key
    .command('revoke')
    .description('revoke an S3 access key: requests signed with it fail from then on')
    .argument('<id>', 'access key id')
    .option(...CONFIG_OPTION)
    .action((id: string, o: { config?: string }) => runCli(() => revokeKey(id, o)));
}
