import { randomBytes } from 'node:crypto';
import { closeSync, openSync, statfsSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { open, statfs, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** The reserve file's name, in meta.db's folder. */
export const RESERVE_FILE = 'space-reserve';
/** Its size: room for many deletes' commits (each a few pages of the WAL). */
export const RESERVE_BYTES = 8 * 1024 * 1024;
/** Taken (again) only while the file system has this many times the reserve free besides. */
const ROOM_FACTOR = 8;
/** Random, not zeros: a compressing file system (ZFS, btrfs) would keep zeros in no room at all. */
const CHUNK = randomBytes(1024 * 1024);

/**
 * Room kept back on the metadata disk for deletes. A SQLite commit needs room, deletes too: on a
 * disk full to the last block — the default layout keeps the data folder beside meta.db, so
 * client writes fill both — nothing could be deleted through the gateway to make room. A file
 * of RESERVE_BYTES stands in meta.db's folder; a delete refused for want of room releases it
 * and is tried again (Namespace), and the file is taken again once the disk has room.
 */
export class SpaceReserve {
  readonly path: string;
  private taking: Promise<boolean> | undefined;

  constructor(private readonly folder: string) {
    this.path = join(folder, RESERVE_FILE);
  }

  /** Whether the reserve is in place. */
  held(): boolean {
    try {
      return statSync(this.path).size >= RESERVE_BYTES;
    } catch {
      return false;
    }
  }

  /** At open: the reserve taken now, if missing and there is room (a start is allowed a write). */
  takeNow(): boolean {
    if (this.held()) return true;
    try {
      if (!roomFor(statfsSync(this.folder, { bigint: true }))) return false;
      const fd = openSync(this.path, 'w', 0o600);
      try {
        for (let n = 0; n < RESERVE_BYTES; n += CHUNK.length) writeSync(fd, CHUNK);
        return true;
      } catch {
        unlinkSync(this.path);
        return false;
      } finally {
        closeSync(fd);
      }
    } catch {
      return false; // a folder it cannot write in: the start goes on without a reserve
    }
  }

  /** Later (the health probe): taken again off the event loop, if missing and there is room. */
  take(): Promise<boolean> {
    if (this.held()) return Promise.resolve(true);
    this.taking ??= this.write().finally(() => {
      this.taking = undefined;
    });
    return this.taking;
  }

  /** Gives the reserve's room back to the file system; whether there was one to give. */
  release(): boolean {
    try {
      unlinkSync(this.path);
      return true;
    } catch {
      return false;
    }
  }

  private async write(): Promise<boolean> {
    if (!roomFor(await statfs(this.folder, { bigint: true }))) return false;
    const f = await open(this.path, 'w', 0o600);
    try {
      for (let n = 0; n < RESERVE_BYTES; n += CHUNK.length) await f.write(CHUNK);
      return true;
    } catch {
      await unlink(this.path).catch(() => {});
      return false;
    } finally {
      await f.close();
    }
  }
}

function roomFor(s: { bavail: bigint; bsize: bigint }): boolean {
  return s.bavail * s.bsize >= BigInt(RESERVE_BYTES * ROOM_FACTOR);
}
