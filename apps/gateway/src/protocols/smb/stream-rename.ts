import type { RequestContext } from './context.ts';
import { NT_STATUS } from './deps.ts';
import { SmbError } from './errors.ts';
import type { Open } from './open-files.ts';
import type { SmbName } from './paths.ts';
import { findStream, readStream, removeStream, renameStream, sameStreamName, streamSize } from './streams.ts';

/** A stream moves to the unnamed one this many bytes at a time. */
const PIECE = 4n * 1024n * 1024n;

/**
 * FILE_RENAME_INFORMATION on an open of a named stream (MS-FSA §2.1.5.14.11): the new name is
 * ":name[:$DATA]" (a path is refused: the file is held by this open), another stream of the file, replaced only with ReplaceIfExists and
 * while no one has it open; or "::$DATA", the file's unnamed stream, which takes the stream's
 * bytes when it is empty or ReplaceIfExists is set. Every open of the stream follows it.
 */
export async function renameStreamOf(
  ctx: RequestContext,
  open: Open,
  target: SmbName,
  replace: boolean,
): Promise<void> {
  const from = open.stream;
  if (from === undefined)
    throw new SmbError(NT_STATUS.STATUS_NOT_SUPPORTED, "renaming a file's unnamed stream to a named one");
  // A path names the file, which this open of its stream holds (Windows answers so too).
  if (target.components.length > 0)
    throw new SmbError(
      NT_STATUS.STATUS_SHARING_VIOLATION,
      'a named stream is renamed to ":name" in its file, not to a path',
    );
  const { ns } = ctx.env;
  const cred = ctx.cred();
  const opens = ctx.env.inodes.opensOf(open.ino);
  const followers = opens.filter((o) => o.stream !== undefined && sameStreamName(o.stream, from));
  if (target.stream === undefined) {
    const file = await ns.getattr(open.ino);
    if (file.type === 'dir')
      throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'a directory has no data stream');
    if (file.size > 0n && !replace)
      throw new SmbError(NT_STATUS.STATUS_OBJECT_NAME_COLLISION, 'the unnamed stream holds data');
    if (opens.some((o) => o.stream === undefined))
      throw new SmbError(NT_STATUS.STATUS_SHARING_VIOLATION, 'the unnamed stream is open');
    const size = await streamSize(ns, open.ino, from);
    await ns.setattr(cred, open.ino, { size: 0n });
    for (let at = 0n; at < size; at += PIECE)
      await ns.write(cred, open.ino, at, await readStream(ns, open.ino, from, at, Number(PIECE)), 'unstable');
    if (size > 0n) await ns.commit(open.ino);
    await removeStream(ns, cred, open.ino, from);
    for (const o of followers) o.stream = undefined;
    return;
  }
  const to = target.stream;
  if (to === from) return;
  const existing = sameStreamName(from, to) ? undefined : await findStream(ns, open.ino, to);
  if (existing) {
    if (!replace)
      throw new SmbError(NT_STATUS.STATUS_OBJECT_NAME_COLLISION, `stream ${existing.name} exists`);
    if (opens.some((o) => o.stream !== undefined && sameStreamName(o.stream, existing.name)))
      throw new SmbError(NT_STATUS.STATUS_SHARING_VIOLATION, `stream ${existing.name} is open`);
  }
  await renameStream(ns, cred, open.ino, from, to, existing?.name);
  for (const o of followers) o.stream = to;
}
