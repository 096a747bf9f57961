import type Database from 'better-sqlite3';
import { STREAM_XATTR_PREFIX } from '../annotations.ts';
import { USAGE_GID, USAGE_UID } from '../sqlite/schema.ts';
import type { CheckContext } from './context.ts';
import type { Finding } from './finding.ts';
import { FILE } from './inode-type.ts';

export interface UsageRow {
  kind: bigint;
  id: bigint;
  bytes: bigint;
  inodes: bigint;
}

/** Bytes of named streams (STREAM_XATTR_PREFIX) per inode. */
const STREAMS = `SELECT ino AS sino, SUM(length(value)) AS sbytes FROM xattrs
    WHERE substr(name, 1, ${STREAM_XATTR_PREFIX.length}) = '${STREAM_XATTR_PREFIX}' GROUP BY ino`;

/**
 * Usage as the ledger defines it, recomputed from the inodes: per uid and per gid, bytes are
 * the sum of regular-file sizes and of named streams' sizes, inodes the count of inodes of any
 * type (detached included).
 */
export function actualUsage(db: Database.Database): UsageRow[] {
  const per = (kind: number, column: string) => `
    SELECT ${kind} AS kind, ${column} AS id,
           SUM(CASE WHEN type = ${FILE} THEN size ELSE 0 END + COALESCE(sbytes, 0)) AS bytes,
           COUNT(*) AS inodes FROM inodes LEFT JOIN (${STREAMS}) ON sino = ino GROUP BY ${column}`;
  return db
    .prepare(`${per(USAGE_UID, 'uid')} UNION ALL ${per(USAGE_GID, 'gid')} ORDER BY kind, id`)
    .all() as UsageRow[];
}

/** The quota ledger against the recomputed usage; one problem per uid or gid that differs. */
export function ledgerDrift(ctx: CheckContext): Finding[] {
  if (ctx.scope) return [];
  const key = (r: { kind: bigint; id: bigint }) => `${r.kind}:${r.id}`;
  const ledger = new Map(
    (ctx.db.prepare('SELECT kind, id, bytes, inodes FROM usage').all() as UsageRow[]).map((r) => [key(r), r]),
  );
  const actual = new Map(actualUsage(ctx.db).map((r) => [key(r), r]));
  const out: Finding[] = [];
  const keys = [...new Set([...actual.keys(), ...ledger.keys()])].sort(byKindThenId);
  for (const k of keys) {
    const a = actual.get(k);
    const l = ledger.get(k);
    const sample = (a ?? l)!;
    if (sample.kind !== BigInt(USAGE_UID) && sample.kind !== BigInt(USAGE_GID)) continue;
    const has = { bytes: a?.bytes ?? 0n, inodes: a?.inodes ?? 0n };
    const says = { bytes: l?.bytes ?? 0n, inodes: l?.inodes ?? 0n };
    if (has.bytes === says.bytes && has.inodes === says.inodes) continue;
    const who = `${sample.kind === BigInt(USAGE_UID) ? 'uid' : 'gid'} ${sample.id}`;
    out.push({
      problem: {
        kind: 'ledger-drift',
        detail: `${who}: ledger says ${says.bytes} bytes / ${says.inodes} inodes, files hold ${has.bytes} bytes / ${has.inodes} inodes`,
        repair: `set the ledger for ${who} to ${has.bytes} bytes / ${has.inodes} inodes`,
      },
      fix: { op: 'rewrite-ledger' },
    });
  }
  return out;
}

function byKindThenId(a: string, b: string): number {
  const [ka = 0n, ia = 0n] = a.split(':').map(BigInt);
  const [kb = 0n, ib = 0n] = b.split(':').map(BigInt);
  return ka !== kb ? (ka < kb ? -1 : 1) : ia < ib ? -1 : ia > ib ? 1 : 0;
}
