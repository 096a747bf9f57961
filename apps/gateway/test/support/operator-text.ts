import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository's root (where `git ls-files` names files from). */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** What operators read besides the daemon's own words: the docs, the config, the console. */
const OPERATOR_TEXT = [
  'README.md',
  'docs/',
  'config/',
  'apps/web/app/',
  'apps/web/lib/',
  'apps/web/components/',
  'packages/api/src/',
  'packages/ui/src/',
];

/**
 * The tracked text files (Markdown, YAML, TypeScript, JavaScript) of what operators read, and of
 * `more` places in the repository, generated code left out. Paths are relative to REPO_ROOT.
 */
export function operatorFiles(more: readonly string[] = []): string[] {
  const listed = execFileSync('git', ['ls-files', '--', ...OPERATOR_TEXT, ...more], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  return listed
    .split('\n')
    .filter((f) => /\.(md|ts|tsx|mjs|yaml|yml)$/.test(f) && !f.startsWith('apps/gateway/src/generated/'));
}
