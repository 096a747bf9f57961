import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Readies the page cache for a timed write of `bytes`, the same way for every side: flushes
 * what is dirty (`sync`), then writes a scratch file of that size into `dir` and deletes it.
 *
 * Why: on this VM, memory the page cache has not used for a while is handed back to the host,
 * and the next write pays for getting it back: 1 GiB of buffered writes took 1.8–2.4 s after
 * 40 s idle and 0.19–0.26 s right after another 1 GiB was written and deleted (8 MiB `pwrite`
 * 20 ms against 1.5 ms; Python, measured side by side). Without this, whichever server wrote
 * first in a round paid that for both, and the rounds' order decided the ratio.
 */
export function warmWriteMemory(dir: string, bytes: number): void {
  // The flush first: it can take a second or more (the previous put's bytes, when that server
  // left them in the page cache), and memory freed that long before the timed write has
  // already gone back to the host. The scratch file's own dirty pages are dropped, unwritten,
  // with the file.
  spawnSync('sync');
  const scratch = join(dir, '.page-cache-warm');
  const count = Math.max(1, Math.ceil(bytes / (8 << 20)));
  const dd = spawnSync('dd', ['if=/dev/zero', `of=${scratch}`, 'bs=8M', `count=${count}`], {
    encoding: 'utf8',
  });
  rmSync(scratch, { force: true });
  if (dd.status !== 0) throw new Error(`dd could not write ${scratch}: ${dd.stderr}`);
}
