/**
 * Ids every Unix system names, for an id no account or group of the control plane holds:
 * root (0) and the unprivileged nobody/nogroup (65534) that squashed NFS callers and SMB guests
 * run as.
 */
const USERS: ReadonlyMap<number, string> = new Map([
  [0, 'root'],
  [65534, 'nobody'],
]);
const GROUPS: ReadonlyMap<number, string> = new Map([
  [0, 'root'],
  [65534, 'nogroup'],
]);

export function systemName(kind: 'uid' | 'gid', id: number): string | undefined {
  return (kind === 'uid' ? USERS : GROUPS).get(id);
}

export function systemId(kind: 'uid' | 'gid', name: string): number | undefined {
  for (const [id, n] of kind === 'uid' ? USERS : GROUPS) if (n === name) return id;
  return undefined;
}
