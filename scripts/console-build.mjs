// Whether the console's build (apps/web/.next) is older than what it is built from — used by
// `npm start` (scripts/start.mjs) and the console tests, so a `git pull` or an edit is never
// served from a stale build.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** What the console is built from, relative to the repository root. */
export const CONSOLE_SOURCES = [
  'apps/web/app',
  'apps/web/components',
  'apps/web/lib',
  'apps/web/scripts',
  'apps/web/env.ts',
  'apps/web/next.config.ts',
  'apps/web/postcss.config.mjs',
  'apps/web/tsconfig.json',
  'apps/web/package.json',
  'packages/ui/src',
  'packages/api/src',
  'docs/RUNBOOK.md',
];

export const buildIdPath = (root) => join(root, 'apps/web/.next/BUILD_ID');

/**
 * Why the console needs a build: 'never built', or the first source (relative path) changed
 * since the last one; undefined when the build is current.
 */
export function consoleBuildStale(root) {
  const buildId = buildIdPath(root);
  if (!existsSync(buildId)) return 'never built';
  const since = statSync(buildId).mtimeMs;
  const visit = (path) => {
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) return undefined;
    if (!st.isDirectory()) return st.mtimeMs > since ? path : undefined;
    for (const entry of readdirSync(path)) {
      if (entry === 'node_modules' || entry.startsWith('.')) continue;
      const hit = visit(join(path, entry));
      if (hit) return hit;
    }
    return undefined;
  };
  for (const source of CONSOLE_SOURCES) {
    const hit = visit(join(root, source));
    if (hit) return relative(root, hit);
  }
  return undefined;
}
