import type { AdminTokenRecord, GroupRecord, S3KeyRecord, UserRecord } from '../../control/index.ts';
import { alignColumns } from './columns.ts';

/** Tables and lines for `./cfs user|group|admin`; none of them can carry a secret. */

/** `2026-11-28 04:46:37Z`, or `-`. */
export function when(d: Date | null): string {
  return d === null ? '-' : `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

function table(header: string[], rows: string[][], empty: string): string {
  if (rows.length === 0) return `${empty}\n`;
  return `${alignColumns([header, ...rows], []).join('\n')}\n`;
}

export function usersTable(users: readonly UserRecord[], activeKeys: ReadonlyMap<string, number>): string {
  return table(
    ['NAME', 'UID', 'GID', 'GROUPS', 'ROLE', 'PASSWORD', 'S3 KEYS', 'STATUS'],
    users.map((u) => [
      u.name,
      String(u.uid),
      String(u.gid),
      u.groups.length === 0 ? '-' : u.groups.join(','),
      u.role ?? '-',
      u.hasPassword ? 'set' : 'none',
      String(activeKeys.get(u.name) ?? 0),
      u.disabled ? 'disabled' : 'enabled',
    ]),
    'no users',
  );
}

/** `active`, `inactive`, or `active (user disabled)`: S3 refuses a disabled user's keys. */
export function keyStatus(k: Pick<S3KeyRecord, 'status' | 'userDisabled'>): string {
  return k.userDisabled && k.status === 'active' ? 'active (user disabled)' : k.status;
}

export function keysTable(keys: readonly S3KeyRecord[]): string {
  return table(
    ['ACCESS KEY ID', 'USER', 'STATUS', 'CREATED', 'LAST USED'],
    keys.map((k) => [k.accessKeyId, k.userName, keyStatus(k), when(k.createdAt), when(k.lastUsedAt)]),
    'no access keys',
  );
}

export function tokensTable(tokens: readonly AdminTokenRecord[], now = new Date()): string {
  return table(
    ['NAME', 'ROLE', 'CREATED', 'LAST USED', 'EXPIRES', 'STATUS'],
    tokens.map((t) => [
      t.name,
      t.role,
      when(t.createdAt),
      when(t.lastUsedAt),
      when(t.expiresAt),
      tokenStatus(t, now),
    ]),
    'no admin tokens',
  );
}

export function tokenStatus(t: AdminTokenRecord, now = new Date()): 'revoked' | 'expired' | 'active' {
  if (t.revoked) return 'revoked';
  if (t.expiresAt !== null && t.expiresAt <= now) return 'expired';
  return 'active';
}

export function tokenJson(t: AdminTokenRecord, now = new Date()) {
  return {
    name: t.name,
    role: t.role,
    status: tokenStatus(t, now),
    createdAt: t.createdAt.toISOString(),
    lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
    expiresAt: t.expiresAt?.toISOString() ?? null,
  };
}

/** A member of a group as `./cfs group show` lists it. */
export interface ShownMember {
  name: string;
  /** The gid is the user's primary group (getent omits these from the member field). */
  primary: boolean;
  source: 'control' | 'host';
}

export interface ShownGroup {
  name: string;
  gid: number;
  members: ShownMember[];
}

/**
 * getent's group(5) line: `claudefs-users:x:1500:alice,bob`. Like getent, the member field
 * lists supplementary members only, not users whose primary group this is.
 */
export function getentLine(g: ShownGroup): string {
  const members = g.members.filter((m) => !m.primary).map((m) => m.name);
  return `${g.name}:x:${g.gid}:${[...new Set(members)].join(',')}`;
}

function memberText(m: ShownMember): string {
  const notes = [m.primary ? 'primary group' : '', m.source === 'host' ? 'host' : ''].filter((n) => n !== '');
  return notes.length === 0 ? m.name : `${m.name} (${notes.join(', ')})`;
}

export function groupText(g: ShownGroup): string {
  const rows = [
    ['group:', g.name],
    ['gid:', String(g.gid)],
    ['members:', g.members.length === 0 ? '(none)' : g.members.map(memberText).join(', ')],
  ];
  return `${getentLine(g)}\n${alignColumns(rows, []).join('\n')}\n`;
}

export function groupJson(g: ShownGroup) {
  return { name: g.name, gid: g.gid, members: g.members, getent: getentLine(g) };
}

export function groupsTable(groups: readonly ShownGroup[]): string {
  return table(
    ['NAME', 'GID', 'MEMBERS'],
    groups.map((g) => [
      g.name,
      String(g.gid),
      g.members.length === 0 ? '-' : g.members.map((m) => m.name).join(','),
    ]),
    'no groups',
  );
}

export function groupRecordLine(g: GroupRecord): string {
  return `group ${g.name} (gid ${g.gid})`;
}
