import { readFile } from 'node:fs/promises';

/** The host's group database, as getent reads it on a host with only files (nsswitch `files`). */
export interface HostFiles {
  /** Default /etc/group. */
  groupFile?: string;
  /** Default /etc/passwd. */
  passwdFile?: string;
}

export interface HostGroup {
  name: string;
  gid: number;
  members: string[];
}

async function readLines(file: string): Promise<string[]> {
  try {
    return (await readFile(file, 'utf8')).split('\n');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** group(5): `name:password:gid:member,member`; comments, blank and malformed lines are skipped. */
export function parseGroupFile(text: string): HostGroup[] {
  const out: HostGroup[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const [name, , gidText, members = ''] = line.split(':');
    if (!name || gidText === undefined || !/^\d+$/.test(gidText)) continue;
    out.push({ name, gid: Number(gidText), members: members.split(',').filter((m) => m !== '') });
  }
  return out;
}

export async function readHostGroups(files: HostFiles = {}): Promise<HostGroup[]> {
  return parseGroupFile((await readLines(files.groupFile ?? '/etc/group')).join('\n'));
}

/** passwd(5): the primary gid of `user` on the host, or undefined. */
async function hostPrimaryGid(user: string, files: HostFiles): Promise<number | undefined> {
  for (const line of await readLines(files.passwdFile ?? '/etc/passwd')) {
    const f = line.split(':');
    if (f[0] === user && f[3] !== undefined && /^\d+$/.test(f[3])) return Number(f[3]);
  }
  return undefined;
}

/**
 * The gids the host gives `user`, as initgroups(3) does: every group listing the name, plus
 * the user's primary group from passwd.
 */
export async function hostGroupIds(user: string, files: HostFiles = {}): Promise<number[]> {
  const [groups, primary] = await Promise.all([readHostGroups(files), hostPrimaryGid(user, files)]);
  const gids = new Set(groups.filter((g) => g.members.includes(user)).map((g) => g.gid));
  if (primary !== undefined) gids.add(primary);
  return [...gids].sort((a, b) => a - b);
}
