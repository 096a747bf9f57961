/**
 * Mixed-protocol writers for the crash test. Against a running gateway, `writersPerProtocol`
 * S3, NFS and SMB writers run at once, each on its own names in the bucket `crash`:
 *
 *   s3/w<W>-k<I>   PUT (small and up to 1 MiB), multipart (one part, or 5 MiB + a tail), DELETE
 *   nfs/w<W>-f<I>  new version by FILE_SYNC writes or UNSTABLE writes + COMMIT, FILE_SYNC append,
 *                  overwrite of a range in place (FILE_SYNC, or UNSTABLE + COMMIT), SETATTR of
 *                  the size (shrink or grow; then UNSTABLE writes + COMMIT half the time),
 *                  RENAME to a sibling, REMOVE
 *   smb/w<W>-f<I>  new version (OVERWRITE_IF, writes, FLUSH, writes, CLOSE), write-through
 *                  writes, overwrite of a range in place (+ CLOSE, or write-through), append +
 *                  FLUSH, end of file set (shrink or grow; then writes half the time) + CLOSE,
 *                  delete-on-close
 *   mix/n<I>       shared names: in each round writer 0 of one protocol owns each, and the owner
 *                  moves on every round, so S3 objects (with their stored ETag) are overwritten
 *                  in place over NFS and SMB, and files written over NFS and SMB are replaced by
 *                  S3 PUTs
 *
 * Content comes from `versionBytes(tag)` with tag `<protocol>.w<W>.s<seq>`. Every operation is
 * entered in the ledger before its request is sent and acknowledged only on the reply that
 * makes it durable: S3 200 to PUT or CompleteMultipartUpload or DELETE; NFS FILE_SYNC WRITE
 * or COMMIT, and CREATE, SETATTR, RENAME, REMOVE (synchronous modifying operations, RFC 1813
 * §4.7); SMB FLUSH and CLOSE, and writes on a write-through open (MS-SMB2 §3.3.5.13).
 */
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { ACCESS, DISPOSITION, OPTION } from '../../src/protocols/smb/constants.ts';
import { type GatewayAccess, NfsClient, ProtocolError, SmbSession, StableHow, s3Client } from './clients.ts';
import { type AckLedger, PROTOCOLS, type Protocol, versionBytes } from './ledger.ts';

export const BUCKET = 'crash';
const KiB = 1024;
const MiB = 1024 * KiB;
/** NFS and SMB send files in pieces of this size, as a client's page flush would. */
const CHUNK = 64 * KiB;

export interface WorkloadOptions {
  writersPerProtocol: number;
  namesPerWriter: number;
  /** Names under mix/, shared between the protocols from round to round. */
  sharedNames: number;
  /** Decides who owns which shared name. */
  round: number;
  seed: number;
}

/** The directories the writers write in, below the bucket. */
export const DIRECTORIES = ['s3', 'nfs', 'smb', 'mix'] as const;
/** A file in each directory that no writer touches, so no S3 DELETE prunes the directory. */
export const KEEP_NAME = '.keep';

/** Who writes the shared name mix/n<i> in `round`: writer 0 of this protocol. */
export function sharedOwner(i: number, round: number): Protocol {
  return PROTOCOLS[(i + round) % PROTOCOLS.length]!;
}

/** A small seeded generator (mulberry32): the same seed picks the same operations. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  /** One of `choices`, by weight. */
  pick<T extends string>(choices: Record<T, number>): T {
    const entries = Object.entries(choices) as Array<[T, number]>;
    let x = this.next() * entries.reduce((s, [, w]) => s + w, 0);
    for (const [k, w] of entries) {
      x -= w;
      if (x < 0) return k;
    }
    return entries[entries.length - 1]![0];
  }
}

interface Step {
  key: string;
  /** All of the writer's names. */
  keys: string[];
  tag: string;
  /** What was last acknowledged at `key`. */
  cur: Buffer | null;
}

/** Writers that stop at the first error: after the SIGKILL every one of them gets one. */
export class MixedWorkload {
  /** Set just before the SIGKILL: errors from then on are the crash, not failures. */
  killed = false;
  /** Errors a writer met while the gateway was alive: each one fails the round. */
  readonly failures: string[] = [];
  private readonly closers: Array<() => void> = [];
  private readonly writers: Array<() => Promise<void>> = [];

  private constructor(
    private readonly ledger: AckLedger,
    private readonly o: WorkloadOptions,
  ) {}

  /** Connects every writer's client (mount, logon, tree connect) before any writing starts. */
  static async connect(access: GatewayAccess, ledger: AckLedger, o: WorkloadOptions): Promise<MixedWorkload> {
    const w = new MixedWorkload(ledger, o);
    try {
      for (let i = 0; i < o.writersPerProtocol; i++) {
        const s3 = s3Client(access);
        w.closers.push(() => s3.destroy());
        w.writers.push(() => w.s3Writer(i, s3, new Rng(o.seed * 31 + i)));

        const nfs = await NfsClient.mount(access, '/export');
        w.closers.push(() => nfs.close());
        const bucket = await nfs.mustLookup(nfs.root, BUCKET);
        const dirs = new Map<string, Buffer>();
        for (const d of ['nfs', 'mix']) dirs.set(d, await nfs.mustLookup(bucket, d));
        w.writers.push(() => w.nfsWriter(i, nfs, dirs, new Rng(o.seed * 37 + i)));

        const smb = await SmbSession.open(access, 'export');
        w.closers.push(() => smb.end());
        w.writers.push(() => w.smbWriter(i, smb, new Rng(o.seed * 41 + i)));
      }
    } catch (e) {
      w.close();
      throw e;
    }
    return w;
  }

  /** Runs every writer until it fails; resolves when all have stopped. */
  async run(): Promise<void> {
    await Promise.all(this.writers.map((writer) => writer()));
  }

  close(): void {
    for (const c of this.closers.splice(0)) c();
  }

  /**
   * A writer: picks one of its names for each step and gives the step that name, the tag of
   * the version it may write, and what was last acknowledged there; stops at the first error.
   */
  private async loop(
    protocol: Protocol,
    w: number,
    rng: Rng,
    step: (s: Step) => Promise<void>,
  ): Promise<void> {
    const letter = protocol === 's3' ? 'k' : 'f';
    const keys = Array.from({ length: this.o.namesPerWriter }, (_, i) => `${protocol}/w${w}-${letter}${i}`);
    if (w === 0) {
      for (let i = 0; i < this.o.sharedNames; i++) {
        if (sharedOwner(i, this.o.round) === protocol) keys.push(`mix/n${i}`);
      }
    }
    for (let seq = 0; !this.killed; seq++) {
      const key = keys[rng.int(keys.length)]!;
      try {
        await step({ key, keys, tag: `${protocol}.w${w}.s${seq}`, cur: this.ledger.current(key) });
      } catch (e) {
        if (!this.killed)
          this.failures.push(`${protocol} writer ${w}: ${e instanceof Error ? e.message : String(e)}`);
        return;
      }
    }
  }

  // ---- S3 ----------------------------------------------------------------------------------------

  private s3Writer(w: number, s3: S3Client, rng: Rng): Promise<void> {
    const ledger = this.ledger;
    return this.loop('s3', w, rng, async ({ key: Key, tag, cur }) => {
      const op = rng.pick({ put: 55, multipart: 20, delete: cur ? 15 : 0 });
      if (op === 'delete') {
        ledger.begin(Key, 's3', { op: 'delete' });
        await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key }));
        ledger.ack(Key);
        return;
      }
      if (op === 'put') {
        const data = versionBytes(
          tag,
          rng.next() < 0.7 ? rng.between(1, 64 * KiB) : rng.between(64 * KiB, MiB),
        );
        ledger.begin(Key, 's3', { op: 'put', data });
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: data }));
        ledger.ack(Key);
        return;
      }
      // Only the last part may be under 5 MiB: one small part, or 5 MiB and a tail.
      const sizes = rng.next() < 0.7 ? [rng.between(1, 256 * KiB)] : [5 * MiB, rng.between(1, 256 * KiB)];
      const data = versionBytes(
        tag,
        sizes.reduce((a, b) => a + b, 0),
      );
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key }));
      const Parts: Array<{ ETag: string; PartNumber: number }> = [];
      let at = 0;
      for (const [i, size] of sizes.entries()) {
        const part = await s3.send(
          new UploadPartCommand({
            Bucket: BUCKET,
            Key,
            UploadId,
            PartNumber: i + 1,
            Body: data.subarray(at, at + size),
          }),
        );
        Parts.push({ ETag: part.ETag!, PartNumber: i + 1 });
        at += size;
      }
      ledger.begin(Key, 's3', { op: 'put', data });
      await s3.send(
        new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key, UploadId, MultipartUpload: { Parts } }),
      );
      ledger.ack(Key);
    });
  }

  // ---- NFS ---------------------------------------------------------------------------------------

  private nfsWriter(w: number, nfs: NfsClient, dirs: ReadonlyMap<string, Buffer>, rng: Rng): Promise<void> {
    const ledger = this.ledger;
    const dirOf = (key: string) => dirs.get(key.slice(0, key.indexOf('/')))!;
    const base = (key: string) => key.slice(key.indexOf('/') + 1);

    /** Truncates (SETATTR) or creates (CREATE GUARDED) the file; both are acknowledged on reply. */
    const fresh = async (key: string): Promise<Buffer> => {
      const dir = dirOf(key);
      if (ledger.current(key) !== null) {
        const fh = await nfs.mustLookup(dir, base(key));
        ledger.begin(key, 'nfs', { op: 'truncate', size: 0 });
        await nfs.truncate(fh, 0);
        ledger.ack(key);
        return fh;
      }
      ledger.begin(key, 'nfs', { op: 'create' });
      const fh = await nfs.create(dir, base(key));
      ledger.ack(key);
      return fh;
    };

    const writeSync = async (key: string, fh: Buffer, offset: number, data: Buffer): Promise<void> => {
      ledger.begin(key, 'nfs', { op: 'write', offset, data });
      const committed = await nfs.write(fh, offset, data, StableHow.FILE_SYNC);
      if (committed !== StableHow.FILE_SYNC) {
        throw new ProtocolError(`FILE_SYNC WRITE answered committed=${committed}`);
      }
      ledger.ack(key);
    };

    /** UNSTABLE writes sent together, as a client flushing dirty pages does; then COMMIT. */
    const writeUnstable = async (key: string, fh: Buffer, pieces: Array<[number, Buffer]>): Promise<void> => {
      for (const [offset, data] of pieces) ledger.begin(key, 'nfs', { op: 'write', offset, data });
      await Promise.all(pieces.map(([offset, data]) => nfs.write(fh, offset, data, StableHow.UNSTABLE)));
      await nfs.commit(fh);
      ledger.ack(key);
    };

    return this.loop('nfs', w, rng, async ({ key, keys, tag, cur }) => {
      const dir = dirOf(key);
      // Renames stay among the writer's own names.
      const siblings = keys.filter((k) => k !== key && k.startsWith('nfs/'));
      const op = rng.pick({
        'new-sync': 20,
        'new-unstable': 25,
        append: cur ? 15 : 0,
        overwrite: cur?.length ? 20 : 0,
        rename: cur && key.startsWith('nfs/') ? 10 : 0,
        remove: cur ? 8 : 0,
        resize: cur ? 10 : 0,
      });
      if (op === 'new-sync' || op === 'new-unstable') {
        const data = versionBytes(tag, rng.between(1, 256 * KiB));
        const fh = await fresh(key);
        const pieces = chunks(data);
        if (op === 'new-unstable') await writeUnstable(key, fh, pieces);
        else for (const [offset, piece] of pieces) await writeSync(key, fh, offset, piece);
      } else if (op === 'append') {
        const fh = await nfs.mustLookup(dir, base(key));
        await writeSync(key, fh, cur!.length, versionBytes(tag, rng.between(1, 32 * KiB)));
      } else if (op === 'overwrite') {
        const fh = await nfs.mustLookup(dir, base(key));
        const pieces = chunks(versionBytes(tag, rng.between(1, 96 * KiB)), rng.int(cur!.length));
        if (rng.next() < 0.5) await writeUnstable(key, fh, pieces);
        else for (const [offset, piece] of pieces) await writeSync(key, fh, offset, piece);
      } else if (op === 'resize') {
        // SETATTR of the size, shrinking or growing; then, half the time, UNSTABLE writes over
        // the cut (a truncate and rewrite, as an editor saving in place does).
        const size = rng.int(cur!.length * 2 + 1);
        const fh = await nfs.mustLookup(dir, base(key));
        ledger.begin(key, 'nfs', { op: 'truncate', size });
        await nfs.truncate(fh, size);
        ledger.ack(key);
        if (rng.next() < 0.5) {
          await writeUnstable(
            key,
            fh,
            chunks(versionBytes(tag, rng.between(1, 96 * KiB)), rng.int(size + 1)),
          );
        }
      } else if (op === 'rename') {
        const to = siblings[rng.int(siblings.length)]!;
        ledger.beginRename(key, to, 'nfs');
        await nfs.rename(dir, base(key), base(to));
        ledger.ackRename(key, to);
      } else {
        ledger.begin(key, 'nfs', { op: 'delete' });
        await nfs.remove(dir, base(key));
        ledger.ack(key);
      }
    });
  }

  // ---- SMB ---------------------------------------------------------------------------------------

  private smbWriter(w: number, smb: SmbSession, rng: Rng): Promise<void> {
    const ledger = this.ledger;
    const path = (key: string) => `${BUCKET}\\${key.replace('/', '\\')}`;
    const RW = ACCESS.FILE_READ_DATA | ACCESS.FILE_WRITE_DATA | ACCESS.FILE_READ_ATTRIBUTES;

    const writeAll = async (key: string, fid: Buffer, pieces: Array<[number, Buffer]>) => {
      for (const [offset, data] of pieces) {
        ledger.begin(key, 'smb', { op: 'write', offset, data });
        await smb.write(fid, offset, data);
      }
    };

    return this.loop('smb', w, rng, async ({ key, tag, cur }) => {
      const op = rng.pick({
        'new-flush-close': 30,
        'write-through': 15,
        overwrite: cur?.length ? 20 : 0,
        append: cur ? 15 : 0,
        delete: cur ? 8 : 0,
        resize: cur ? 10 : 0,
      });
      if (op === 'delete') {
        ledger.begin(key, 'smb', { op: 'delete' });
        const fid = await smb.create(path(key), {
          access: ACCESS.DELETE | ACCESS.FILE_READ_ATTRIBUTES,
          disposition: DISPOSITION.OPEN,
          options: OPTION.DELETE_ON_CLOSE,
        });
        if (!fid) throw new ProtocolError(`${key}: acknowledged file not found to delete`);
        await smb.close(fid);
        ledger.ack(key);
        return;
      }
      if (op === 'new-flush-close' || op === 'write-through') {
        const data = versionBytes(tag, rng.between(1, 256 * KiB));
        ledger.begin(key, 'smb', cur ? { op: 'truncate', size: 0 } : { op: 'create' });
        const through = op === 'write-through';
        const fid = await smb.create(path(key), {
          access: RW,
          disposition: DISPOSITION.OVERWRITE_IF,
          options: through ? OPTION.WRITE_THROUGH : 0,
        });
        if (!fid) throw new ProtocolError(`${key}: OVERWRITE_IF found no file`);
        const pieces = chunks(data);
        if (through) {
          for (const piece of pieces) {
            await writeAll(key, fid, [piece]);
            ledger.ack(key);
          }
        } else {
          const half = Math.ceil(pieces.length / 2);
          await writeAll(key, fid, pieces.slice(0, half));
          await smb.flush(fid);
          ledger.ack(key);
          await writeAll(key, fid, pieces.slice(half));
        }
        await smb.close(fid);
        ledger.ack(key);
        return;
      }
      const through = op === 'overwrite' && rng.next() < 0.5;
      // resize, overwrite, append: on the file as it is.
      const fid = await smb.create(path(key), {
        access: RW,
        disposition: DISPOSITION.OPEN,
        options: through ? OPTION.WRITE_THROUGH : 0,
      });
      if (!fid) throw new ProtocolError(`${key}: acknowledged file not found to open`);
      if (op === 'resize') {
        // SET_INFO end of file, shrinking or growing, then writes from somewhere below the new
        // size; all durable at CLOSE.
        const size = rng.int(cur!.length * 2 + 1);
        ledger.begin(key, 'smb', { op: 'truncate', size });
        await smb.setEndOfFile(fid, size);
        if (rng.next() < 0.5) {
          await writeAll(key, fid, chunks(versionBytes(tag, rng.between(1, 96 * KiB)), rng.int(size + 1)));
        }
      } else if (op === 'overwrite') {
        const pieces = chunks(versionBytes(tag, rng.between(1, 96 * KiB)), rng.int(cur!.length));
        for (const piece of pieces) {
          await writeAll(key, fid, [piece]);
          if (through) ledger.ack(key);
        }
      } else {
        await writeAll(key, fid, chunks(versionBytes(tag, rng.between(1, 32 * KiB)), cur!.length));
        await smb.flush(fid);
        ledger.ack(key);
      }
      await smb.close(fid);
      ledger.ack(key);
    });
  }
}

/** `data` as [file offset, piece] of at most CHUNK bytes, starting at `at`. */
function chunks(data: Buffer, at = 0): Array<[number, Buffer]> {
  const out: Array<[number, Buffer]> = [];
  for (let i = 0; i < data.length; i += CHUNK) out.push([at + i, data.subarray(i, i + CHUNK)]);
  return out;
}
