import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { onExit } from './cleanup.ts';
import { ciMode } from './tools.ts';

/**
 * A small ext4 file system at `dir`, made in an image file beside it and mounted through a loop
 * device — a real disk's file system, which `fsfreeze` can freeze (a tmpfs cannot) — unmounted
 * (thawed first) and removed when the test process ends; undefined when this process may not
 * mount one (not root, no loop device), which CI treats as a failure.
 */
export function mountExt4(dir: string, size: string): string | undefined {
  mkdirSync(dir, { recursive: true });
  const image = `${dir}.img`;
  try {
    execFileSync('truncate', ['-s', size, image], { stdio: 'ignore' });
    execFileSync('mkfs.ext4', ['-q', '-F', image], { stdio: 'ignore' });
    execFileSync('mount', ['-o', 'loop', image, dir], { stdio: 'ignore' });
  } catch (e) {
    rmSync(image, { force: true });
    if (ciMode())
      throw new Error(
        `mounting an ext4 image on a loop device failed (CI runs as root and must be able to): ${e}`,
      );
    return undefined;
  }
  onExit(() => {
    thaw(dir);
    execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
    rmSync(image, { force: true });
  });
  return dir;
}

/** Freezes the file system mounted at `dir`: every write to it waits, as on a hung disk. */
export function freeze(dir: string): void {
  execFileSync('fsfreeze', ['--freeze', dir], { stdio: 'ignore' });
}

/** Lets the writes waiting on a frozen file system go on; nothing when it is not frozen. */
export function thaw(dir: string): void {
  try {
    execFileSync('fsfreeze', ['--unfreeze', dir], { stdio: 'ignore' });
  } catch {
    // Not frozen (EINVAL).
  }
}
