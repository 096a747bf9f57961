import type { Command } from 'commander';
import type { GatewayConfig } from '../../config/types.ts';
import type { ControlPlane } from '../../control/index.ts';
import { type HostGroup, readHostGroups } from '../../ops/identity/host-groups.ts';
import { CliExit, runCli } from '../context.ts';
import { audited, CONFIG_OPTION, parseId, printJson, withControlPlane } from '../format/identity-context.ts';
import {
  getentLine,
  groupJson,
  groupRecordLine,
  groupsTable,
  groupText,
  type ShownGroup,
  type ShownMember,
} from '../format/identity-text.ts';

/** Host groups by name when `identity.groups_from_host` is on, else none. */
async function hostGroups(config: GatewayConfig): Promise<Map<string, HostGroup>> {
  if (!config.identity.groupsFromHost) return new Map();
  return new Map((await readHostGroups()).map((g) => [g.name, g]));
}

/** The control plane's group merged with the host's of the same name (members added, marked `host`). */
async function showGroup(
  cp: ControlPlane,
  name: string,
  host: Map<string, HostGroup>,
): Promise<ShownGroup | null> {
  const own = await cp.groups.get(name);
  const fromHost = host.get(name);
  if (!own && !fromHost) return null;
  const members: ShownMember[] = own
    ? (await cp.groups.members(name)).map((m) => ({
        name: m.name,
        primary: m.primary,
        source: 'control' as const,
      }))
    : [];
  const seen = new Set(members.map((m) => m.name));
  for (const m of fromHost?.members ?? []) {
    if (!seen.has(m)) members.push({ name: m, primary: false, source: 'host' });
    seen.add(m);
  }
  return { name, gid: own ? own.gid : fromHost!.gid, members };
}

async function addGroup(name: string, o: { gid?: string; config?: string }): Promise<number> {
  const gid = o.gid === undefined ? undefined : parseId('--gid', o.gid, 'gid');
  return withControlPlane(o.config, async (cp) => {
    const g = await audited(
      cp,
      'group.add',
      `group:${name}`,
      () => cp.groups.add(gid === undefined ? { name } : { name, gid }),
      { gid },
    );
    process.stdout.write(`added ${groupRecordLine(g)}\n`);
    return 0;
  });
}

async function removeGroup(name: string, o: { config?: string }): Promise<number> {
  return withControlPlane(o.config, async (cp) => {
    await audited(cp, 'group.remove', `group:${name}`, () => cp.groups.remove(name));
    process.stdout.write(`removed group ${name}\n`);
    return 0;
  });
}

/**
 * gpasswd -a / -d: a supplementary membership. A running gateway sees it at the user's next
 * sign-in or credential lookup (its credential cache holds one for a second).
 */
async function member(
  how: 'add' | 'remove',
  group: string,
  user: string,
  o: { config?: string },
): Promise<number> {
  return withControlPlane(o.config, async (cp) => {
    await audited(
      cp,
      `group.${how}-member`,
      `group:${group}`,
      () => (how === 'add' ? cp.users.addToGroup(user, group) : cp.users.removeFromGroup(user, group)),
      { user },
    );
    const g = await showGroup(cp, group, new Map());
    process.stdout.write(
      `${how === 'add' ? 'added' : 'removed'} ${user} ${how === 'add' ? 'to' : 'from'} group ${group}\n`,
    );
    if (g) process.stdout.write(`${getentLine(g)}\n`);
    return 0;
  });
}

async function show(name: string, o: { json?: boolean; config?: string }): Promise<number> {
  return withControlPlane(o.config, async (cp, config) => {
    const g = await showGroup(cp, name, await hostGroups(config));
    if (!g) throw new CliExit(`group ${name} not found`, 1);
    if (o.json) printJson(groupJson(g));
    else process.stdout.write(groupText(g));
    return 0;
  });
}

async function list(o: { json?: boolean; config?: string }): Promise<number> {
  return withControlPlane(o.config, async (cp, config) => {
    const host = await hostGroups(config);
    const names = [...new Set([...(await cp.groups.list()).map((g) => g.name), ...host.keys()])];
    const shown: ShownGroup[] = [];
    for (const n of names) {
      const g = await showGroup(cp, n, host);
      if (g) shown.push(g);
    }
    shown.sort((a, b) => a.gid - b.gid || a.name.localeCompare(b.name));
    if (o.json) printJson(shown.map(groupJson));
    else process.stdout.write(groupsTable(shown));
    return 0;
  });
}

export function registerGroup(program: Command): void {
  const group = program.command('group').description('groups: gid and members');
  group
    .command('add')
    .description('add a group')
    .argument('<name>', 'group name, lowercase like groupadd')
    .option('--gid <gid>', 'gid (default: the next free one from 1000)')
    .option(...CONFIG_OPTION)
    .action((name: string, o: { gid?: string; config?: string }) => runCli(() => addGroup(name, o)));
  group
    .command('remove')
    .description('remove a group (refused while it is some user’s primary group, as groupdel is)')
    .argument('<name>', 'group name')
    .option(...CONFIG_OPTION)
    .action((name: string, o: { config?: string }) => runCli(() => removeGroup(name, o)));
  group
    .command('add-member')
    .description('add a user to a group as a supplementary member (gpasswd -a)')
    .argument('<group>', 'group name')
    .argument('<user>', 'user name')
    .option(...CONFIG_OPTION)
    .action((g: string, u: string, o: { config?: string }) => runCli(() => member('add', g, u, o)));
  group
    .command('remove-member')
    .description('take a user out of a supplementary group (gpasswd -d)')
    .argument('<group>', 'group name')
    .argument('<user>', 'user name')
    .option(...CONFIG_OPTION)
    .action((g: string, u: string, o: { config?: string }) => runCli(() => member('remove', g, u, o)));
  group
    .command('show')
    .description('a group’s gid and members: getent’s line (name:x:gid:members), then a readable form')
    .argument('<name>', 'group name')
    .option('--json', 'print as JSON')
    .option(...CONFIG_OPTION)
    .action((name: string, o: { json?: boolean; config?: string }) => runCli(() => show(name, o)));
  group
    .command('list')
    .description('list groups with their members')
    .option('--json', 'print as JSON')
    .option(...CONFIG_OPTION)
    .action((o: { json?: boolean; config?: string }) => runCli(() => list(o)));
}
