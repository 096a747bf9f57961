/**
 * The crash test's memory of what the gateway acknowledged, name by name, and the rules a
 * name must satisfy after a SIGKILL and restart.
 *
 * Within a round every name has one writer (a protocol and a writer number; shared names
 * change protocol between rounds), so at most one operation — or one batch: NFS UNSTABLE
 * writes before their COMMIT, SMB writes before FLUSH or CLOSE — is unacknowledged on a name
 * when the gateway dies. A name's state after the restart is judged against its acknowledged
 * state and that pending batch:
 *
 * - under a pending S3 PUT or multipart completion the name holds exactly the acknowledged
 *   content or exactly the new object; under a pending DELETE, that or nothing;
 * - under NFS and SMB operations an acknowledged file is there unless a remove or rename
 *   was pending; its size is the acknowledged one or one a pending truncate or write sets;
 *   and each byte is the acknowledged byte (unless the file shrank below it, which only a
 *   pending truncate does), a byte of a pending write at that offset, or zero past the
 *   acknowledged (or pending truncated) size — a write not yet acknowledged may be missing
 *   or partly there, but no byte comes from anywhere else;
 * - a rename is atomic: the source is gone and the target holds the source's content, or
 *   both are as acknowledged.
 * After judging, what was observed is what the next round builds on (`settle`).
 */

export type Protocol = 's3' | 'nfs' | 'smb';
export const PROTOCOLS: readonly Protocol[] = ['s3', 'nfs', 'smb'];

export type Pending =
  /** S3 PUT or CompleteMultipartUpload: the whole new object or nothing. */
  | { op: 'put'; data: Buffer }
  /** S3 DELETE, NFS REMOVE, SMB delete-on-close. */
  | { op: 'delete' }
  /** A new empty file (NFS CREATE, SMB CREATE of a missing name). */
  | { op: 'create' }
  | { op: 'truncate'; size: number }
  | { op: 'write'; offset: number; data: Buffer }
  | { op: 'rename-out'; to: string }
  | { op: 'rename-in'; from: string; data: Buffer };

export interface NameRecord {
  readonly key: string;
  /** The protocol that wrote it last. */
  protocol: Protocol;
  acked: Buffer | null;
  pending: Pending[];
}

const EMPTY = Buffer.alloc(0);

/**
 * A version's bytes: a header line naming it (so a stray byte run can be traced to the write
 * that made it), then a pattern seeded by the tag. Deterministic: the same tag and length
 * always give the same bytes.
 */
export function versionBytes(tag: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  const header = Buffer.from(`cfs-crash ${tag} ${length}\n`);
  header.copy(out, 0, 0, Math.min(header.length, length));
  let x = 0x811c9dc5;
  for (const ch of Buffer.from(tag)) x = Math.imul(x ^ ch, 0x01000193) >>> 0;
  for (let i = header.length; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** The state a pending operation leaves behind when it was applied in full. */
export function apply(state: Buffer | null, p: Pending): Buffer | null {
  switch (p.op) {
    case 'put':
      return p.data;
    case 'delete':
    case 'rename-out':
      return null;
    case 'create':
      return state ?? EMPTY;
    case 'rename-in':
      return p.data;
    case 'truncate': {
      const base = state ?? EMPTY;
      if (p.size <= base.length) return Buffer.from(base.subarray(0, p.size));
      return Buffer.concat([base, Buffer.alloc(p.size - base.length)]);
    }
    case 'write': {
      const base = state ?? EMPTY;
      const end = p.offset + p.data.length;
      const next = Buffer.alloc(Math.max(base.length, end));
      base.copy(next);
      p.data.copy(next, p.offset);
      return next;
    }
  }
}

const same = (a: Buffer | null, b: Buffer | null): boolean =>
  a === null || b === null ? a === b : a.equals(b);

/** Short, greppable description of content: its header line (the version that wrote it), size. */
export function describe(b: Buffer | null): string {
  if (b === null) return 'absent';
  if (b.length === 0) return 'empty';
  const nl = b.indexOf(0x0a);
  const head = b.subarray(0, nl > 0 && nl < 80 ? nl : Math.min(b.length, 40));
  const printable = /^[\x20-\x7e]*$/.test(head.toString('latin1'));
  return `${b.length} B${printable ? ` "${head.toString('latin1')}"` : ''}`;
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/** Why `seen` breaks the rules for `rec`, or undefined when it is allowed. */
export function judge(rec: NameRecord, seen: Buffer | null): string | undefined {
  const { acked, pending } = rec;
  if (same(acked, seen)) return undefined;
  // S3 changes an object all at once; NFS and SMB change a file byte range by byte range.
  if (pending.some((p) => p.op === 'put')) {
    const allowed = pending.map((p) => apply(acked, p));
    if (allowed.some((a) => same(a, seen))) return undefined;
    if (seen === null) return `acknowledged object (${describe(acked)}) is gone`;
    const closest = [acked, ...allowed].find((a) => a !== null && a.length === seen.length) ?? acked;
    const where = closest
      ? `, first differing from ${describe(closest)} at byte ${firstDifference(seen, closest)}`
      : '';
    return `holds ${describe(seen)}${where}; allowed: ${[acked, ...allowed].map(describe).join(' | ')}`;
  }
  if (seen === null) {
    if (pending.some((p) => p.op === 'delete' || p.op === 'rename-out')) return undefined;
    return `acknowledged file (${describe(acked)}) is gone`;
  }
  if (same(pending.reduce(apply, acked), seen)) return undefined;
  if (acked === null && !pending.some((p) => p.op === 'create')) {
    return `a file nobody acknowledged or began to create is visible: ${describe(seen)}`;
  }
  const base = acked ?? EMPTY;
  const writes = pending.filter((p): p is Extract<Pending, { op: 'write' }> => p.op === 'write');
  const sizes = new Set<number>([base.length]);
  let zeroFrom = base.length;
  for (const p of pending) {
    if (p.op === 'create') sizes.add(0);
    if (p.op === 'truncate') {
      sizes.add(p.size);
      zeroFrom = Math.min(zeroFrom, p.size);
    }
    if (p.op === 'write') sizes.add(p.offset + p.data.length);
  }
  if (!sizes.has(seen.length)) {
    return `size ${seen.length} is neither the acknowledged ${base.length} nor one a pending operation sets (${[...sizes].join(', ')})`;
  }
  // Only a truncate shrinks a file: when it did, no old byte survives past its size.
  const oldUpTo = seen.length < base.length ? zeroFrom : base.length;
  for (let i = 0; i < seen.length; i++) {
    const b = seen[i]!;
    if (i < oldUpTo && b === base[i]) continue;
    if (i >= zeroFrom && b === 0) continue;
    if (writes.some((w) => i >= w.offset && i < w.offset + w.data.length && w.data[i - w.offset] === b)) {
      continue;
    }
    const expected = i < oldUpTo ? `acknowledged 0x${base[i]!.toString(16)}` : 'zero';
    return `byte ${i} of ${describe(seen)} is 0x${b.toString(16)}: not the ${expected} nor from a write in flight (acknowledged ${describe(acked)}, ${writes.length} writes pending)`;
  }
  return undefined;
}

/** A pending rename, judged on both names together: all done or not at all. */
export function judgeRename(
  src: NameRecord,
  dst: NameRecord,
  seenSrc: Buffer | null,
  seenDst: Buffer | null,
): string[] {
  const moved = dst.pending.find((p): p is Extract<Pending, { op: 'rename-in' }> => p.op === 'rename-in');
  if (!moved) return [`${dst.key}: no pending rename from ${src.key}`];
  const problems: string[] = [];
  if (seenSrc === null) {
    if (!same(seenDst, moved.data)) {
      problems.push(
        `rename ${src.key} -> ${dst.key} half done: the source is gone but the target holds ${describe(seenDst)}, not ${describe(moved.data)}`,
      );
    }
    return problems;
  }
  const without = (r: NameRecord): NameRecord => ({
    ...r,
    pending: r.pending.filter((p) => p.op !== 'rename-in' && p.op !== 'rename-out'),
  });
  const a = judge(without(src), seenSrc);
  const b = judge(without(dst), seenDst);
  if (a) problems.push(`${src.key} (rename to ${dst.key} not applied): ${a}`);
  if (b) problems.push(`${dst.key} (rename from ${src.key} not applied): ${b}`);
  return problems;
}

export interface InFlightOutcomes {
  applied: number;
  none: number;
  partial: number;
}

/** Every name the writers touched, what was acknowledged and what is still pending. */
export class AckLedger {
  private readonly records = new Map<string, NameRecord>();
  /** Acknowledgements received since the last `settle`, by the protocol that received them. */
  readonly acks: Record<Protocol, number> = { s3: 0, nfs: 0, smb: 0 };

  /** The record of `key`, created absent when new. */
  record(key: string, protocol: Protocol): NameRecord {
    let r = this.records.get(key);
    if (!r) {
      r = { key, protocol, acked: null, pending: [] };
      this.records.set(key, r);
    }
    return r;
  }

  /** What the writer was last told is durable. */
  current(key: string): Buffer | null {
    return this.records.get(key)?.acked ?? null;
  }

  /** Called before the request is sent: from now on the gateway may have applied it. */
  begin(key: string, protocol: Protocol, p: Pending): void {
    const r = this.record(key, protocol);
    r.protocol = protocol;
    r.pending.push(p);
  }

  /** The gateway acknowledged everything pending on `key` as durable. */
  ack(key: string): void {
    const r = this.records.get(key);
    if (!r) throw new Error(`ack for unknown name ${key}`);
    if (r.pending.length === 0) return;
    r.acked = r.pending.reduce(apply, r.acked);
    r.pending = [];
    this.acks[r.protocol]++;
  }

  beginRename(from: string, to: string, protocol: Protocol): void {
    const data = this.current(from);
    if (data === null) throw new Error(`rename of ${from}, which is not there`);
    this.begin(from, protocol, { op: 'rename-out', to });
    this.begin(to, protocol, { op: 'rename-in', from, data });
  }

  ackRename(from: string, to: string): void {
    this.ack(to);
    const src = this.records.get(from)!;
    src.acked = null;
    src.pending = [];
  }

  all(): NameRecord[] {
    return [...this.records.values()];
  }

  /** Judges every name against what was observed after the restart; returns the problems. */
  judgeAll(observed: ReadonlyMap<string, Buffer | null>): string[] {
    const problems: string[] = [];
    const seen = (k: string) => observed.get(k) ?? null;
    const inRename = new Set<string>();
    for (const r of this.records.values()) {
      const out = r.pending.find((p): p is Extract<Pending, { op: 'rename-out' }> => p.op === 'rename-out');
      if (!out) continue;
      const dst = this.records.get(out.to)!;
      inRename.add(r.key).add(dst.key);
      problems.push(...judgeRename(r, dst, seen(r.key), seen(dst.key)));
    }
    for (const r of this.records.values()) {
      if (inRename.has(r.key)) continue;
      const why = judge(r, seen(r.key));
      if (why) problems.push(`${r.key} (written over ${r.protocol}): ${why}`);
    }
    return problems;
  }

  /** What is there now is the acknowledged state the next round starts from. */
  settle(observed: ReadonlyMap<string, Buffer | null>): void {
    for (const r of this.records.values()) {
      r.acked = observed.get(r.key) ?? null;
      r.pending = [];
    }
    for (const p of PROTOCOLS) this.acks[p] = 0;
  }

  /** Names with operations begun and not acknowledged (those the SIGKILL caught). */
  inFlight(): number {
    let n = 0;
    for (const r of this.records.values()) if (r.pending.length > 0) n++;
    return n;
  }

  /** What became of the names in flight: their pending operations applied in full, not at all, or in part. */
  inFlightOutcomes(observed: ReadonlyMap<string, Buffer | null>): InFlightOutcomes {
    const out: InFlightOutcomes = { applied: 0, none: 0, partial: 0 };
    for (const r of this.records.values()) {
      if (r.pending.length === 0) continue;
      const seen = observed.get(r.key) ?? null;
      if (same(seen, r.acked)) out.none++;
      else if (same(seen, r.pending.reduce(apply, r.acked))) out.applied++;
      else out.partial++;
    }
    return out;
  }
}
