import type { Open } from './open-files.ts';
import { Writer } from './wire/writer.ts';

/** Lease states (MS-SMB2 §2.2.13.2.8 LeaseState): what a client may cache. */
export const CACHE = { NONE: 0, READ: 0x1, HANDLE: 0x2, WRITE: 0x4 } as const;
const ALL = CACHE.READ | CACHE.HANDLE | CACHE.WRITE;

/** LeaseFlags (§2.2.13.2.10, §2.2.14.2.10). */
export const LEASE_FLAG = { BREAK_IN_PROGRESS: 0x2, PARENT_LEASE_KEY_SET: 0x4 } as const;

/** A lease asked for in a CREATE (RqLs context: 32 bytes v1, 52 bytes v2). */
export interface LeaseRequest {
  version: 1 | 2;
  key: Buffer;
  state: number;
  /** v2: the parent directory's lease key, when the client set one. */
  parentKey: Buffer | undefined;
  /** v2: the epoch the client last saw. */
  epoch: number;
}

/**
 * §2.2.13.2.8 / §2.2.13.2.10. A v2 lease needs SMB 3.x; a v1 context on 3.x is a v1 lease. A
 * context of another length asks for nothing (§3.3.5.9.8: the server ignores it).
 */
export function decodeLeaseRequest(data: Buffer, smb3: boolean): LeaseRequest | undefined {
  if (data.length >= 52 && smb3) {
    const flags = data.readUInt32LE(20);
    return {
      version: 2,
      key: Buffer.from(data.subarray(0, 16)),
      state: data.readUInt32LE(16) & ALL,
      parentKey: flags & LEASE_FLAG.PARENT_LEASE_KEY_SET ? Buffer.from(data.subarray(32, 48)) : undefined,
      epoch: data.readUInt16LE(48),
    };
  }
  if (data.length < 32) return undefined;
  return {
    version: 1,
    key: Buffer.from(data.subarray(0, 16)),
    state: data.readUInt32LE(16) & ALL,
    parentKey: undefined,
    epoch: 0,
  };
}

/** The RqLs response context (§2.2.14.2.10 v1, §2.2.14.2.11 v2): the lease as it now is. */
export function encodeLeaseReply(lease: Lease): Buffer {
  const flags = lease.breaking ? LEASE_FLAG.BREAK_IN_PROGRESS : 0;
  if (lease.version === 1) {
    return new Writer(32).bytes(lease.key).u32(lease.state).u32(flags).u64(0n).finish();
  }
  const parent = lease.parentKey ? LEASE_FLAG.PARENT_LEASE_KEY_SET : 0;
  return new Writer(52)
    .bytes(lease.key)
    .u32(lease.state)
    .u32(flags | parent)
    .u64(0n)
    .bytes(lease.parentKey ?? Buffer.alloc(16))
    .u16(lease.epoch & 0xffff)
    .u16(0)
    .finish();
}

/**
 * A lease (MS-SMB2 §3.3.1.13): one client's caching of one file, shared by every open that
 * names its key. While a break waits for its acknowledgment, `breakToRequested` is what the
 * notification offered (the most the client may keep) and `breakToRequired` what it must come
 * down to (less, when a later break asked for less meanwhile: it is broken again in steps).
 */
export class Lease {
  state: number = CACHE.NONE;
  breaking = false;
  breakToRequested: number = CACHE.NONE;
  breakToRequired: number = CACHE.NONE;
  epoch: number;
  /**
   * Cancels the break's timeout, which drops the state to none after `smb.break_timeout` of the
   * event loop running (a pause of the process does not count against the client).
   */
  cancelTimeout: (() => void) | undefined;
  readonly opens = new Set<Open>();

  constructor(
    readonly id: string,
    readonly clientGuid: Buffer,
    readonly key: Buffer,
    readonly ino: bigint,
    readonly version: 1 | 2,
    readonly parentKey: Buffer | undefined,
    epoch: number,
  ) {
    this.epoch = epoch;
  }
}

/** Every lease of the server, by client and key (§3.3.1.12 LeaseTableList). */
export class LeaseTable {
  private readonly byId = new Map<string, Lease>();

  static idOf(clientGuid: Buffer, key: Buffer): string {
    return `${clientGuid.toString('hex')}:${key.toString('hex')}`;
  }

  get(clientGuid: Buffer, key: Buffer): Lease | undefined {
    return this.byId.get(LeaseTable.idOf(clientGuid, key));
  }

  /**
   * The client's lease with this key, on this file; a new one starts with no state. A key the
   * client holds on another file (refused by CREATE before it opens anything, §3.3.5.9.8) gives
   * none.
   */
  forOpen(
    clientGuid: Buffer,
    req: LeaseRequest,
    ino: bigint,
  ): { lease: Lease; existing: boolean } | undefined {
    const id = LeaseTable.idOf(clientGuid, req.key);
    const found = this.byId.get(id);
    if (found) return found.ino === ino ? { lease: found, existing: true } : undefined;
    const lease = new Lease(id, Buffer.from(clientGuid), req.key, ino, req.version, req.parentKey, req.epoch);
    this.byId.set(id, lease);
    return { lease, existing: false };
  }

  /** The open no longer uses its lease; the lease goes with its last open. */
  release(open: Open): void {
    const lease = open.lease;
    if (!lease) return;
    lease.opens.delete(open);
    if (lease.opens.size > 0) return;
    lease.cancelTimeout?.();
    this.byId.delete(lease.id);
  }

  get size(): number {
    return this.byId.size;
  }
}
