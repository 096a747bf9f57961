import { afpStreamOf } from './apple/afp-streams.ts';
import { releaseTableLock } from './commands/lock.ts';
import type { ServerEnv } from './context.ts';
import { NT_STATUS } from './deps.ts';
import type { Open } from './open-files.ts';
import { removeStream, streamSize } from './streams.ts';

/**
 * Closes an open: CLOSE, TREE_DISCONNECT, LOGOFF, a dropped connection, and a durable open's
 * timeout all end here. Everything other requests can observe (the handle, its locks, its
 * oplock, share mode and delete-pending state) goes at once, before anything is awaited, so a
 * client that reconnects sees the old connection's handles gone; then unstable writes are
 * committed, or the file is deleted when this was its last open and a delete is pending.
 */
export function closeOpen(env: ServerEnv, open: Open): Promise<void> {
  if (open.closed) return Promise.resolve();
  open.closed = true;
  open.session.opens.delete(open.fileId.volatile);
  if (open.durable) {
    open.durable.cancelExpiry?.();
    env.durable.remove(open);
  }
  if (open.kind === 'pipe') return Promise.resolve();
  const { ns } = env;
  for (const l of open.locks) releaseTableLock(ns.locks, open, l);
  open.locks.length = 0;
  for (const l of open.closeListeners) l();
  open.closeListeners.clear();
  open.oplockBreak?.cancelTimeout();
  open.oplockBreak = undefined;
  env.leases.release(open);
  if (open.notify) {
    env.notify.remove(open.notify);
    open.notify.wake();
  }
  const { last, deletePending, streamDeleted } = env.inodes.remove(open);
  // A directory whose delete is pending ends the change notifications of its other opens.
  if (!last && deletePending && open.kind === 'dir') {
    for (const o of env.inodes.opensOf(open.ino)) o.notify?.end(NT_STATUS.STATUS_DELETE_PENDING);
  }
  // Its last name went (over NFS, S3 or another open) while it was open: the file goes now
  // (with other nodes, unless their clients still hold it).
  const unlinked = last ? ns.releaseUnlinked(open.ino) : undefined;
  if (unlinked) {
    return unlinked.then((removed) =>
      removed ? ns.flushDeferred() : afterClose(env, open, deletePending, streamDeleted),
    );
  }
  return afterClose(env, open, last && deletePending, streamDeleted);
}

/** What a close leaves to do: the delete on close, a stream's delete, the commit of its writes. */
function afterClose(
  env: ServerEnv,
  open: Open,
  deletePending: boolean,
  streamDeleted: boolean,
): Promise<void> {
  const remove = deletePending && open.parentIno !== 0n && open.session.cred !== undefined;
  if (remove) return deleteOnClose(env, open).then(() => env.ns.flushDeferred());
  if (streamDeleted && open.session.cred !== undefined)
    return deleteStreamOnClose(env, open).then(() => env.ns.flushDeferred());
  // A dirty open's commit flushes its metadata too; with async metadata durability an
  // acknowledged CLOSE has every change before it on disk either way.
  return open.dirty ? commitOnClose(env, open) : env.ns.flushDeferred();
}

async function commitOnClose(env: ServerEnv, open: Open): Promise<void> {
  open.dirty = false;
  await env.ns.commit(open.ino);
}

async function deleteOnClose(env: ServerEnv, open: Open): Promise<void> {
  const { ns, log } = env;
  const cred = open.session.cred!;
  try {
    const now = await ns.lookup(cred, open.parentIno, open.name);
    // An open of a symbolic link's name reached its target: the delete takes the link the
    // client named, not the target, as unlink(2) and smbd do (paths.ts).
    if (now.type === 'symlink' && now.ino !== open.ino) await ns.remove(cred, open.parentIno, open.name);
    if (now.ino !== open.ino) return;
    if (open.kind === 'dir') await ns.rmdir(cred, open.parentIno, open.name);
    else await ns.remove(cred, open.parentIno, open.name);
  } catch (e) {
    log.warn({ err: e, path: open.path }, `SMB delete on close of ${open.path} failed`);
  }
}

async function deleteStreamOnClose(env: ServerEnv, open: Open): Promise<void> {
  try {
    // macOS deletes a resource fork by truncating it; a delete of one with data is ignored.
    if (afpStreamOf(open) === 'resource' && (await streamSize(env.ns, open.ino, open.stream!)) > 0n) return;
    await removeStream(env.ns, open.session.cred!, open.ino, open.stream!);
  } catch (e) {
    env.log.warn(
      { err: e, path: open.path },
      `SMB delete on close of stream ${open.stream} of ${open.path} failed`,
    );
  }
}
