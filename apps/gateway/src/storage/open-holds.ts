/**
 * What one gateway process's SMB clients hold of a file, for the other nodes on one PostgreSQL
 * to respect (postgres/cluster-opens.ts): their caching (lease bits: read 1, handle 2, write 4,
 * or'ed) and, for share modes, how many of their opens with data access read, write or delete
 * it, and how many of those do not share reading, writing or deleting with others; and whether
 * a delete is pending there (1: the file goes when their last open closes; opens meet
 * STATUS_DELETE_PENDING meanwhile).
 */
export interface OpenHolds {
  caching: number;
  readers: number;
  writers: number;
  deleters: number;
  noRead: number;
  noWrite: number;
  noDelete: number;
  deletePending: number;
}

export const NO_HOLDS: Readonly<OpenHolds> = Object.freeze({
  caching: 0,
  readers: 0,
  writers: 0,
  deleters: 0,
  noRead: 0,
  noWrite: 0,
  noDelete: 0,
  deletePending: 0,
});

const COUNTS = ['readers', 'writers', 'deleters', 'noRead', 'noWrite', 'noDelete', 'deletePending'] as const;

/** Several processes' holds as one: caching or'ed, counts added. */
export function sumHolds(list: Iterable<OpenHolds>): OpenHolds {
  const sum = { ...NO_HOLDS };
  for (const h of list) {
    sum.caching |= h.caching;
    for (const k of COUNTS) sum[k] += h[k];
  }
  return sum;
}

export function sameHolds(a: OpenHolds, b: OpenHolds): boolean {
  return a.caching === b.caching && COUNTS.every((k) => a[k] === b[k]);
}

export function isEmptyHolds(h: OpenHolds): boolean {
  return sameHolds(h, NO_HOLDS);
}

/**
 * SMB opens kept coherent across gateway nodes on one PostgreSQL: a node decides an open's
 * share modes and caching only after recording it where the others see it, and tells them
 * when what its clients hold of a file changed.
 */
export interface OpenHoldsCluster {
  /**
   * Runs `decide` with what the other nodes' clients hold of the file, and records what this
   * node's clients hold of it after the decision before the next node decides (unless `decide`
   * throws: then nothing is recorded and the error is passed on). Rejects when that cannot be
   * recorded.
   */
  claim<T>(ino: bigint, decide: (others: OpenHolds) => T): Promise<T>;
  /** What this node's clients hold of the file changed (recorded in the background). */
  changed(ino: bigint): void;
  /**
   * Asks the other nodes holding the file to record what their clients hold of it now (what
   * they gave up may not be recorded yet), and resolves once they answered.
   */
  settle(ino: bigint): Promise<void>;
  /**
   * Set by the namespace: called whenever the other nodes' clients are loaded holding nothing
   * of a file (a file this node left nameless for them may go).
   */
  releasedElsewhere?: (ino: bigint) => void;
  /** Loads what the other nodes' clients hold of the file from the shared table, now. */
  refresh(ino: bigint): Promise<void>;
  /** What the other nodes' clients hold of the file, summed, as last loaded. */
  heldElsewhere(ino: bigint): OpenHolds;
  /** What the other nodes' clients hold, file by file, as last loaded (`./cfs smb status`). */
  elsewhere(): Array<{ node: string; ino: bigint; holds: OpenHolds }>;
  /** Set by the SMB server: what this node's clients hold of a file now. */
  localHolds: (ino: bigint) => OpenHolds;
  /** Recalls asked of other nodes, answered, and not answered in time (for the metrics). */
  readonly stats: { readonly asked: number; readonly answered: number; readonly unanswered: number };
}
