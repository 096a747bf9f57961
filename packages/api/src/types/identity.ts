import type { Role } from './auth.ts';

export interface UserView {
  name: string;
  uid: number;
  /** Primary gid. */
  gid: number;
  /** Supplementary groups, sorted by gid; `gids[i]` is the gid of `groups[i]`. */
  groups: string[];
  gids: number[];
  /** Console role; null = no console access. */
  role: Role | null;
  disabled: boolean;
  hasPassword: boolean;
  /** SMB can authenticate the user (an NT hash is stored). */
  hasNtHash: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface NewUser {
  name: string;
  /** Default: the next free uid ≥ 1000. */
  uid?: number;
  /** Primary gid. Default: the gid of group `group` (default: a group named like the user), created if absent. */
  gid?: number;
  group?: string;
  /** Supplementary groups by name, created if absent. */
  groups?: string[];
  role?: Role | null;
  password?: string;
}

export interface GroupMemberView {
  name: string;
  uid: number;
  /** The group is the user's primary group. */
  primary: boolean;
}

export interface GroupView {
  name: string;
  gid: number;
  createdAt: string;
  members: GroupMemberView[];
}

export interface NewGroup {
  name: string;
  /** Default: the next free gid ≥ 1000. */
  gid?: number;
}

export type S3KeyStatus = 'active' | 'inactive';

export interface S3KeyView {
  accessKeyId: string;
  userName: string;
  uid: number;
  status: S3KeyStatus;
  /** Its user is disabled: S3 refuses the key whatever its status. */
  userDisabled: boolean;
  createdAt: string;
  lastUsedAt: string | null;
}

/** A new key with its secret: returned once, by `keys.create`, never again. */
export interface CreatedS3Key extends S3KeyView {
  secret: string;
}
