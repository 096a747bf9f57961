import { decodeCancel, encodeCancel, handleCancel } from './commands/cancel.ts';
import {
  changeNotifyPayload,
  decodeChangeNotify,
  encodeChangeNotify,
  handleChangeNotify,
} from './commands/change-notify.ts';
import { decodeClose, encodeClose, handleClose } from './commands/close.ts';
import { decodeCreate, encodeCreate, handleCreate } from './commands/create.ts';
import { decodeEcho, encodeEcho, handleEcho } from './commands/echo.ts';
import { decodeFlush, encodeFlush, handleFlush } from './commands/flush.ts';
import { decodeIoctl, encodeIoctl, handleIoctl, ioctlPayload } from './commands/ioctl.ts';
import { decodeLock, encodeLock, handleLock } from './commands/lock.ts';
import { decodeLogoff, encodeLogoff, handleLogoff } from './commands/logoff.ts';
import { decodeNegotiate, encodeNegotiate, handleNegotiate } from './commands/negotiate.ts';
import { decodeOplockBreak, encodeOplockBreak, handleOplockBreak } from './commands/oplock-break.ts';
import {
  decodeQueryDirectory,
  encodeQueryDirectory,
  handleQueryDirectory,
  queryDirectoryPayload,
} from './commands/query-directory.ts';
import {
  decodeQueryInfo,
  encodeQueryInfo,
  handleQueryInfo,
  queryInfoPayload,
} from './commands/query-info.ts';
import { decodeRead, encodeRead, handleRead, readPayload, releaseRead } from './commands/read.ts';
import { decodeSessionSetup, encodeSessionSetup, handleSessionSetup } from './commands/session-setup.ts';
import { decodeSetInfo, encodeSetInfo, handleSetInfo } from './commands/set-info.ts';
import { decodeTreeConnect, encodeTreeConnect, handleTreeConnect } from './commands/tree-connect.ts';
import {
  decodeTreeDisconnect,
  encodeTreeDisconnect,
  handleTreeDisconnect,
} from './commands/tree-disconnect.ts';
import { decodeWrite, encodeWrite, handleWrite, writePayload } from './commands/write.ts';
import { CMD } from './constants.ts';
import type { RequestContext } from './context.ts';
import type { Reader } from './wire/reader.ts';

/**
 * One SMB2 command as data (MS-SMB2 §2.2, §3.3.5): how its body decodes, what handles it, how
 * its reply encodes, and the preconditions the connection checks before the handler runs.
 */
export interface CommandRow<Req = unknown, Res = unknown> {
  id: number;
  name: string;
  /** Over the whole message, positioned after the 64-byte header. */
  decode(r: Reader): Req;
  handle(ctx: RequestContext, req: Req): Promise<Res>;
  /** The body; several buffers are written in order (payloads are never copied); null: no reply. */
  encode(res: Res): Buffer | Buffer[] | null;
  /** Frees what the encoded body holds by reference (a pooled read buffer) once it is sent. */
  release?(res: Res): void;
  /** A valid session is required (§3.3.5.2.9). */
  needsSession: boolean;
  /** A tree connect is required (§3.3.5.2.11). */
  needsTree: boolean;
  /** Changes data or metadata: refused on a read-only share. */
  mutates: boolean;
  /** Bytes a multi-credit request must pay for (§3.3.5.2.5); one credit when absent. */
  payload?(req: Req): number;
}

function row<Req, Res>(r: CommandRow<Req, Res>): CommandRow {
  return r as unknown as CommandRow;
}

/** The SMB2 command table (cf. Samba's smbd_smb2_table[]). */
export const COMMANDS: ReadonlyMap<number, CommandRow> = new Map(
  [
    row({
      id: CMD.NEGOTIATE,
      name: 'NEGOTIATE',
      decode: decodeNegotiate,
      handle: handleNegotiate,
      encode: encodeNegotiate,
      needsSession: false,
      needsTree: false,
      mutates: false,
    }),
    row({
      id: CMD.SESSION_SETUP,
      name: 'SESSION_SETUP',
      decode: decodeSessionSetup,
      handle: handleSessionSetup,
      encode: encodeSessionSetup,
      needsSession: false,
      needsTree: false,
      mutates: false,
    }),
    row({
      id: CMD.LOGOFF,
      name: 'LOGOFF',
      decode: decodeLogoff,
      handle: handleLogoff,
      encode: encodeLogoff,
      needsSession: true,
      needsTree: false,
      mutates: false,
    }),
    row({
      id: CMD.TREE_CONNECT,
      name: 'TREE_CONNECT',
      decode: decodeTreeConnect,
      handle: handleTreeConnect,
      encode: encodeTreeConnect,
      needsSession: true,
      needsTree: false,
      mutates: false,
    }),
    row({
      id: CMD.TREE_DISCONNECT,
      name: 'TREE_DISCONNECT',
      decode: decodeTreeDisconnect,
      handle: handleTreeDisconnect,
      encode: encodeTreeDisconnect,
      needsSession: true,
      needsTree: true,
      mutates: false,
    }),
    row({
      id: CMD.CREATE,
      name: 'CREATE',
      decode: decodeCreate,
      handle: handleCreate,
      encode: encodeCreate,
      needsSession: true,
      needsTree: true,
      mutates: false,
    }),
    row({
      id: CMD.CLOSE,
      name: 'CLOSE',
      decode: decodeClose,
      handle: handleClose,
      encode: encodeClose,
      needsSession: true,
      needsTree: true,
      mutates: false,
    }),
    row({
      id: CMD.FLUSH,
      name: 'FLUSH',
      decode: decodeFlush,
      handle: handleFlush,
      encode: encodeFlush,
      needsSession: true,
      needsTree: true,
      mutates: false,
    }),
    row({
      id: CMD.READ,
      name: 'READ',
      decode: decodeRead,
      handle: handleRead,
      encode: encodeRead,
      release: releaseRead,
      needsSession: true,
      needsTree: true,
      mutates: false,
      payload: readPayload,
    }),
    row({
      id: CMD.WRITE,
      name: 'WRITE',
      decode: decodeWrite,
      handle: handleWrite,
      encode: encodeWrite,
      needsSession: true,
      needsTree: true,
      mutates: true,
      payload: writePayload,
    }),
    row({
      id: CMD.LOCK,
      name: 'LOCK',
      decode: decodeLock,
      handle: handleLock,
      encode: encodeLock,
      needsSession: true,
      needsTree: true,
      mutates: false,
    }),
    row({
      id: CMD.IOCTL,
      name: 'IOCTL',
      decode: decodeIoctl,
      handle: handleIoctl,
      encode: encodeIoctl,
      needsSession: true,
      needsTree: true,
      mutates: false,
      payload: ioctlPayload,
    }),
    row({
      id: CMD.CANCEL,
      name: 'CANCEL',
      decode: decodeCancel,
      handle: handleCancel,
      encode: encodeCancel,
      needsSession: false,
      needsTree: false,
      mutates: false,
    }),
    row({
      id: CMD.ECHO,
      name: 'ECHO',
      decode: decodeEcho,
      handle: handleEcho,
      encode: encodeEcho,
      needsSession: false,
      needsTree: false,
      mutates: false,
    }),
    row({
      id: CMD.QUERY_DIRECTORY,
      name: 'QUERY_DIRECTORY',
      decode: decodeQueryDirectory,
      handle: handleQueryDirectory,
      encode: encodeQueryDirectory,
      needsSession: true,
      needsTree: true,
      mutates: false,
      payload: queryDirectoryPayload,
    }),
    row({
      id: CMD.CHANGE_NOTIFY,
      name: 'CHANGE_NOTIFY',
      decode: decodeChangeNotify,
      handle: handleChangeNotify,
      encode: encodeChangeNotify,
      needsSession: true,
      needsTree: true,
      mutates: false,
      payload: changeNotifyPayload,
    }),
    row({
      id: CMD.QUERY_INFO,
      name: 'QUERY_INFO',
      decode: decodeQueryInfo,
      handle: handleQueryInfo,
      encode: encodeQueryInfo,
      needsSession: true,
      needsTree: true,
      mutates: false,
      payload: queryInfoPayload,
    }),
    row({
      id: CMD.SET_INFO,
      name: 'SET_INFO',
      decode: decodeSetInfo,
      handle: handleSetInfo,
      encode: encodeSetInfo,
      needsSession: true,
      needsTree: true,
      mutates: true,
    }),
    row({
      id: CMD.OPLOCK_BREAK,
      name: 'OPLOCK_BREAK',
      decode: decodeOplockBreak,
      handle: handleOplockBreak,
      encode: encodeOplockBreak,
      needsSession: true,
      needsTree: true,
      mutates: false,
    }),
  ].map((r) => [r.id, r]),
);
