import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { onExit } from './cleanup.ts';
import { ciMode } from './tools.ts';

/**
 * A small tmpfs at `dir` (real ENOSPC on a full file system), unmounted when the test process
 * ends; undefined when this process may not mount (not root), which CI treats as a failure.
 */
export function mountTmpfs(dir: string, size: string): string | undefined {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    if (ciMode()) throw new Error('mounting a tmpfs failed (CI runs as root and must be able to)');
    return undefined;
  }
  onExit(() => execFileSync('umount', ['-l', dir], { stdio: 'ignore' }));
  return dir;
}
