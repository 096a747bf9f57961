import type { AuditEntryView, GroupMemberView, GroupView, S3KeyView, UserView } from '@claudefs/api';
import type { AuditEntry } from './audit.ts';
import type { GroupRecord } from './groups.ts';
import type { S3KeyRecord } from './s3-keys.ts';
import type { UserRecord } from './users.ts';

/** Control-plane records as the console receives them: dates as ISO 8601, no internal ids. */

const iso = (d: Date) => d.toISOString();

export function userView(u: UserRecord): UserView {
  return {
    name: u.name,
    uid: u.uid,
    gid: u.gid,
    groups: u.groups,
    gids: u.gids,
    role: u.role,
    disabled: u.disabled,
    hasPassword: u.hasPassword,
    hasNtHash: u.hasNtHash,
    createdAt: iso(u.createdAt),
    updatedAt: iso(u.updatedAt),
  };
}

export function groupView(g: GroupRecord, members: GroupMemberView[]): GroupView {
  return { name: g.name, gid: g.gid, createdAt: iso(g.createdAt), members };
}

export function keyView(k: S3KeyRecord): S3KeyView {
  return {
    accessKeyId: k.accessKeyId,
    userName: k.userName,
    uid: k.uid,
    status: k.status,
    userDisabled: k.userDisabled,
    createdAt: iso(k.createdAt),
    lastUsedAt: k.lastUsedAt ? iso(k.lastUsedAt) : null,
  };
}

export function auditView(e: AuditEntry): AuditEntryView {
  return { ...e, at: iso(e.at) };
}
