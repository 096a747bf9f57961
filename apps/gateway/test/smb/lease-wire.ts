import { equal, ok } from 'node:assert/strict';
import { CMD } from '../../src/protocols/smb/constants.ts';
import {
  createBody,
  createContexts,
  fileIdOf,
  type Reply,
  type RequestSpec,
  responseContexts,
  type TestClient,
} from './client.ts';

/**
 * Leases on the wire for the raw test client (MS-SMB2 §2.2.13.2.10, §2.2.23.2, §2.2.24.2):
 * the RqLs v2 context a CREATE asks with, the lease a CREATE response grants, break
 * notifications and their acknowledgments.
 */

/** RequestedOplockLevel SMB2_OPLOCK_LEVEL_LEASE. */
export const LEASE = 0xff;
export const BREAK_MID = 0xffff_ffff_ffff_ffffn;
export const SMB3 = [0x0300];
export const R = 1;
export const H = 2;
export const W = 4;

/** An RqLs v2 context (§2.2.13.2.10): key, state, epoch. */
export function leaseV2(key: Buffer, state: number, epoch = 0): { name: string; data: Buffer } {
  const data = Buffer.alloc(52);
  key.copy(data, 0);
  data.writeUInt32LE(state, 16);
  data.writeUInt16LE(epoch, 48);
  return { name: 'RqLs', data };
}

/** A lease break acknowledgment (§2.2.24.2). */
export function leaseAck(key: Buffer, state: number): Buffer {
  const b = Buffer.alloc(36);
  b.writeUInt16LE(36, 0);
  key.copy(b, 8);
  b.writeUInt32LE(state, 24);
  return b;
}

export interface LeaseBreak {
  epoch: number;
  ackRequired: boolean;
  key: Buffer;
  from: number;
  to: number;
}

export function parseBreak(r: Reply): LeaseBreak {
  equal(r.command, CMD.OPLOCK_BREAK);
  equal(r.body.readUInt16LE(0), 44, 'a lease break notification');
  return {
    epoch: r.body.readUInt16LE(2),
    ackRequired: (r.body.readUInt32LE(4) & 1) !== 0,
    key: Buffer.from(r.body.subarray(8, 24)),
    from: r.body.readUInt32LE(24),
    to: r.body.readUInt32LE(28),
  };
}

/** The client's `n`th break notification (counting from 0), lease or oplock, once it has arrived. */
export async function nthBreakNotice(c: TestClient, n: number): Promise<Reply> {
  const deadline = Date.now() + 30_000;
  while (c.repliesFor(BREAK_MID).length <= n) {
    if (Date.now() > deadline) throw new Error(`no break notification #${n + 1}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return c.repliesFor(BREAK_MID)[n]!;
}

/** The client's `n`th lease break notification (counting from 0), once it has arrived. */
export async function nthBreak(c: TestClient, n: number): Promise<LeaseBreak> {
  return parseBreak(await nthBreakNotice(c, n));
}

/** An oplock break acknowledgment (§2.2.24.1). */
export function oplockAck(fileId: Buffer, level: number): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt16LE(24, 0);
  b[2] = level;
  fileId.copy(b, 8);
  return b;
}

export function leaseOf(r: Reply): { state: number; epoch: number; key: Buffer } {
  equal(r.status, 0, `CREATE: 0x${r.status.toString(16)}`);
  equal(r.body[2], LEASE, 'OplockLevel LEASE');
  const ctx = responseContexts(r).get('RqLs');
  ok(ctx && ctx.length === 52, 'a v2 lease context in the response');
  return { state: ctx.readUInt32LE(16), epoch: ctx.readUInt16LE(48), key: Buffer.from(ctx.subarray(0, 16)) };
}

/**
 * Sends `create` through `opener` and waits for the `nth` break notification `holder` gets
 * because of it; the open must still be waiting then (no reply but STATUS_PENDING). Returns the
 * break and the open's final reply, to come once the holder has answered.
 */
export async function openBehindBreak(
  opener: TestClient,
  create: RequestSpec,
  holder: TestClient,
  nth = 0,
): Promise<{ brk: LeaseBreak; opened: Promise<Reply> }> {
  const pending = opener.build(create);
  const opened = opener.wait(pending.messageId, false, 60_000);
  opener.sendFrame(pending.msg);
  const brk = await nthBreak(holder, nth);
  equal(
    opener.repliesFor(pending.messageId).filter((r) => r.status !== 0x103).length,
    0,
    'the open waits for the acknowledgment',
  );
  return { brk, opened };
}

/** Opens `name` through `c` asking for a v2 lease of `state` under `key`: the open and its lease. */
export async function openLeased(
  c: TestClient,
  name: string,
  key: Buffer,
  state: number,
  disposition?: number,
): Promise<{ fid: Buffer; lease: { state: number; epoch: number; key: Buffer } }> {
  const r = await c.request({
    command: CMD.CREATE,
    body: createBody(name, { disposition, oplock: LEASE, contexts: createContexts([leaseV2(key, state)]) }),
  });
  return { lease: leaseOf(r), fid: fileIdOf(r) };
}
