import type { Credential, ReadResult } from '../../../storage/types.ts';

interface Ahead {
  /** Who the bytes were read for: only the same credential may take them. */
  who: string;
  offset: bigint;
  count: number;
  /** The file's change id when the read started: any change since drops the bytes. */
  changeId: bigint;
  result: Promise<ReadResult>;
}

/** Ranges read ahead of a sequential reader: two keep a thread-pool read always in flight. */
const DEPTH = 2;
/** Bytes held ahead for all files together (pooled buffers, returned when served or dropped). */
const MAX_AHEAD_BYTES = 64 * 1024 * 1024;

/**
 * Sequential read-ahead for READ: when a client reads a file front to back (each READ starts
 * where the previous one ended), the next ranges are read from the data store while the
 * current reply is on the wire, so the next READ does not wait for the disk. Up to DEPTH
 * ranges per file, for a bounded number of files and bytes; a range is used only by the same
 * caller, at the same offset and size, while the file's change id is unchanged.
 */
export class ReadAhead {
  private readonly ahead = new Map<bigint, Ahead[]>();
  private readonly nextOffset = new Map<bigint, bigint>();
  private bytes = 0;

  constructor(private readonly maxFiles = 64) {}

  static who(cred: Credential): string {
    return `${cred.uid}:${cred.gid}:${cred.gids.join(',')}`;
  }

  /** The bytes read ahead for exactly this READ, if any; ranges it skipped are dropped. */
  take(
    ino: bigint,
    who: string,
    offset: bigint,
    count: number,
    changeId: bigint,
  ): Promise<ReadResult> | undefined {
    const queue = this.ahead.get(ino);
    if (!queue) return undefined;
    while (queue.length > 0) {
      const a = queue.shift()!;
      this.bytes -= a.count;
      if (a.offset !== offset || a.who !== who || a.count !== count || a.changeId !== changeId) {
        this.drop(a);
        continue;
      }
      if (queue.length === 0) this.ahead.delete(ino);
      return a.result;
    }
    this.ahead.delete(ino);
    return undefined;
  }

  /**
   * Notes a READ of [offset, end); when it continued the previous one, reads the ranges after
   * it with `read` (those not already on their way).
   */
  served(
    ino: bigint,
    who: string,
    offset: bigint,
    end: bigint,
    count: number,
    changeId: bigint,
    read: (offset: bigint) => Promise<ReadResult>,
  ): void {
    const sequential = offset === 0n || this.nextOffset.get(ino) === offset;
    this.remember(this.nextOffset, ino, end);
    if (!sequential) return;
    let queue = this.ahead.get(ino);
    if (!queue) {
      queue = [];
      this.remember(this.ahead, ino, queue);
    }
    let next = queue.length > 0 ? queue[queue.length - 1]!.offset + BigInt(count) : end;
    while (queue.length < DEPTH && this.bytes + count <= MAX_AHEAD_BYTES) {
      const result = read(next);
      result.catch(() => {});
      queue.push({ who, offset: next, count, changeId, result });
      this.bytes += count;
      next += BigInt(count);
    }
  }

  /** Bytes no READ will take: their pooled buffer goes back once the read finishes. */
  private drop(a: Ahead): void {
    a.result.then(
      (r) => r.release?.(),
      () => {},
    );
  }

  private remember<V>(map: Map<bigint, V>, ino: bigint, value: V): void {
    map.delete(ino);
    if (map.size >= this.maxFiles) {
      const oldest = map.keys().next();
      if (!oldest.done) {
        const evicted = map.get(oldest.value);
        map.delete(oldest.value);
        if (Array.isArray(evicted)) this.evict(evicted as Ahead[]);
      }
    }
    map.set(ino, value);
  }

  private evict(queue: Ahead[]): void {
    for (const a of queue) {
      this.bytes -= a.count;
      this.drop(a);
    }
  }
}
