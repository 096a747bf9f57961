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

/**
 * Sequential read-ahead for READ: when a client reads a file front to back (each READ starts
 * where the previous one ended), the next range is read from the data store while the current
 * reply is on the wire, so the next READ does not wait for the disk. One range per file, for
 * a bounded number of files; a range is used only by the same caller, at the same offset and
 * size, while the file's change id is unchanged.
 */
export class ReadAhead {
  private readonly ahead = new Map<bigint, Ahead>();
  private readonly nextOffset = new Map<bigint, bigint>();

  constructor(private readonly maxFiles = 64) {}

  static who(cred: Credential): string {
    return `${cred.uid}:${cred.gid}:${cred.gids.join(',')}`;
  }

  /** The bytes read ahead for exactly this READ, if any. */
  take(
    ino: bigint,
    who: string,
    offset: bigint,
    count: number,
    changeId: bigint,
  ): Promise<ReadResult> | undefined {
    const a = this.ahead.get(ino);
    if (!a) return undefined;
    this.ahead.delete(ino);
    if (a.who !== who || a.offset !== offset || a.count !== count || a.changeId !== changeId)
      return undefined;
    return a.result;
  }

  /**
   * Notes a READ of [offset, end); when it continued the previous one, reads the range after
   * it with `read`.
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
    const result = read(end);
    result.catch(() => {});
    this.remember(this.ahead, ino, { who, offset: end, count, changeId, result });
  }

  private remember<V>(map: Map<bigint, V>, ino: bigint, value: V): void {
    map.delete(ino);
    if (map.size >= this.maxFiles) {
      const oldest = map.keys().next();
      if (!oldest.done) map.delete(oldest.value);
    }
    map.set(ino, value);
  }
}
