import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type RunResult, runCommand } from '../support/proc.ts';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const bin = (name: string): string => join(root, 'node_modules', '.bin', name);

/** Every workspace with its own tsconfig.json; each is checked on its own settings. */
const WORKSPACES = ['apps/gateway', 'packages/api', 'packages/ui', 'apps/web'];

function report(label: string, result: RunResult): string {
  const status = result.signal ? `killed by ${result.signal}` : `exit code ${result.code}`;
  return `── ${label}: ${status}\n${result.output.trim()}`;
}

test('tsc --noEmit passes for every workspace', { timeout: 600_000 }, async () => {
  const results = await Promise.all(
    WORKSPACES.map(async (ws) => ({
      ws,
      result: await runCommand(
        bin('tsc'),
        ['-p', join(ws, 'tsconfig.json'), '--noEmit', '--pretty', 'false'],
        {
          cwd: root,
          timeoutMs: 540_000,
        },
      ),
    })),
  );
  const failed = results.filter(({ result }) => result.code !== 0);
  assert.equal(
    failed.length,
    0,
    `tsc failed in ${failed.map(({ ws }) => ws).join(', ')}:\n\n${failed.map(({ ws, result }) => report(`tsc -p ${ws}`, result)).join('\n\n')}`,
  );
});

test('biome check passes at the repository root', { timeout: 300_000 }, async () => {
  const result = await runCommand(bin('biome'), ['check', '.', '--colors=off', '--max-diagnostics=200'], {
    cwd: root,
    timeoutMs: 240_000,
  });
  assert.equal(result.code, 0, report('biome check .', result));
});
