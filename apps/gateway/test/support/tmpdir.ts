import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onExit } from './cleanup.ts';

/** True when KEEP_TEST_OUTPUT asks to keep temp folders for inspection. */
export function keepTestOutput(): boolean {
  const v = process.env.KEEP_TEST_OUTPUT;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/**
 * A fresh folder `<TMPDIR>/cfs-<prefix>-XXXXXX`, removed when the test process exits unless
 * KEEP_TEST_OUTPUT is set (then its path is printed to stderr at exit).
 */
export function makeTempDir(prefix = 'test'): string {
  const safe = prefix.replace(/[^A-Za-z0-9._-]+/g, '-');
  const dir = mkdtempSync(join(tmpdir(), `cfs-${safe}-`));
  onExit(() => {
    if (keepTestOutput()) {
      process.stderr.write(`kept test output: ${dir}\n`);
      return;
    }
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  });
  return dir;
}
