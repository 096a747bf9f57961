interface LockState {
  shared: number;
  exclusive: boolean;
  waiting: Array<{ exclusive: boolean; grant: () => void }>;
}

/**
 * A readers–writer lock per blob, for what a blob's stored chunks go through: uploads share
 * it (different chunks of a blob upload in parallel), a cut or a removal holds it alone (so
 * no upload lands after it deleted the chunk). Waiters are served in order, so a queued cut is
 * not starved by a stream of uploads. The namespace keys one by inode for writes and size
 * changes (Namespace sizeLocks). A holder must not ask for the same key again: behind a
 * queued exclusive waiter, a second shared request waits for ever.
 */
export class BlobLocks {
  private readonly states = new Map<bigint, LockState>();

  shared(blob: bigint): Promise<() => void> {
    return this.acquire(blob, false);
  }

  exclusive(blob: bigint): Promise<() => void> {
    return this.acquire(blob, true);
  }

  private async acquire(blob: bigint, exclusive: boolean): Promise<() => void> {
    const state = this.states.get(blob) ?? this.fresh(blob);
    if (state.waiting.length === 0 && grantable(state, exclusive)) take(state, exclusive);
    else await new Promise<void>((grant) => state.waiting.push({ exclusive, grant }));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (exclusive) state.exclusive = false;
      else state.shared--;
      this.pump(blob, state);
    };
  }

  private fresh(blob: bigint): LockState {
    const state: LockState = { shared: 0, exclusive: false, waiting: [] };
    this.states.set(blob, state);
    return state;
  }

  private pump(blob: bigint, s: LockState): void {
    for (let next = s.waiting[0]; next && grantable(s, next.exclusive); next = s.waiting[0]) {
      s.waiting.shift();
      take(s, next.exclusive);
      next.grant();
    }
    if (s.shared === 0 && !s.exclusive && s.waiting.length === 0) this.states.delete(blob);
  }
}

function grantable(s: LockState, exclusive: boolean): boolean {
  return !s.exclusive && (!exclusive || s.shared === 0);
}

function take(s: LockState, exclusive: boolean): void {
  if (exclusive) s.exclusive = true;
  else s.shared++;
}
