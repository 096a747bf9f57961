import type { ClientMatch, SmbShare, SmbShareEncryption } from '../../config/types.ts';
import type { ControlPlane } from '../../control/index.ts';
import { readHostGroups } from '../../ops/identity/host-groups.ts';
import type { ClientAccess } from '../client-access.ts';
import { FILE_ALL_ACCESS, FILE_GENERIC_EXECUTE, FILE_GENERIC_READ } from './constants.ts';
import type { Session, SessionUser } from './session.ts';

/** A share as the SMB server serves it: a configured one, or the IPC$ pipe share. */
export interface Share {
  name: string;
  /** Namespace path of the share's root ("" for IPC$). */
  path: string;
  readOnly: boolean;
  validGroups: readonly string[];
  /** Absent: as the server's smb.encryption. */
  encryption?: SmbShareEncryption;
  /** Guest sessions may connect (IPC$ takes them too: they list shares through it). */
  guestOk: boolean;
  /** hosts_allow: the client addresses that may connect; empty: any. */
  clients: readonly ClientMatch[];
  /** apple_extensions: macOS's AAPL extensions and its AFP streams' rules (apple/). */
  apple: boolean;
  /** convert_appledouble, on a share with `apple`: `._name` files become name's streams. */
  convertAppleDouble: boolean;
  /** time_machine: a Time Machine destination (apple/time-machine.ts); its max size, if any. */
  timeMachine?: { maxSize: number | undefined };
  ipc: boolean;
  remark: string;
}

export const IPC_SHARE: Share = {
  name: 'IPC$',
  path: '',
  readOnly: true,
  validGroups: [],
  guestOk: true,
  clients: [],
  apple: false,
  convertAppleDouble: false,
  ipc: true,
  remark: 'IPC Service (ClaudeFS Gateway)',
};

export function sharesFrom(config: readonly SmbShare[]): Share[] {
  return config.map((s) => ({
    name: s.name,
    path: s.path,
    readOnly: s.readOnly,
    validGroups: s.validGroups,
    ...(s.encryption === undefined ? {} : { encryption: s.encryption }),
    guestOk: s.guestOk,
    clients: s.hostsAllow,
    apple: s.appleExtensions,
    convertAppleDouble: s.appleExtensions && s.convertAppleDouble,
    ...(s.timeMachine ? { timeMachine: { maxSize: s.timeMachineMaxSize } } : {}),
    ipc: false,
    remark: '',
  }));
}

/** The share a TREE_CONNECT path (`\\server\share`) names; share names ignore case. */
export function findShare(shares: readonly Share[], uncPath: string): Share | undefined {
  const name = uncPath.replace(/^\\\\[^\\]*\\/, '').replace(/\\+$/, '');
  if (name.includes('\\') || name === '') return undefined;
  const upper = name.toUpperCase();
  if (upper === 'IPC$') return IPC_SHARE;
  return shares.find((s) => s.name.toUpperCase() === upper);
}

/**
 * valid_groups: the user must be in one of them (primary or supplementary gid). Group names are
 * the control plane's; with `identity.groups_from_host` the host's groups count too.
 */
export async function inValidGroups(
  share: Share,
  user: SessionUser,
  control: ControlPlane,
  groupsFromHost: boolean,
): Promise<boolean> {
  if (share.validGroups.length === 0 || share.ipc) return true;
  const mine = new Set([user.gid, ...user.gids]);
  const host = groupsFromHost ? await readHostGroups() : [];
  for (const name of share.validGroups) {
    const g = await control.groups.get(name);
    if (g && mine.has(g.gid)) return true;
    const h = host.find((x) => x.name === name);
    if (h && (mine.has(h.gid) || h.members.includes(user.name))) return true;
  }
  return false;
}

/** hosts_allow: whether a client address may connect to the share (any, when it lists none). */
export function hostAllowed(
  env: { clients: ClientAccess },
  share: Share,
  address: string,
): Promise<boolean> | boolean {
  return share.clients.length === 0 || env.clients.allowed(share, address);
}

/** MS-SMB2 §3.3.1.9: a session's connection to a share. */
export class TreeConnect {
  readonly createdAt = Date.now();
  /** The share asked for encryption this session does not already give: requests must come encrypted. */
  encryptData = false;
  constructor(
    readonly id: number,
    readonly session: Session,
    /** Replaced by a reload that changed the share's read_only or valid_groups (server.ts). */
    public share: Share,
    readonly rootIno: bigint,
  ) {}

  /** MaximalAccess in the TREE_CONNECT response: what the share allows at most. */
  get maximalAccess(): number {
    return this.share.readOnly && !this.share.ipc
      ? FILE_GENERIC_READ | FILE_GENERIC_EXECUTE
      : FILE_ALL_ACCESS;
  }
}
