import { randomBytes } from 'node:crypto';
import { isFsError } from '../../../storage/errors.ts';
import type { Namespace } from '../../../storage/namespace.ts';
import { type Attributes, ROOT } from '../../../storage/types.ts';
import { KeyedQueue } from '../../../util/keyed-queue.ts';
import { S3Error } from '../deps.ts';

/**
 * Where multipart uploads in progress live: a hidden directory under the namespace root,
 * outside every bucket (so never listed), one subdirectory per upload. The subdirectory's
 * attributes are the manifest — `s3.upload` (what the upload is for) and one `s3.part.NNNNN`
 * per part naming its detached file — each set in one durable transaction, so the state
 * survives a restart. Part data are detached files (purpose 'multipart', owner the upload id)
 * that Complete composes by reference.
 */
export const UPLOADS_DIR = '/.cfs-uploads';
export const PART_PURPOSE = 'multipart';
const INFO_XATTR = 's3.upload';
const PART_XATTR_PREFIX = 's3.part.';
const UPLOAD_ID = /^[0-9a-f]{32}$/;

export interface UploadInfo {
  bucket: string;
  key: string;
  uid: number;
  gid: number;
  /** ms since the epoch. */
  initiated: number;
  /** Object metadata attributes to give the object at completion (values base64). */
  metadata: Record<string, string>;
  /** Its canned `x-amz-acl` (checked at the start), given the object at completion. */
  acl?: string;
}

export interface PartRecord {
  partNumber: number;
  ino: string;
  size: string;
  md5: string;
  /** ms since the epoch. */
  at: number;
}

export interface Upload {
  uploadId: string;
  dir: Attributes;
  info: UploadInfo;
}

const partName = (n: number) => `${PART_XATTR_PREFIX}${String(n).padStart(5, '0')}`;

export class UploadStore {
  private readonly locks = new KeyedQueue<string>();

  private constructor(
    private readonly ns: Namespace,
    readonly dirIno: bigint,
  ) {}

  /** Opens (creating) the uploads directory and removes part files no manifest names. */
  static async open(
    ns: Namespace,
    detached?: () => Promise<Array<{ ino: bigint; purpose: string; created: bigint }>>,
  ): Promise<UploadStore> {
    const dir = await ns.ensureDirectory(UPLOADS_DIR, 0o700);
    const store = new UploadStore(ns, dir.ino);
    if (detached) await store.sweep(await detached());
    return store;
  }

  /** Part files of uploads that were aborted or completed mid-way by a crash. */
  private async sweep(detached: Array<{ ino: bigint; purpose: string; created: bigint }>): Promise<number> {
    const staleBefore = this.ns.staleDetachedBefore();
    const orphans = detached.filter((d) => d.purpose === PART_PURPOSE && d.created < staleBefore);
    if (orphans.length === 0) return 0;
    const referenced = new Set<string>();
    for (const u of await this.list()) for (const p of await this.parts(u)) referenced.add(p.ino);
    let removed = 0;
    for (const d of orphans) {
      if (referenced.has(String(d.ino))) continue;
      await this.ns.removeDetached(d.ino);
      removed++;
    }
    return removed;
  }

  /** Serialises the changes to one upload (parts replaced, completion, abort). */
  exclusive<T>(uploadId: string, work: () => Promise<T>): Promise<T> {
    return this.locks.run(uploadId, work);
  }

  async create(info: UploadInfo): Promise<string> {
    // Its initiation time first (ms, 12 hex digits), then 80 random bits: listings page by id,
    // and the ids of one key then sort as the uploads were started.
    const uploadId = Date.now().toString(16).padStart(12, '0') + randomBytes(10).toString('hex');
    const dir = await this.ns.mkdir(ROOT, this.dirIno, uploadId, 0o700);
    await this.ns.setXattrs(ROOT, dir.ino, { [INFO_XATTR]: Buffer.from(JSON.stringify(info)) });
    return uploadId;
  }

  /** The upload, or NoSuchUpload (unknown id, finished, or aborted). */
  async get(uploadId: string): Promise<Upload> {
    if (!UPLOAD_ID.test(uploadId)) throw noSuchUpload(uploadId);
    let dir: Attributes;
    try {
      dir = await this.ns.lookup(ROOT, this.dirIno, uploadId);
    } catch (e) {
      if (isFsError(e, 'ENOENT')) throw noSuchUpload(uploadId);
      throw e;
    }
    const raw = await this.ns.getXattr(dir.ino, INFO_XATTR);
    if (!raw) throw noSuchUpload(uploadId);
    return { uploadId, dir, info: JSON.parse(raw.toString()) as UploadInfo };
  }

  async parts(u: Upload): Promise<PartRecord[]> {
    const out: PartRecord[] = [];
    for (const [name, value] of await this.ns.listXattrs(u.dir.ino)) {
      if (name.startsWith(PART_XATTR_PREFIX)) out.push(JSON.parse(value.toString()) as PartRecord);
    }
    return out.sort((a, b) => a.partNumber - b.partNumber);
  }

  /** Records a part; returns the inode of the part it replaced (to be removed), if any. */
  async recordPart(u: Upload, part: PartRecord): Promise<bigint | undefined> {
    const name = partName(part.partNumber);
    const old = await this.ns.getXattr(u.dir.ino, name);
    await this.ns.setXattrs(ROOT, u.dir.ino, { [name]: Buffer.from(JSON.stringify(part)) });
    return old ? BigInt((JSON.parse(old.toString()) as PartRecord).ino) : undefined;
  }

  /**
   * Aborts the upload: its part files and its manifest go. With `still`, only if the upload as
   * it stands under the upload's lock still qualifies. Resolves with what was freed, or
   * undefined when the upload is gone (completed, aborted) or no longer qualifies.
   */
  abort(
    uploadId: string,
    still?: (u: Upload, parts: PartRecord[]) => boolean,
  ): Promise<{ upload: Upload; parts: PartRecord[] } | undefined> {
    return this.exclusive(uploadId, async () => {
      let u: Upload;
      try {
        u = await this.get(uploadId);
      } catch {
        return undefined;
      }
      const parts = await this.parts(u);
      if (still && !still(u, parts)) return undefined;
      for (const p of parts) await this.ns.removeDetached(BigInt(p.ino)).catch(() => {});
      await this.remove(u);
      return { upload: u, parts };
    });
  }

  /** When the upload last moved: its start, or its newest part (ms since the epoch). */
  static lastActivity(u: Upload, parts: readonly PartRecord[]): number {
    return parts.reduce((latest, p) => Math.max(latest, p.at), u.info.initiated);
  }

  /** Forgets the upload (its part files are the caller's to remove or consume first). */
  async remove(u: Upload): Promise<void> {
    try {
      await this.ns.rmdir(ROOT, this.dirIno, u.uploadId);
    } catch (e) {
      if (!isFsError(e, 'ENOENT')) throw e;
    }
  }

  /** Every upload in progress (for ListMultipartUploads and the sweep). */
  async list(): Promise<Upload[]> {
    const out: Upload[] = [];
    for (let cookie = 0n; ; ) {
      const page = await this.ns.readdir(ROOT, this.dirIno, cookie, 1024);
      for (const e of page.entries) {
        try {
          out.push(await this.get(e.name));
        } catch {
          // Gone meanwhile, or not an upload: not listed.
        }
      }
      if (page.eof || page.entries.length === 0) break;
      cookie = page.entries[page.entries.length - 1]!.cookie;
    }
    return out;
  }
}

export function noSuchUpload(uploadId: string): S3Error {
  return new S3Error(
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    { UploadId: uploadId.slice(0, 64) },
  );
}
