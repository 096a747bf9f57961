import { ControlError } from '../../control/errors.ts';
import type { QuotaRecord } from '../../control/index.ts';
import type { CreateResponse } from './commands/create.ts';
import { ACCESS, ATTR } from './constants.ts';
import type { RequestContext } from './context.ts';
import { NT_STATUS } from './deps.ts';
import { SmbError } from './errors.ts';
import { nsToFiletime } from './filetime.ts';
import {
  decodeQuotaEntries,
  decodeQuotaQuery,
  encodeQuotaEntries,
  NO_LIMIT,
  type QuotaEntry,
} from './info/quota-info.ts';
import type { Open } from './open-files.ts';
import { posixIdOf, type Sid, sidString, uidSid } from './sids.ts';
import { specialOpen } from './special-open.ts';

/**
 * User quotas over SMB, as Windows' Quota tab and Samba's `smbcquotas` see them: the gateway's
 * per-uid quotas (the soft limit is the warning threshold, the hard one the limit) with every
 * user's usage, one entry per uid (S-1-22-1-uid). Group quotas have no SMB form.
 */

/** The name clients open for the volume's quota list (Samba's FAKE_FILE_NAME_QUOTA_WIN32). */
const QUOTA_FILE = /^\\?\$extend\\\$quota:\$q:\$index_allocation$/i;

export const isQuotaFile = (name: string): boolean => QUOTA_FILE.test(name);

/** What the handle may do: read the list, and write it (SET_INFO, for console admins). */
const QUOTA_ACCESS =
  ACCESS.FILE_READ_DATA |
  ACCESS.FILE_WRITE_DATA |
  ACCESS.FILE_READ_EA |
  ACCESS.FILE_READ_ATTRIBUTES |
  ACCESS.READ_CONTROL |
  ACCESS.SYNCHRONIZE;

/**
 * Opens the quota list: a handle on the share's root that takes no part in share modes and can
 * neither be written nor deleted, whoever opens it (what each may see is decided per query).
 */
export function createQuotaHandle(ctx: RequestContext, access: number, shareAccess: number): CreateResponse {
  return specialOpen(ctx, {
    kind: 'dir',
    ino: ctx.tree!.rootIno,
    name: '$Extend\\$Quota:$Q:$INDEX_ALLOCATION',
    access: access & ACCESS.MAXIMUM_ALLOWED ? QUOTA_ACCESS : access & QUOTA_ACCESS,
    shareAccess,
    // As Samba's fake file (smbtorture's smb2.create.quota-fake-file): no times, no size.
    fileAttributes: ATTR.HIDDEN | ATTR.SYSTEM | ATTR.DIRECTORY | ATTR.ARCHIVE,
    allocationSize: 0n,
  });
}

/** Every user's entry, or only the caller's: a console account (any role) or root sees all. */
async function visibleUids(ctx: RequestContext): Promise<'all' | number> {
  const session = ctx.session!;
  const cred = ctx.cred();
  if (cred.uid === 0) return 'all';
  if (session.guest) return cred.uid;
  const account = await ctx.env.control.users.get(session.user!.name);
  return account?.role ? 'all' : cred.uid;
}

function entryOf(uid: number, usedBytes: bigint, q: QuotaRecord | undefined): QuotaEntry {
  return {
    sid: uidSid(uid),
    changeTime: q ? nsToFiletime(BigInt(q.updatedAt.getTime()) * 1_000_000n) : 0n,
    used: usedBytes,
    threshold: q?.softBytes ?? NO_LIMIT,
    limit: q?.hardBytes ?? NO_LIMIT,
  };
}

/** The volume's list: every uid with a quota or owning anything, by uid. */
async function volumeEntries(ctx: RequestContext, visible: 'all' | number): Promise<QuotaEntry[]> {
  const quotas = new Map((await ctx.env.control.quotas.list('uid')).map((q) => [q.subjectId, q]));
  const used = new Map(
    (await ctx.env.ns.allQuotaUsage())
      .filter((u) => u.kind === 'uid' && u.bytes + u.inodes > 0n)
      .map((u) => [u.id, u.bytes]),
  );
  return [...new Set([...quotas.keys(), ...used.keys()])]
    .filter((uid) => visible === 'all' || uid === visible)
    .sort((a, b) => a - b)
    .map((uid) => entryOf(uid, used.get(uid) ?? 0n, quotas.get(uid)));
}

async function entryForSid(ctx: RequestContext, sid: Sid, visible: 'all' | number): Promise<QuotaEntry> {
  const id = posixIdOf(sid);
  // A SID that names no uid has no quota: an entry with nothing used and no limits.
  if (id?.kind !== 'uid') return { sid, changeTime: 0n, used: 0n, threshold: NO_LIMIT, limit: NO_LIMIT };
  if (visible !== 'all' && id.id !== visible)
    throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, `quota of ${sidString(sid)}: not the caller's`);
  const usage = await ctx.env.ns.quotaUsage('uid', id.id);
  return entryOf(id.id, usage.bytes, (await ctx.env.control.quotas.get('uid', id.id)) ?? undefined);
}

/**
 * QUERY_INFO SMB2_0_INFO_QUOTA (MS-SMB2 §3.3.5.20.4, MS-FSA §2.1.5.21): the SIDs asked for, or
 * the volume's list from the start (RestartScan, or a StartSid) or from where this open's last
 * enumeration stopped; STATUS_NO_MORE_ENTRIES past its end.
 */
export async function queryQuota(
  ctx: RequestContext,
  open: Open,
  input: Buffer,
  outputBufferLength: number,
): Promise<Buffer> {
  const query = decodeQuotaQuery(input);
  const visible = await visibleUids(ctx);
  let entries: QuotaEntry[];
  if (query.sids) {
    entries = [];
    for (const sid of query.sids) entries.push(await entryForSid(ctx, sid, visible));
  } else {
    if (query.restartScan || query.startSid || !open.quotaScan) {
      const list = await volumeEntries(ctx, visible);
      const start = query.startSid
        ? list.findIndex((e) => sidString(e.sid) === sidString(query.startSid!))
        : 0;
      if (start < 0) throw new SmbError(NT_STATUS.STATUS_INVALID_SID, 'StartSid has no quota entry');
      open.quotaScan = { entries: list, next: start };
    }
    entries = open.quotaScan.entries.slice(open.quotaScan.next);
    if (entries.length === 0) throw new SmbError(NT_STATUS.STATUS_NO_MORE_ENTRIES, 'quota list enumerated');
  }
  const { buffer, count } = encodeQuotaEntries(entries, outputBufferLength, query.returnSingle);
  if (count === 0) throw new SmbError(NT_STATUS.STATUS_BUFFER_TOO_SMALL, 'no quota entry fits the buffer');
  if (!query.sids) open.quotaScan!.next += count;
  return buffer;
}

/**
 * SET_INFO SMB2_0_INFO_QUOTA: sets users' soft (threshold) and hard (limit) byte limits, as
 * `./cfs quota set-user` does; NO_LIMIT clears one. A console admin only, each change audited
 * as `smb:<user>`; anyone else is refused, and the refusal audited too.
 */
export async function setQuota(ctx: RequestContext, open: Open, buffer: Buffer): Promise<void> {
  const session = ctx.session!;
  const actor = `smb:${session.user!.name}`;
  const audit = (target: string, outcome: 'ok' | 'denied' | 'error', detail?: unknown) =>
    ctx.env.control.audit.record({
      actor,
      action: 'quota.set',
      target,
      outcome,
      detail,
      remoteAddr: ctx.conn.remoteAddress,
    });
  const entries = decodeQuotaEntries(buffer);
  const account = session.guest ? null : await ctx.env.control.users.get(session.user!.name);
  if (account?.role !== 'admin' || !open.has(ACCESS.FILE_WRITE_DATA)) {
    await audit(entries.map((e) => sidString(e.sid)).join(','), 'denied', { reason: 'not a console admin' });
    throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, `${actor} may not set quotas: not a console admin`);
  }
  const changes = entries.map((e) => {
    const id = posixIdOf(e.sid);
    if (id?.kind !== 'uid') throw new SmbError(NT_STATUS.STATUS_INVALID_SID, `${sidString(e.sid)} is no uid`);
    const soft = e.threshold === NO_LIMIT ? null : e.threshold;
    const hard = e.limit === NO_LIMIT ? null : e.limit;
    // Checked for every entry before any is written: a refused list changes nothing.
    if (soft !== null && hard !== null && soft > hard)
      throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, `uid ${id.id}: threshold above the limit`);
    return { uid: id.id, soft, hard };
  });
  for (const c of changes) {
    const target = `uid=${c.uid}`;
    const detail = { soft: c.soft?.toString() ?? null, hard: c.hard?.toString() ?? null };
    try {
      await ctx.env.control.quotas.set({
        kind: 'uid',
        subjectId: c.uid,
        softBytes: c.soft,
        hardBytes: c.hard,
        softUnit: null,
        hardUnit: null,
      });
    } catch (err) {
      await audit(target, 'error', { ...detail, error: (err as Error).message });
      if (err instanceof ControlError && err.code === 'INVALID')
        throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, err.message);
      throw err;
    }
    await audit(target, 'ok', detail);
  }
}
