/**
 * Byte-exact comparison of a live reply with a captured one, except for fields that
 * legitimately differ between two runs of the same session. Both replies are decoded
 * completely — RPC reply header (RFC 5531 §9), then the results (procedures.ts: nfs-v3/wire.ts's
 * decoders, written from RFC 1813 independently of the server's codec) — while
 * every XDR field read is logged with its byte range. Masked fields are chosen by procedure
 * and field name from that log (GOLDEN_MASKS), so a mask covers exactly those fields' bytes
 * wherever the structure puts them, and every other byte must be equal.
 */
import { XdrReader } from '../../src/protocols/xdr/reader.ts';
import { procedure } from './procedures.ts';
import type { Service } from './session.ts';

export interface LoggedField {
  field: string;
  start: number;
  end: number;
}

/** An XdrReader that logs the byte range of every primitive it reads. */
class FieldLog extends XdrReader {
  readonly fields: LoggedField[] = [];

  private log<T>(field: string, read: () => T): T {
    const start = this.offset;
    const v = read();
    this.fields.push({ field, start, end: this.offset });
    return v;
  }

  override uint32(field: string): number {
    return this.log(field, () => super.uint32(field));
  }
  override int32(field: string): number {
    return this.log(field, () => super.int32(field));
  }
  override uint64(field: string): bigint {
    return this.log(field, () => super.uint64(field));
  }
  override int64(field: string): bigint {
    return this.log(field, () => super.int64(field));
  }
  override fixedOpaque(n: number, field: string): Buffer {
    return this.log(field, () => super.fixedOpaque(n, field));
  }
}

const TIMES = ['atime', 'mtime', 'ctime'].flatMap((t) => [`${t}.s`, `${t}.ns`]);

/**
 * The fields a replay may not reproduce, each with the reason. Anything not listed here is
 * compared byte for byte — handles, fileids, fsids, sizes, cookies, the cookie verifier,
 * statuses, data.
 */
export const GOLDEN_MASKS: ReadonlyArray<{
  service: Service;
  procs: readonly number[] | 'all';
  fields: readonly string[];
  why: string;
}> = [
  {
    service: 'NFS',
    procs: 'all',
    fields: TIMES,
    why:
      'nfstime3 in fattr3 and in wcc_attr (pre-op attributes) is read from the server clock ' +
      'when each call ran (RFC 1813 §2.5, §2.6); a replay runs at another time.',
  },
  {
    service: 'NFS',
    procs: [7, 21],
    fields: ['verf'],
    why:
      'writeverf3 of WRITE and COMMIT is 8 random bytes drawn per server instance, so that ' +
      'a client notices a restart (RFC 1813 §3.3.7, §3.3.21). The replay checks instead that ' +
      'it is one value across the whole session.',
  },
];

/** The names of the fields masked in replies to `proc`. */
export function maskedFields(service: Service, proc: number): Set<string> {
  const out = new Set<string>();
  for (const m of GOLDEN_MASKS) {
    if (m.service === service && (m.procs === 'all' || m.procs.includes(proc))) {
      for (const f of m.fields) out.add(f);
    }
  }
  return out;
}

/** Decodes a whole reply record, logging its fields; throws when it does not decode. */
export function readReply(service: Service, proc: number, record: Buffer): LoggedField[] {
  const r = new FieldLog(record);
  r.uint32('xid');
  if (r.uint32('mtype') !== 1) throw new Error('not a REPLY');
  if (r.uint32('reply_stat') !== 0) {
    // MSG_DENIED: reject_stat, then the mismatch range or the auth_stat.
    if (r.uint32('reject_stat') === 0) r.uint64('mismatch');
    else r.uint32('auth_stat');
  } else {
    r.uint32('verf.flavor');
    r.opaque(400, 'verf.body');
    const stat = r.uint32('accept_stat');
    if (stat === 2) r.uint64('mismatch');
    else if (stat === 0) {
      procedure(service, proc).results(r);
    }
  }
  r.end('reply');
  return r.fields;
}

export interface ReplyComparison {
  /** Where the live reply differs outside the masks; undefined when it matches. */
  mismatch?: string;
  /** The live reply's masked fields, for checks across replies (the write verifier). */
  masked: Array<{ field: string; value: Buffer }>;
}

/** Compares `live` with `captured` outside the masked fields of the procedure. */
export function compareReply(
  service: Service,
  proc: number,
  captured: Buffer,
  live: Buffer,
): ReplyComparison {
  const masks = maskedFields(service, proc);
  const want = Buffer.from(captured);
  const got = Buffer.from(live);
  for (const f of readReply(service, proc, captured)) if (masks.has(f.field)) want.fill(0, f.start, f.end);
  let liveFields: LoggedField[];
  try {
    liveFields = readReply(service, proc, live);
  } catch (e) {
    return { mismatch: `the live reply does not decode: ${(e as Error).message}`, masked: [] };
  }
  const masked: ReplyComparison['masked'] = [];
  for (const f of liveFields) {
    if (!masks.has(f.field)) continue;
    masked.push({ field: f.field, value: live.subarray(f.start, f.end) });
    got.fill(0, f.start, f.end);
  }
  if (want.equals(got)) return { masked };
  let at = 0;
  while (at < want.length && at < got.length && want[at] === got[at]) at++;
  const field = liveFields.find((f) => f.start <= at && at < f.end)?.field ?? '(past the end)';
  const around = (b: Buffer) => b.subarray(Math.max(0, at - 8), at + 8).toString('hex');
  return {
    mismatch:
      `byte ${at} (field ${field}) differs; lengths ${captured.length}/${live.length}; ` +
      `captured …${around(want)}…, live …${around(got)}… (masked bytes zeroed)`,
    masked,
  };
}
