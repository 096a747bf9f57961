import { closeOpen } from './close-open.ts';
import type { SmbConnection } from './connection.ts';
import type { ServerEnv } from './context.ts';
import type { Open } from './open-files.ts';

/** How `./cfs smb status` names the session of a durable open waiting for its client. */
export const DISCONNECTED_SESSION = 'disconnected (durable)';

const hex = (n: bigint) => `0x${n.toString(16)}`;

/** The open `./cfs smb status` lists under this session and FileId (pipes aside). */
function findOpen(
  connections: Iterable<SmbConnection>,
  env: ServerEnv,
  session: string,
  fileId: string,
): Open | undefined {
  if (session === DISCONNECTED_SESSION)
    return env.durable.disconnected().find((o) => hex(o.fileId.persistent) === fileId);
  for (const c of connections) {
    for (const s of c.sessions.values()) {
      if (hex(s.id) !== session) continue;
      for (const o of s.opens.values()) if (o.kind !== 'pipe' && hex(o.fileId.volatile) === fileId) return o;
    }
  }
  return undefined;
}

/**
 * An operator closes a client's open file, as Windows Server's "Close Open File" (`net file ID
 * /close`) does: its locks, share mode and lease go at once, so others may open and lock the
 * file; the client's next use of the handle is STATUS_FILE_CLOSED, and what it had not yet
 * written back is lost to it. A durable open waiting for its client closes the same way.
 * Returns the file's path, or undefined when no such open exists.
 */
export async function closeByAdmin(
  connections: Iterable<SmbConnection>,
  env: ServerEnv,
  session: string,
  fileId: string,
): Promise<string | undefined> {
  const open = findOpen(connections, env, session, fileId);
  if (!open) return undefined;
  const path = `${open.tree.share.name}\\${open.path}`;
  await closeOpen(env, open);
  env.log.info({ session, fileId, path }, `SMB open of ${path} closed by an operator`);
  return path;
}
