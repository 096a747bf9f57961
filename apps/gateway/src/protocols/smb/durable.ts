import { loopTimeout } from '../../util/loop-stalls.ts';
import { closeOpen } from './close-open.ts';
import { FLAGS, isSmb3, OPLOCK_LEVEL_BATCH } from './constants.ts';
import type { RequestContext, ServerEnv } from './context.ts';
import { type CreateContext, CTX } from './create-contexts.ts';
import { NT_STATUS } from './deps.ts';
import { SmbError } from './errors.ts';
import { CACHE } from './leases.ts';
import type { FileId, Open } from './open-files.ts';
import { upcase } from './upcase.ts';
import { Writer } from './wire/writer.ts';

/** SMB2_DHANDLE_FLAG_PERSISTENT (§2.2.13.2.11): asked for, never granted (no CA shares here). */
const DHANDLE_FLAG_PERSISTENT = 0x2;
/** The longest a v2 client may ask a handle to be kept (Windows' and Samba's cap: 5 minutes). */
export const MAX_V2_TIMEOUT_MS = 300_000;
const NO_GUID = Buffer.alloc(16);

export type DurableRequest =
  | { version: 1 }
  | { version: 2; timeoutMs: number; persistent: boolean; createGuid: Buffer };

export type DurableReconnect =
  | { version: 1; fileId: FileId }
  | { version: 2; fileId: FileId; createGuid: Buffer; persistent: boolean };

const invalid = (why: string) => new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, why);
const notFound = (why: string) => new SmbError(NT_STATUS.STATUS_OBJECT_NAME_NOT_FOUND, why);

function fileIdAt(data: Buffer, at: number): FileId {
  return { persistent: data.readBigUInt64LE(at), volatile: data.readBigUInt64LE(at + 8) };
}

/**
 * The durable-handle contexts of a CREATE, checked against each other: a reconnect with a
 * request of the other version, or both versions' requests, is STATUS_INVALID_PARAMETER
 * (§3.3.5.9.6, .7, .10, .12); the v2 contexts mean nothing below SMB 3.0 and are ignored there.
 */
export function durableContexts(
  contexts: readonly CreateContext[],
  dialect: number,
): { request?: DurableRequest; reconnect?: DurableReconnect } {
  const find = (name: string) => contexts.find((c) => c.name === name);
  const v2 = isSmb3(dialect);
  const dhnq = find(CTX.DURABLE_REQUEST);
  const dhnc = find(CTX.DURABLE_RECONNECT);
  const dh2q = v2 ? find(CTX.DURABLE_REQUEST_V2) : undefined;
  const dh2c = v2 ? find(CTX.DURABLE_RECONNECT_V2) : undefined;
  if (dhnc) {
    if (dh2q || dh2c) throw invalid('DHnC with a v2 durable context');
    if (dhnc.data.length !== 16) throw invalid('DHnC is not 16 bytes');
    return { reconnect: { version: 1, fileId: fileIdAt(dhnc.data, 0) } };
  }
  if (dh2c) {
    if (dhnq || dh2q) throw invalid('DH2C with a durable request');
    if (dh2c.data.length !== 36) throw invalid('DH2C is not 36 bytes');
    return {
      reconnect: {
        version: 2,
        fileId: fileIdAt(dh2c.data, 0),
        createGuid: Buffer.from(dh2c.data.subarray(16, 32)),
        persistent: (dh2c.data.readUInt32LE(32) & DHANDLE_FLAG_PERSISTENT) !== 0,
      },
    };
  }
  if (dh2q) {
    if (dhnq) throw invalid('DH2Q with DHnQ');
    if (dh2q.data.length !== 32) throw invalid('DH2Q is not 32 bytes');
    return {
      request: {
        version: 2,
        timeoutMs: dh2q.data.readUInt32LE(0),
        persistent: (dh2q.data.readUInt32LE(4) & DHANDLE_FLAG_PERSISTENT) !== 0,
        createGuid: Buffer.from(dh2q.data.subarray(16, 32)),
      },
    };
  }
  if (dhnq) {
    if (dhnq.data.length !== 16) throw invalid('DHnQ is not 16 bytes');
    return { request: { version: 1 } };
  }
  return {};
}

/**
 * The durable opens of the server by FileId.Persistent (the durable part of MS-SMB2's
 * GlobalOpenTable), connected or not: a reconnect looks them up here, and a v2 request's
 * CreateGuid is checked against them.
 */
export class DurableOpens {
  private readonly byPersistent = new Map<bigint, Open>();

  add(open: Open): void {
    this.byPersistent.set(open.fileId.persistent, open);
  }

  remove(open: Open): void {
    if (this.byPersistent.get(open.fileId.persistent) === open)
      this.byPersistent.delete(open.fileId.persistent);
  }

  get(persistent: bigint): Open | undefined {
    return this.byPersistent.get(persistent);
  }

  /** The open a client (ClientGuid) made with this CreateGuid, if it is still here. */
  byCreateGuid(clientGuid: Buffer, createGuid: Buffer): Open | undefined {
    for (const o of this.byPersistent.values()) {
      const d = o.durable;
      if (d?.createGuid?.equals(createGuid) && d.clientGuid.equals(clientGuid)) return o;
    }
    return undefined;
  }

  /** Opens waiting for their client to come back. */
  disconnected(): Open[] {
    return [...this.byPersistent.values()].filter((o) => o.disconnected);
  }
}

/**
 * §3.3.5.9.10: a v2 request whose CreateGuid names an open this client still has is
 * STATUS_DUPLICATE_OBJECTID, unless it is a replay of that very CREATE.
 */
export function checkCreateGuid(ctx: RequestContext, request: DurableRequest | undefined): void {
  if (request?.version !== 2 || ctx.hdr.flags & FLAGS.REPLAY_OPERATION) return;
  if (ctx.env.durable.byCreateGuid(ctx.conn.clientGuid, request.createGuid))
    throw new SmbError(NT_STATUS.STATUS_DUPLICATE_OBJECTID, 'CreateGuid already in use');
}

/**
 * Makes a new open durable when it was asked for and a batch oplock or a handle lease was
 * granted (a durable open can only be reconnected with one: §3.3.5.9.7, §3.3.5.9.12); returns
 * the response context (DHnQ: 8 reserved bytes; DH2Q: the timeout and no flags, persistence
 * not granted).
 */
export function grantDurable(
  ctx: RequestContext,
  open: Open,
  request: DurableRequest | undefined,
): CreateContext | undefined {
  if (!request || open.kind !== 'file' || !reconnectable(open)) return undefined;
  // Guests share one name, not an identity: a durable open of one could be taken by another.
  if (ctx.session!.guest) return undefined;
  // A v2 client's timeout is kept as asked, up to 5 minutes; 0, and v1, get the configured one.
  const configured = ctx.env.config.smb.durableHandleTimeoutMs;
  const asked = request.version === 2 ? request.timeoutMs : 0;
  const timeoutMs = asked > 0 ? Math.min(asked, MAX_V2_TIMEOUT_MS) : configured;
  open.durable = {
    version: request.version,
    createGuid: request.version === 2 ? request.createGuid : undefined,
    timeoutMs,
    owner: ctx.session!.user!.name,
    clientGuid: Buffer.from(ctx.conn.clientGuid),
    cancelExpiry: undefined,
  };
  ctx.env.durable.add(open);
  if (request.version === 1) return { name: CTX.DURABLE_REQUEST, data: Buffer.alloc(8) };
  const data = new Writer(8).u32(timeoutMs).u32(0).finish();
  return { name: CTX.DURABLE_REQUEST_V2, data };
}

/**
 * What a durable open must hold to be reconnected (§3.3.5.9.6, §3.3.5.9.10): a batch oplock or
 * a lease with handle caching, not being broken (nobody would be left to acknowledge it).
 */
function reconnectable(open: Open): boolean {
  if (open.lease) return (open.lease.state & CACHE.HANDLE) !== 0 && !open.lease.breaking;
  return open.oplock === OPLOCK_LEVEL_BATCH && !open.oplockBreak;
}

/**
 * Whether an open outlives its connection: durable, and still holding what lets it be
 * reconnected (§3.3.7.1).
 */
export function keptOnDisconnect(open: Open): boolean {
  return open.durable !== undefined && reconnectable(open) && !open.closed;
}

/**
 * The open's connection is gone (a dropped TCP connection, or its session replaced by a
 * reconnecting client's) and it is `keptOnDisconnect`: it stays, with its locks and share
 * mode, for its timeout; then it is closed as a CLOSE would (delete-on-close honoured).
 */
export function disconnectDurable(env: ServerEnv, open: Open): void {
  const d = open.durable!;
  open.session.opens.delete(open.fileId.volatile);
  // Monotonic: a step of the wall clock neither ends a durable open early nor keeps it longer;
  // and a pause of the process does not count against the client reconnecting.
  d.cancelExpiry = loopTimeout(
    d.timeoutMs,
    () => {
      d.cancelExpiry = undefined;
      closeOpen(env, open).catch((e) =>
        env.log.error({ err: e }, 'SMB close of an expired durable open failed'),
      );
    },
    { unref: true },
  );
}

/**
 * DHnC / DH2C (§3.3.5.9.7, §3.3.5.9.12): hands a disconnected durable open back to its user on
 * this session and tree, with a new volatile FileId; the persistent one, the position, locks
 * and share mode are the open's own. Mismatches answer as the spec says: no such open, another
 * CreateGuid, a lease key or client other than the open's lease's (or none where it has one),
 * an open still connected → OBJECT_NAME_NOT_FOUND; a leased open under another name →
 * INVALID_PARAMETER; another user → ACCESS_DENIED.
 */
export function reconnectDurable(
  ctx: RequestContext,
  r: DurableReconnect,
  askedLease: Buffer | undefined,
  name: string,
): Open {
  const { env } = ctx;
  const open = env.durable.get(r.fileId.persistent);
  const d = open?.durable;
  if (!open || !d) throw notFound('no durable open with that FileId');
  // DHnC names no CreateGuid and takes a v2 open back too (as Windows and Samba do); DH2C must
  // name the open's own, which for a v1 open is all zeros (as Samba compares them).
  if (r.version === 2 && !(d.createGuid ?? NO_GUID).equals(r.createGuid))
    throw notFound('CreateGuid differs');
  const lease = open.lease;
  if (lease ? !askedLease?.equals(lease.key) || !lease.clientGuid.equals(ctx.conn.clientGuid) : askedLease)
    throw notFound(lease ? 'another lease key or client' : 'the open has no lease');
  // A leased open is named again; the name of an oplocked one is ignored (as Windows does).
  if (lease && samePath(name) !== samePath(open.path))
    throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'the name differs from the leased open');
  if (!open.disconnected) throw notFound('the open is still connected');
  if (!reconnectable(open)) throw notFound('the open lost its batch oplock or handle lease');
  if (open.tree.share.name.toUpperCase() !== ctx.tree!.share.name.toUpperCase())
    throw notFound('the open is on another share');
  if (ctx.session!.guest || d.owner !== ctx.session!.user?.name)
    throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'the durable open belongs to another user');
  d.cancelExpiry?.();
  d.cancelExpiry = undefined;
  d.clientGuid = Buffer.from(ctx.conn.clientGuid);
  const volatile = env.nextFileId();
  open.fileId = { persistent: open.fileId.persistent, volatile };
  open.session = ctx.session!;
  open.tree = ctx.tree!;
  ctx.session!.opens.set(volatile, open);
  ctx.setCompoundOpen(open);
  return open;
}

function samePath(path: string): string {
  return upcase(path.replace(/^\\+/, ''));
}
