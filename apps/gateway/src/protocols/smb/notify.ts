/** FILE_NOTIFY_INFORMATION actions (MS-FSCC §2.7.1). */
export const NOTIFY_ACTION = {
  ADDED: 1,
  REMOVED: 2,
  MODIFIED: 3,
  RENAMED_OLD_NAME: 4,
  RENAMED_NEW_NAME: 5,
} as const;

/** CompletionFilter bits (MS-SMB2 §2.2.35). */
export const NOTIFY_FILTER = {
  FILE_NAME: 0x001,
  DIR_NAME: 0x002,
  ATTRIBUTES: 0x004,
  SIZE: 0x008,
  LAST_WRITE: 0x010,
  LAST_ACCESS: 0x020,
  CREATION: 0x040,
  EA: 0x080,
  SECURITY: 0x100,
} as const;

export interface ChangeEvent {
  action: number;
  /** Which CompletionFilter bits this change matches. */
  filter: number;
  /** Directory the entry is in. */
  dirIno: bigint;
  /** Namespace path of the entry ("/export/a/b.txt"). */
  path: string;
}

export interface NotifyChange {
  action: number;
  /** Relative to the watched directory, backslash-separated. */
  name: string;
}

/** Changes queued beyond this many (or past the client's buffer) become STATUS_NOTIFY_ENUM_DIR. */
const MAX_QUEUED = 256;

/** A directory open that has asked for change notifications (its CHANGE_NOTIFY state). */
export class NotifyWatch {
  queue: NotifyChange[] = [];
  overflow = false;
  waiter: (() => void) | undefined;

  constructor(
    readonly dirIno: bigint,
    /** Namespace path of the directory. */
    readonly path: string,
    public recursive: boolean,
    public filter: number,
  ) {}

  take(): { changes: NotifyChange[]; overflow: boolean } {
    const out = { changes: this.queue, overflow: this.overflow };
    this.queue = [];
    this.overflow = false;
    return out;
  }

  get ready(): boolean {
    return this.queue.length > 0 || this.overflow;
  }
}

/**
 * Changes made through this SMB server, delivered to pending CHANGE_NOTIFY requests. (Changes
 * over NFS or S3 reach the namespace without passing here and are not reported.)
 */
export class NotifyHub {
  private readonly watches = new Set<NotifyWatch>();

  add(w: NotifyWatch): void {
    this.watches.add(w);
  }

  remove(w: NotifyWatch): void {
    this.watches.delete(w);
  }

  post(e: ChangeEvent): void {
    if (this.watches.size === 0) return;
    for (const w of this.watches) {
      if ((w.filter & e.filter) === 0) continue;
      let name: string | undefined;
      if (e.dirIno === w.dirIno) name = e.path.slice(e.path.lastIndexOf('/') + 1);
      else if (w.recursive && e.path.startsWith(w.path === '/' ? '/' : `${w.path}/`)) {
        name = e.path.slice(w.path === '/' ? 1 : w.path.length + 1);
      }
      if (name === undefined) continue;
      if (w.queue.length >= MAX_QUEUED) w.overflow = true;
      else w.queue.push({ action: e.action, name: name.replaceAll('/', '\\') });
      const wake = w.waiter;
      w.waiter = undefined;
      wake?.();
    }
  }
}
