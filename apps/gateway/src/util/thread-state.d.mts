/** Types for thread-state.mjs (plain JavaScript: the loop watchdog's worker thread imports it). */

export interface MountInfo {
  mountPoint: string;
  type: string;
  source: string;
}

export interface ThreadState {
  /** proc(5)'s state letter: R, S, D, T, … */
  state: string;
  stateName: string;
  /** User and system CPU time, in clock ticks (100 a second). */
  cpuTicks: number;
  /** Blocked in a system call (false when running, or in a page fault). */
  inSyscall: boolean;
  syscall?: string;
  file?: string;
  mount?: MountInfo;
}

export function readThread(pid: number, tid?: number): ThreadState | undefined;
export function parseStat(text: string): ThreadState | undefined;
export function parseSyscall(
  line: string,
  arch: string,
): { number: number; name?: string; args: bigint[] } | undefined;
export function mountOf(pid: number, path: string): MountInfo | undefined;
export function longestMount(text: string, path: string): MountInfo | undefined;
export function describeThread(t: ThreadState): string;
