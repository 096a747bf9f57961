import { macPathToWire } from '../apple/mac-names.ts';
import { ACCESS } from '../constants.ts';
import type { RequestContext } from '../context.ts';
import { NT_STATUS } from '../deps.ts';
import { SmbError } from '../errors.ts';
import { HEADER_SIZE } from '../header.ts';
import { type NotifyChange, NotifyWatch } from '../notify.ts';
import type { FileId } from '../open-files.ts';
import type { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';
import { readFileId } from './file-id.ts';

const WATCH_TREE = 0x0001;

export interface ChangeNotifyRequest {
  flags: number;
  outputBufferLength: number;
  fileId: FileId;
  completionFilter: number;
}

export interface ChangeNotifyResponse {
  changes: NotifyChange[];
}

/** MS-SMB2 §2.2.35. */
export function decodeChangeNotify(r: Reader): ChangeNotifyRequest {
  r.structureSize(32);
  const flags = r.u16('Flags');
  const outputBufferLength = r.u32('OutputBufferLength');
  const fileId = readFileId(r);
  const completionFilter = r.u32('CompletionFilter');
  r.skip(4, 'Reserved');
  return { flags, outputBufferLength, fileId, completionFilter };
}

export const changeNotifyPayload = (req: ChangeNotifyRequest): number => req.outputBufferLength;

/**
 * MS-SMB2 §3.3.5.19: answers at once with changes queued since the last request, else goes
 * async until a change, CANCEL (STATUS_CANCELLED) or the handle's close (STATUS_NOTIFY_CLEANUP).
 * More changes than the buffer holds: STATUS_NOTIFY_ENUM_DIR, the client re-reads the directory.
 * The handle's first request sets what is watched (MS-FSA §2.1.5.11): later requests' filter
 * (0 included), WATCH_TREE and buffer size do not change it.
 */
export async function handleChangeNotify(
  ctx: RequestContext,
  req: ChangeNotifyRequest,
): Promise<ChangeNotifyResponse> {
  const open = ctx.open(req.fileId);
  if (open.kind !== 'dir') throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'not a directory');
  if (!open.has(ACCESS.FILE_LIST_DIRECTORY))
    throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'no list access');
  if (req.outputBufferLength > ctx.conn.maxTransactSize)
    throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'OutputBufferLength');
  let watch = open.notify;
  if (!watch) {
    if (req.completionFilter === 0)
      throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'CompletionFilter is 0');
    const recursive = (req.flags & WATCH_TREE) !== 0;
    watch = new NotifyWatch(open.ino, recursive, req.completionFilter, req.outputBufferLength);
    open.notify = watch;
    ctx.env.notify.add(watch);
  }
  if (ctx.env.notify.delivering) await ctx.env.notify.settled();
  // Closed while the changes before this request were delivered: the close answers it.
  if (open.closed) throw new SmbError(NT_STATUS.STATUS_NOTIFY_CLEANUP, 'handle closed');
  if (!watch.ready) {
    if (watch.waiter)
      throw new SmbError(
        NT_STATUS.STATUS_INVALID_PARAMETER,
        'a CHANGE_NOTIFY is already pending on the handle',
      );
    ctx.goAsync();
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        watch.waiter = undefined;
        reject(new SmbError(NT_STATUS.STATUS_CANCELLED, 'cancelled'));
      };
      watch.waiter = () => {
        ctx.signal.removeEventListener('abort', onAbort);
        resolve();
      };
      if (ctx.signal.aborted) onAbort();
      else ctx.signal.addEventListener('abort', onAbort, { once: true });
    });
  }
  if (open.closed) throw new SmbError(NT_STATUS.STATUS_NOTIFY_CLEANUP, 'handle closed');
  if (watch.ended !== undefined) throw new SmbError(watch.ended, 'the directory is being deleted');
  const taken = watch.take();
  const { overflow } = taken;
  // A share with apple_extensions shows stored names in the form Macs send (apple/mac-names.ts).
  const changes = open.tree.share.apple
    ? taken.changes.map((c) => ({ ...c, name: macPathToWire(c.name) }))
    : taken.changes;
  const size = encodeChanges(changes).length;
  if (overflow || size > req.outputBufferLength) {
    ctx.replyStatus(NT_STATUS.STATUS_NOTIFY_ENUM_DIR);
    return { changes: [] };
  }
  return { changes };
}

/** FILE_NOTIFY_INFORMATION entries (MS-FSCC §2.7.1), 4-aligned and chained. */
function encodeChanges(changes: readonly NotifyChange[]): Buffer {
  const w = new Writer(64);
  let last = -1;
  for (const c of changes) {
    w.align(4);
    if (last >= 0) w.at(last).u32(w.length - last);
    last = w.length;
    const name = Buffer.from(c.name, 'utf16le');
    w.u32(0).u32(c.action).u32(name.length).bytes(name);
  }
  return w.finish();
}

/** MS-SMB2 §2.2.36. */
export function encodeChangeNotify(res: ChangeNotifyResponse): Buffer[] {
  const body = encodeChanges(res.changes);
  const head = Buffer.alloc(8);
  head.writeUInt16LE(9, 0);
  head.writeUInt16LE(body.length ? HEADER_SIZE + 8 : 0, 2);
  head.writeUInt32LE(body.length, 4);
  return [head, body.length ? body : Buffer.alloc(1)];
}
