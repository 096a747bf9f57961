import { closeSync, openSync } from 'node:fs';
import { GroupCommit } from './group-commit.ts';
import { WalFlusher } from './sqlite/wal-flusher.ts';

/** What makes committed metadata durable: resolves once every earlier commit is. */
export interface DurabilityBarrier {
  sync(): Promise<void>;
  /**
   * A hint that sync() is likely to be asked for soon: a barrier that can tell what a flush
   * covers starts one now if its disk is idle. Optional; never needed for correctness.
   */
  anticipate?(): void;
  /** Flushes made so far (a group-commit figure for the metrics). */
  readonly flushes: number;
  close(): void;
}

/** For a store whose commit returns only once durable (PostgreSQL with synchronous_commit). */
export const DURABLE_ON_COMMIT: DurabilityBarrier = {
  sync: () => Promise.resolve(),
  flushes: 0,
  close() {},
};

/**
 * Makes committed metadata durable without blocking the event loop: SQLite runs with
 * synchronous=NORMAL (a commit is atomic and survives a process crash, but is not yet on
 * disk), and this barrier fdatasyncs the WAL file on a thread of its own (wal-flusher.ts), not
 * the libuv pool that a hung data disk can take whole. Any descriptor of
 * a file flushes that file's dirty pages, and recovery replays every checksummed frame that
 * reached the disk, so a commit followed by a completed barrier survives power loss.
 */
export class WalBarrier implements DurabilityBarrier {
  private readonly fd: number;
  private readonly flusher: WalFlusher;
  private readonly group: GroupCommit;

  /**
   * `maxDelayMs`: how long a flush waits for more commits to join it (group_commit_max_delay).
   * `written`: the store's count of statements that write (SqliteMetadataStore.writes), so a
   * flush knows which commits it covers.
   */
  constructor(walPath: string, maxDelayMs = 0, written?: () => number) {
    this.fd = openSync(walPath, 'r');
    this.flusher = new WalFlusher(walPath, this.fd);
    this.group = new GroupCommit(() => this.flusher.flush(), maxDelayMs, written);
  }

  /** Resolves once every transaction committed before the call is on disk. */
  sync(): Promise<void> {
    return this.group.sync();
  }

  anticipate(): void {
    this.group.anticipate();
  }

  get flushes(): number {
    return this.group.flushes;
  }

  close(): void {
    this.flusher.close();
    closeSync(this.fd);
  }
}
