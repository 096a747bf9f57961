import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * `mkdir -p`, one component at a time: what exists is left as it is, and the first component
 * that cannot be made is an error naming it. (Node's recursive mkdirSync loops for ever on
 * some paths — under /proc, `mkdir` answers ENOENT and its parent EEXIST — with the event loop
 * held, so not even SIGTERM ends the process.)
 */
export function makeDirs(path: string, mode = 0o777): void {
  const missing: string[] = [];
  for (let p = path; ; p = dirname(p)) {
    try {
      mkdirSync(p, { mode });
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') break;
      if (code !== 'ENOENT' || dirname(p) === p || missing.length > 256) throw e;
      missing.push(p);
    }
  }
  for (const p of missing.reverse()) {
    try {
      mkdirSync(p, { mode });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}
