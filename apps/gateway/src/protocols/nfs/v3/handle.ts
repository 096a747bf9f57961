import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { NfsExport } from '../../../config/types.ts';
import type { NamespaceApi } from '../../../storage/contract.ts';
import { isFsError } from '../../../storage/errors.ts';
import { type Attributes, type InodeRef, ROOT } from '../../../storage/types.ts';
import { inoKey } from '../../../util/ino-key.ts';
import { Nfsstat3 } from './constants.ts';
import { nfsError } from './errors.ts';

/**
 * File handle layout (40 bytes, within NFS3_FHSIZE = 64):
 *
 *   0   version (1)        1..3  zero
 *   4   export id (8)      — the first 8 bytes of SHA-256 of the export path, so reordering
 *                            exports in the configuration does not re-point old handles
 *   12  inode number (8)   20  generation (4)
 *   24  MAC (16)           — HMAC-SHA256(control.secrets.nfsHandleKey, bytes 0..23), truncated
 *
 * Handles are opaque to clients (RFC 1813 §2.4) and survive restarts: inode numbers and
 * generations are stable and the key is stored in the control plane. The MAC binds the export
 * to the inode, so a client cannot forge a handle into another export or another inode.
 */
export const HANDLE_BYTES = 40;
const HANDLE_VERSION = 1;
const MAC_OFFSET = 24;
const MAC_BYTES = 16;
const MAC_CONTEXT = Buffer.from('claudefs nfs3 file handle v1\0');
const VERIFIED_MAX = 65_536;
/** Handles kept minted (256 bytes each, 34 MB when full): a 100,000-entry directory listed again mints none. */
const MINTED_MAX = 131_072;
/** Slots of the recent-handle table (a power of two), chosen by the inode number's low bits. */
const RECENT_SLOTS = 256;

export interface HandleRef extends InodeRef {
  readonly exportIndex: number;
}

/** The 8-byte id of an export path carried in its handles (and reported as its fsid). */
export function exportIdOf(path: string): bigint {
  return createHash('sha256').update(`claudefs nfs export\0${path}`).digest().readBigUInt64BE(0);
}

/**
 * Mints and checks the file handles of the configured exports, and finds each export's root
 * inode. MOUNT answers MNT with `encodeRootHandle`; every NFS procedure decodes through
 * `decodeHandle`.
 */
export class NfsHandles {
  /**
   * One slot per export path ever served, in configuration order then in the order reloads
   * added them: a handle's export id finds its slot, and a slot keeps its index for good, so a
   * call in flight across a reload never reads another export's settings. A removed export's
   * slot is empty (its handles are stale) until a reload serves the path again.
   */
  private readonly slots: Array<NfsExport | undefined> = [];
  private readonly ids: bigint[] = [];
  private readonly byId = new Map<bigint, number>();
  private readonly roots: Array<InodeRef | undefined> = [];
  /** Handles clients sent that this process did not mint, by their bytes, once their MAC checked: one check a handle, not a call. */
  private readonly verified = new Map<string, HandleRef>();
  /**
   * The last handle verified in each slot, compared byte for byte: the calls of a stream (the
   * READs and WRITEs of one file, a client polling its attributes) name one handle again and
   * again, and a comparison costs less than the string key the map needs.
   */
  private readonly recent: Array<{ fh: Buffer; ref: HandleRef } | undefined> = new Array(RECENT_SLOTS);
  /**
   * Handles minted, by inode, one map per export (the generation is checked in the handle's
   * bytes): a LOOKUP of a known name, or a listing's entry, costs no MAC and no string key.
   */
  private readonly minted: Array<Map<number | bigint, Buffer>> = [];
  private mintedCount = 0;

  constructor(
    private readonly key: Buffer,
    private readonly ns: NamespaceApi,
    exports: readonly NfsExport[],
  ) {
    if (key.length < 16) throw new Error('the NFS handle key must be at least 16 bytes');
    this.reconfigure(exports);
  }

  /** The served exports by slot; an empty slot is an export a reload removed. */
  get exports(): ReadonlyArray<NfsExport | undefined> {
    return this.slots;
  }

  /** The export of a slot a handle named; NFS3ERR_STALE once a reload removed it. */
  exportAt(exportIndex: number): NfsExport {
    const exp = this.slots[exportIndex];
    if (!exp) throw nfsError(Nfsstat3.STALE, 'handle of an export no longer served');
    return exp;
  }

  /**
   * Serves `exports` from now on (a reload): an export keeps its slot by path and takes its new
   * settings (access, clients, squash) for every later call; a new path gets a slot; a path no
   * longer listed leaves its slot empty. The handle caches start over.
   */
  reconfigure(exports: readonly NfsExport[]): void {
    const listed = new Set<number>();
    for (const exp of exports) {
      const id = exportIdOf(exp.path);
      let index = this.byId.get(id);
      if (index === undefined) {
        index = this.slots.length;
        this.ids.push(id);
        this.byId.set(id, index);
        this.roots.push(undefined);
        this.slots.push(exp);
      } else if (listed.has(index)) {
        throw new Error(`NFS exports ${this.slots[index]!.path} and ${exp.path} have the same id`);
      } else {
        if (this.slots[index] === undefined) this.roots[index] = undefined;
        this.slots[index] = exp;
      }
      listed.add(index);
    }
    for (let i = 0; i < this.slots.length; i++) if (!listed.has(i)) this.slots[i] = undefined;
    this.verified.clear();
    this.minted.length = 0;
    this.mintedCount = 0;
    this.recent.fill(undefined);
  }

  /** The fsid reported in fattr3 for every object of the export. */
  fsid(exportIndex: number): bigint {
    const id = this.ids[exportIndex];
    if (id === undefined) throw new RangeError(`no NFS export #${exportIndex}`);
    return id;
  }

  /** The object's handle; the same Buffer for the same object, which callers copy, never change. */
  encodeHandle(exportIndex: number, ref: InodeRef): Buffer {
    const generation = ref.generation >>> 0;
    let byIno = this.minted[exportIndex];
    if (!byIno) {
      byIno = new Map();
      this.minted[exportIndex] = byIno;
    }
    const key = inoKey(ref.ino);
    const known = byIno.get(key);
    if (known && known.readUInt32BE(20) === generation) return known;
    const fh = Buffer.alloc(HANDLE_BYTES);
    fh.writeUInt8(HANDLE_VERSION, 0);
    fh.writeBigUInt64BE(this.fsid(exportIndex), 4);
    fh.writeBigUInt64BE(ref.ino, 12);
    fh.writeUInt32BE(generation, 20);
    this.mac(fh).copy(fh, MAC_OFFSET, 0, MAC_BYTES);
    if (this.mintedCount >= MINTED_MAX) {
      for (const m of this.minted) m?.clear();
      this.mintedCount = 0;
    }
    const before = byIno.size;
    byIno.set(key, fh);
    this.mintedCount += byIno.size - before;
    return fh;
  }

  /**
   * The export and inode a handle names. A handle of the wrong size or layout is
   * NFS3ERR_BADHANDLE; one whose MAC does not verify, or whose export is no longer configured,
   * is NFS3ERR_STALE (RFC 1813 §2.6). Whether the inode still exists is the namespace's answer.
   */
  decodeHandle(fh: Buffer): HandleRef {
    if (fh.length !== HANDLE_BYTES) throw nfsError(Nfsstat3.BADHANDLE, `handle of ${fh.length} bytes`);
    const slot = fh[19]! & (RECENT_SLOTS - 1);
    const last = this.recent[slot];
    if (last !== undefined && fh.equals(last.fh)) return last.ref;
    // The client's next call often names what a reply just minted (a CREATE's WRITE, a
    // LOOKUP's GETATTR): found among the minted handles, it needs no MAC and no string key,
    // and it is not remembered again among the verified ones.
    let ref = this.mintedRef(fh);
    if (!ref) {
      const key = fh.toString('latin1');
      ref = this.verified.get(key);
      if (!ref) {
        ref = this.verify(fh);
        this.remember(key, ref);
      }
    }
    this.recent[slot] = { fh: Buffer.from(fh), ref };
    return ref;
  }

  /**
   * Drops what is kept of an inode's handles (it was removed through this export's clients):
   * a workload that creates and removes files keeps no handle of each file it removed. Only a
   * cache: a handle of the inode sent again is checked by its MAC, and is STALE if it is gone.
   */
  forget(ino: bigint): void {
    const key = inoKey(ino);
    for (const byIno of this.minted) if (byIno?.delete(key)) this.mintedCount--;
    const slot = Number(ino & BigInt(RECENT_SLOTS - 1));
    if (this.recent[slot]?.ref.ino === ino) this.recent[slot] = undefined;
  }

  /** Handles kept minted now (for the tests). */
  get mintedHandles(): number {
    return this.mintedCount;
  }

  private remember(key: string, ref: HandleRef): void {
    if (this.verified.size >= VERIFIED_MAX) this.verified.clear();
    this.verified.set(key, ref);
  }

  /** The object a handle names if this process minted it, byte for byte; else undefined. */
  private mintedRef(fh: Buffer): HandleRef | undefined {
    const exportIndex = this.servedExportOf(fh);
    if (exportIndex === undefined) return undefined;
    const ino = fh.readBigUInt64BE(12);
    if (this.minted[exportIndex]?.get(inoKey(ino))?.equals(fh) !== true) return undefined;
    return refOf(fh, exportIndex);
  }

  /** The slot of the export a handle's id names, if that export is served. */
  private servedExportOf(fh: Buffer): number | undefined {
    const exportIndex = this.byId.get(fh.readBigUInt64BE(4));
    return exportIndex !== undefined && this.slots[exportIndex] !== undefined ? exportIndex : undefined;
  }

  private verify(fh: Buffer): HandleRef {
    if (fh[0] !== HANDLE_VERSION || fh[1] !== 0 || fh[2] !== 0 || fh[3] !== 0) {
      throw nfsError(Nfsstat3.BADHANDLE, 'unknown handle version');
    }
    const expected = this.mac(fh);
    if (!timingSafeEqual(expected.subarray(0, MAC_BYTES), fh.subarray(MAC_OFFSET))) {
      throw nfsError(Nfsstat3.STALE, 'handle does not verify');
    }
    const exportIndex = this.servedExportOf(fh);
    if (exportIndex === undefined) throw nfsError(Nfsstat3.STALE, 'handle of an export no longer served');
    return refOf(fh, exportIndex);
  }

  private mac(fh: Buffer): Buffer {
    return createHmac('sha256', this.key).update(MAC_CONTEXT).update(fh.subarray(0, MAC_OFFSET)).digest();
  }

  /**
   * The export's root directory, found by path and remembered while its inode lives (an export
   * directory removed and created again through another protocol is found anew).
   */
  async exportRoot(exportIndex: number): Promise<Attributes> {
    const exp = this.exportAt(exportIndex);
    const known = this.roots[exportIndex];
    if (known) {
      try {
        return await this.ns.getattr(known);
      } catch (e) {
        if (!isFsError(e, 'ESTALE')) throw e;
        this.roots[exportIndex] = undefined;
      }
    }
    const root = await this.ns.resolvePath(ROOT, exp.path);
    if (root.type !== 'dir') throw nfsError(Nfsstat3.NOTDIR, `export ${exp.path} is not a directory`);
    this.roots[exportIndex] = { ino: root.ino, generation: root.generation };
    return root;
  }

  /** The handle MOUNT's MNT answers with: the export's root directory. */
  async encodeRootHandle(exportIndex: number): Promise<Buffer> {
    return this.encodeHandle(exportIndex, await this.exportRoot(exportIndex));
  }
}

/** The inode a checked handle names, in the export of slot `exportIndex`. */
function refOf(fh: Buffer, exportIndex: number): HandleRef {
  return Object.freeze({ exportIndex, ino: fh.readBigUInt64BE(12), generation: fh.readUInt32BE(20) });
}
