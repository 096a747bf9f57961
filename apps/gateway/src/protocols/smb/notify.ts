import type { Logger } from '../../daemon/logger.ts';
import type { EntryChange, InodeChange, Namespace, NamespaceChange } from '../../storage/namespace.ts';
import { DirectoryNames } from './dir-names.ts';
import { DOS_ATTR_XATTR, EA_PREFIX } from './file-meta.ts';
import type { InodeOpens } from './open-files.ts';

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

export interface NotifyChange {
  action: number;
  /** Relative to the watched directory, backslash-separated. */
  name: string;
}

/** Bytes one change takes in a reply: a 4-aligned FILE_NOTIFY_INFORMATION (MS-FSCC §2.7.1). */
export const notifyEntrySize = (name: string): number => (12 + 2 * name.length + 3) & ~3;

/** Changes queued beyond this many become STATUS_NOTIFY_ENUM_DIR (bounded memory per watch). */
const MAX_QUEUED = 4096;
/** Directory levels a WATCH_TREE watcher is looked for above a change. */
const MAX_DEPTH = 128;

/**
 * A directory open's change notification state (MS-FSA §2.1.5.11 ChangeNotifyEntry). The
 * first CHANGE_NOTIFY on the handle fixes the filter, WATCH_TREE and the buffer size; changes
 * are queued from then on, between requests too. Identical consecutive changes are one (as
 * Windows and Samba report them); more than the first request's buffer holds is an overflow,
 * answered STATUS_NOTIFY_ENUM_DIR.
 */
export class NotifyWatch {
  queue: NotifyChange[] = [];
  overflow = false;
  waiter: (() => void) | undefined;
  /** Set when the watch can report no more (its directory is being deleted): every request gets it. */
  ended: number | undefined;
  private queuedBytes = 0;
  /** Changes from feed batches up to this sequence number predate the watch. */
  since = 0;

  constructor(
    readonly dirIno: bigint,
    readonly recursive: boolean,
    readonly filter: number,
    readonly maxBuffer: number,
  ) {}

  /** Queues a change; the pending request is woken by `wake()`, once a whole batch is queued. */
  push(c: NotifyChange): void {
    const last = this.queue.at(-1);
    if (this.overflow || (last && last.action === c.action && last.name === c.name)) return;
    const size = notifyEntrySize(c.name);
    if (this.queuedBytes + size > this.maxBuffer || this.queue.length >= MAX_QUEUED) {
      this.overflow = true;
      this.queue = [];
      this.queuedBytes = 0;
    } else {
      this.queue.push(c);
      this.queuedBytes += size;
    }
  }

  wake(): void {
    const wake = this.waiter;
    this.waiter = undefined;
    wake?.();
  }

  end(status: number): void {
    this.ended = status;
    this.wake();
  }

  take(): { changes: NotifyChange[]; overflow: boolean } {
    const out = { changes: this.queue, overflow: this.overflow };
    this.queue = [];
    this.queuedBytes = 0;
    this.overflow = false;
    return out;
  }

  get ready(): boolean {
    return this.queue.length > 0 || this.overflow || this.ended !== undefined;
  }
}

/** One batch on its way: its feed sequence number, and the watches it queued changes on. */
interface Delivery {
  seq: number;
  touched: Set<NotifyWatch>;
}

const nameFilter = (type: string) => (type === 'dir' ? NOTIFY_FILTER.DIR_NAME : NOTIFY_FILTER.FILE_NAME);

/** CompletionFilter bits a change made through an inode matches. */
export function inodeFilter(c: InodeChange): number {
  let f = 0;
  for (const what of c.changed) {
    if (what === 'data' || what === 'size') f |= NOTIFY_FILTER.SIZE | NOTIFY_FILTER.LAST_WRITE;
    else if (what === 'mtime') f |= NOTIFY_FILTER.LAST_WRITE;
    else if (what === 'atime') f |= NOTIFY_FILTER.LAST_ACCESS;
    else if (what === 'btime') f |= NOTIFY_FILTER.CREATION;
    else if (what === 'mode') f |= NOTIFY_FILTER.ATTRIBUTES | NOTIFY_FILTER.SECURITY;
    else if (what === 'owner') f |= NOTIFY_FILTER.SECURITY;
    else if (what === 'xattrs') {
      for (const x of c.xattrs ?? []) {
        if (x === DOS_ATTR_XATTR) f |= NOTIFY_FILTER.ATTRIBUTES;
        else if (x.startsWith(EA_PREFIX) || !x.startsWith('smb.')) f |= NOTIFY_FILTER.EA;
      }
    }
  }
  return f;
}

/**
 * CHANGE_NOTIFY over the namespace's change feed: every change, made over SMB, NFS or S3,
 * reaches the watches it concerns, once. Batches are delivered in feed order by one loop
 * (`settled()` waits for it), since naming a change made through a handle may read a
 * directory (dir-names.ts). The hub listens to the feed only while a watch exists, so with no
 * SMB client watching, the namespace's mutations (NFS and S3 writes) tell nobody and pay
 * nothing for it.
 */
export class NotifyHub {
  private readonly watches = new Set<NotifyWatch>();
  private readonly quiet = new Map<bigint, number>();
  private readonly names: DirectoryNames;
  private backlog: Array<{ seq: number; batch: readonly NamespaceChange[] }> = [];
  private draining: Promise<void> | undefined;
  private seq = 0;

  private unlisten: (() => void) | undefined;

  constructor(
    private readonly ns: Namespace,
    private readonly inodes: InodeOpens,
    private readonly log: Logger,
  ) {
    this.names = new DirectoryNames(ns);
  }

  /** The change feed's listener. */
  readonly onChanges = (batch: readonly NamespaceChange[]): void => {
    this.seq++;
    if (this.watches.size === 0) return;
    const kept =
      this.quiet.size === 0 ? batch : batch.filter((c) => c.kind === 'entry' || !this.quiet.has(c.ino));
    if (kept.length === 0) return;
    this.backlog.push({ seq: this.seq, batch: kept });
    if (!this.draining) this.draining = this.drain().finally(() => (this.draining = undefined));
  };

  add(w: NotifyWatch): void {
    w.since = this.seq;
    this.watches.add(w);
    this.unlisten ??= this.ns.changes.listen(this.onChanges);
  }

  remove(w: NotifyWatch): void {
    this.watches.delete(w);
    if (this.watches.size === 0) this.close();
  }

  /** Stops listening to the feed (the last watch went, or the server stops). */
  close(): void {
    this.unlisten?.();
    this.unlisten = undefined;
    this.names.clear();
  }

  /** Whether changes told are still on their way to the watches. */
  get delivering(): boolean {
    return this.draining !== undefined;
  }

  /** Resolves once every change told so far has reached its watches. */
  async settled(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /**
   * Runs `fn` with changes made through `ino` unreported: what a CREATE sets on the file it
   * makes (attributes, EAs) is part of its creation, not a modification.
   */
  async quietly<T>(ino: bigint, fn: () => Promise<T>): Promise<T> {
    this.quiet.set(ino, (this.quiet.get(ino) ?? 0) + 1);
    try {
      return await fn();
    } finally {
      const n = (this.quiet.get(ino) ?? 1) - 1;
      if (n === 0) this.quiet.delete(ino);
      else this.quiet.set(ino, n);
    }
  }

  private async drain(): Promise<void> {
    for (let next = this.backlog.shift(); next; next = this.backlog.shift()) {
      try {
        await this.deliver(next.seq, next.batch);
      } catch (e) {
        this.log.error({ err: e }, 'SMB change notification failed');
      }
    }
  }

  /** One mutation's changes reach their watches together (a rename's two names in one reply). */
  private async deliver(seq: number, batch: readonly NamespaceChange[]): Promise<void> {
    const d: Delivery = { seq, touched: new Set() };
    try {
      await this.deliverEach(d, batch);
    } finally {
      for (const w of d.touched) w.wake();
    }
  }

  private async deliverEach(d: Delivery, batch: readonly NamespaceChange[]): Promise<void> {
    for (let i = 0; i < batch.length; i++) {
      const c = batch[i]!;
      if (c.kind === 'inode') {
        const filter = inodeFilter(c);
        if (filter === 0) continue;
        for (const [dir, name] of await this.entriesOf(c)) {
          await this.post(d, dir, name, NOTIFY_ACTION.MODIFIED, filter);
        }
        continue;
      }
      this.names.apply(c);
      const to = batch[i + 1];
      if (c.action === 'renamed-from' && to?.kind === 'entry' && to.action === 'renamed-to') {
        i++;
        this.names.apply(to);
        await this.rename(d, c, to);
        continue;
      }
      const action =
        c.action === 'added' || c.action === 'renamed-to'
          ? NOTIFY_ACTION.ADDED
          : c.action === 'modified'
            ? NOTIFY_ACTION.MODIFIED
            : NOTIFY_ACTION.REMOVED;
      const filter =
        c.action === 'modified' ? NOTIFY_FILTER.SIZE | NOTIFY_FILTER.LAST_WRITE : nameFilter(c.type);
      await this.post(d, c.dir, c.name, action, filter);
    }
  }

  /**
   * Within a directory a rename is OLD_NAME then NEW_NAME; across directories, REMOVED then
   * ADDED. A file renamed is also reported modified (attributes, creation) at its new name, as
   * Windows does (and Samba after it); a directory is not.
   */
  private async rename(d: Delivery, from: EntryChange, to: EntryChange): Promise<void> {
    const filter = nameFilter(from.type);
    const same = from.dir === to.dir;
    await this.post(
      d,
      from.dir,
      from.name,
      same ? NOTIFY_ACTION.RENAMED_OLD_NAME : NOTIFY_ACTION.REMOVED,
      filter,
    );
    await this.post(d, to.dir, to.name, same ? NOTIFY_ACTION.RENAMED_NEW_NAME : NOTIFY_ACTION.ADDED, filter);
    if (from.type !== 'dir') {
      const modified = NOTIFY_FILTER.ATTRIBUTES | NOTIFY_FILTER.CREATION;
      await this.post(d, to.dir, to.name, NOTIFY_ACTION.MODIFIED, modified);
    }
  }

  /**
   * The entries (directory, name) a change made through an inode is reported under: the
   * names SMB opens of it have, else its names in each watched directory (and, for a
   * directory, its name in its parent).
   */
  private async entriesOf(c: InodeChange): Promise<Array<[bigint, string]>> {
    const out = new Map<string, [bigint, string]>();
    const note = (dir: bigint, name: string) => out.set(`${dir}/${name}`, [dir, name]);
    for (const o of this.inodes.opensOf(c.ino)) if (o.parentIno !== 0n) note(o.parentIno, o.name);
    if (out.size > 0) return [...out.values()];
    const dirs = new Set([...this.watches].map((w) => w.dirIno));
    if (c.type === 'dir') {
      const parent = await this.parentOf(c.ino);
      if (parent !== undefined) dirs.add(parent);
    }
    for (const dir of dirs) for (const name of await this.names.namesIn(dir, c.ino)) note(dir, name);
    return [...out.values()];
  }

  private async post(d: Delivery, dir: bigint, name: string, action: number, filter: number): Promise<void> {
    let chain: bigint[] | undefined;
    for (const w of [...this.watches]) {
      if ((w.filter & filter) === 0 || d.seq <= w.since) continue;
      if (w.dirIno === dir) {
        w.push({ action, name });
        d.touched.add(w);
        continue;
      }
      if (!w.recursive) continue;
      chain ??= await this.ancestors(dir);
      const at = chain.indexOf(w.dirIno);
      if (at < 0) continue;
      const path = await this.pathBelow(chain.slice(0, at + 1));
      if (path === undefined) continue;
      w.push({ action, name: `${path}\\${name}` });
      d.touched.add(w);
    }
  }

  /** `dir` and the directories above it, up to the root (bounded). */
  private async ancestors(dir: bigint): Promise<bigint[]> {
    const chain = [dir];
    for (let at = dir; chain.length < MAX_DEPTH; ) {
      const up = await this.parentOf(at);
      if (up === undefined || up === at) break;
      chain.push(up);
      at = up;
    }
    return chain;
  }

  private async parentOf(dir: bigint): Promise<bigint | undefined> {
    try {
      const a = await this.ns.getattr(dir);
      return a.type === 'dir' ? a.parent : undefined;
    } catch {
      return undefined;
    }
  }

  /** The path of chain[0] below the last directory of the chain ("a\\b"), if every name is known. */
  private async pathBelow(chain: bigint[]): Promise<string | undefined> {
    const parts: string[] = [];
    for (let i = 0; i < chain.length - 1; i++) {
      const [name] = await this.names.namesIn(chain[i + 1]!, chain[i]!);
      if (name === undefined) return undefined;
      parts.push(name);
    }
    return parts.reverse().join('\\');
  }
}
