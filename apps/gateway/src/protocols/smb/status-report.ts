import type { LockView, SmbHeldElsewhereView } from '@claudefs/api';
import { lockViews } from '../../ops/locks/views.ts';
import { DISCONNECTED_SESSION } from './admin-close.ts';
import type { SmbConnection } from './connection.ts';
import { dialectName } from './constants.ts';
import type { ServerEnv } from './context.ts';
import type { Open } from './open-files.ts';
import { describeCaching, leaseLetters } from './oplocks.ts';

/** What `./cfs smb status` shows (Samba's `smbstatus -L` stands in for it in the runbook). */
export interface SmbStatus {
  sessions: Array<{
    connection: number;
    session: string;
    user: string;
    uid: number;
    gid: number;
    remote: string;
    dialect: string;
    /** The client negotiated Apple's extensions (a Mac on a share with apple_extensions). */
    apple: boolean;
    signing: boolean;
    encryption: string;
    since: string;
  }>;
  trees: Array<{ session: string; share: string; treeId: number; since: string }>;
  openFiles: Array<{
    session: string;
    share: string;
    path: string;
    kind: string;
    access: string;
    /** The oplock or lease the open holds ("batch", "lease RWH", "none"). */
    caching: string;
    fileId: string;
    since: string;
  }>;
  /** With several nodes on one PostgreSQL: what other nodes' clients hold, file by file. */
  elsewhere: SmbHeldElsewhereView[];
  /** Every lock of the gateway's one table, NLM's too, so a conflict is visible from here. */
  locks: LockView[];
}

const iso = (ms: number) => new Date(ms).toISOString();

const filePath = (o: Open) => `${o.tree.share.name}\\${o.path}`;

/** An open of a named stream is listed as "share\\path:stream". */
function openFileRow(session: string, o: Open, fileId: bigint): SmbStatus['openFiles'][number] {
  return {
    session,
    share: o.tree.share.name,
    path:
      o.kind === 'pipe'
        ? `\\PIPE\\${o.name}`
        : `${filePath(o)}${o.stream === undefined ? '' : `:${o.stream}`}`,
    kind: o.kind,
    access: `0x${o.access.toString(16).padStart(8, '0')}`,
    caching: o.kind === 'pipe' ? 'none' : describeCaching(o),
    fileId: `0x${fileId.toString(16)}`,
    since: iso(o.openedAt),
  };
}

export function smbStatusOf(connections: readonly SmbConnection[], env: ServerEnv): SmbStatus {
  const out: SmbStatus = { sessions: [], trees: [], openFiles: [], elsewhere: [], locks: [] };
  const paths = new Map<bigint, string>();
  const holders = new Map<string, string>();
  for (const c of connections) {
    for (const s of c.sessions.values()) {
      if (s.state !== 'valid' || !s.user) continue;
      const sid = `0x${s.id.toString(16)}`;
      holders.set(s.lockClient, `${s.user.name}@${c.remoteAddress}:${c.registry.info.remotePort}`);
      out.sessions.push({
        connection: c.id,
        session: sid,
        user: s.user.name,
        uid: s.user.uid,
        gid: s.user.gid,
        remote: `${c.remoteAddress}:${c.registry.info.remotePort}`,
        dialect: dialectName(c.dialect),
        apple: c.apple !== undefined,
        signing: s.signingRequired,
        encryption: String(c.registry.info.details.encryption ?? 'none'),
        since: iso(s.createdAt),
      });
      for (const t of s.trees.values())
        out.trees.push({ session: sid, share: t.share.name, treeId: t.id, since: iso(t.createdAt) });
      for (const o of s.opens.values()) {
        out.openFiles.push(openFileRow(sid, o, o.fileId.volatile));
        if (o.kind !== 'pipe') paths.set(o.ino, filePath(o));
      }
    }
  }
  // Durable opens whose connection dropped, kept for a reconnect: they belong to no session now.
  for (const o of env.durable.disconnected()) {
    out.openFiles.push(openFileRow(DISCONNECTED_SESSION, o, o.fileId.persistent));
    paths.set(o.ino, filePath(o));
  }
  for (const { node, ino, holds: h } of env.ns.caching.cluster?.elsewhere() ?? []) {
    out.elsewhere.push({
      node,
      path: paths.get(ino) ?? null,
      ino: ino.toString(),
      caching: leaseLetters(h.caching),
      readers: h.readers,
      writers: h.writers,
      deleters: h.deleters,
      denies: [h.noRead && 'READ', h.noWrite && 'WRITE', h.noDelete && 'DELETE'].filter(Boolean).join(','),
    });
  }
  out.locks = lockViews(env.ns.locks, holders, paths);
  return out;
}
