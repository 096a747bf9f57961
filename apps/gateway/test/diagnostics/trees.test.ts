import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
// The api package's entry point exports the router, not this table: read the source it is in.
import {
  DIAGNOSTIC_TREE_IDS,
  REMEDIATION_ACTIONS,
  REMEDIATION_ROLES,
} from '../../../../packages/api/src/types/diagnostics.ts';
import { definitionOf, treeProblems } from '../../src/ops/diagnostics/engine.ts';
import { redactedConfig } from '../../src/ops/diagnostics/service.ts';
import { TREE_IDS, TREES } from '../../src/ops/diagnostics/trees/index.ts';

const RUNBOOK = fileURLToPath(new URL('../../../../docs/RUNBOOK.md', import.meta.url));

/** Every heading path of the runbook (`A › B › C`), outside code blocks. */
function headingPaths(markdown: string): Set<string> {
  const paths = new Set<string>();
  const stack: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    if (fenced) continue;
    const m = /^(#{2,6})\s+(.*?)\s*$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length - 2;
    stack.length = depth;
    stack[depth] = m[2]!;
    paths.add(stack.join(' › '));
  }
  return paths;
}

describe('the troubleshooting trees as data', () => {
  test('1 one tree per runbook tree, with the ids the API names', () => {
    // The trees themselves, in the order the API (and so the CLI and the console) lists them.
    assert.deepEqual(Object.keys(TREES), [...DIAGNOSTIC_TREE_IDS]);
    for (const id of TREE_IDS) assert.equal(TREES[id].id, id);
  });

  test('2 every branch names a step, the start exists, every step is reachable', () => {
    for (const id of TREE_IDS) assert.deepEqual(treeProblems(TREES[id]), [], id);
  });

  test("3 every tree and step cites a heading of the project's runbook (docs/RUNBOOK.md)", () => {
    const headings = headingPaths(readFileSync(RUNBOOK, 'utf8'));
    for (const id of TREE_IDS) {
      const t = definitionOf(TREES[id]);
      assert.ok(headings.has(t.runbook.section), `${id}: no heading '${t.runbook.section}'`);
      for (const s of t.steps)
        assert.ok(headings.has(s.runbook.section), `${id}.${s.id}: no heading '${s.runbook.section}'`);
    }
  });

  test('4 definitions carry no functions (the console gets them as JSON), and manual steps carry commands', () => {
    for (const id of TREE_IDS) {
      const t = definitionOf(TREES[id]);
      assert.deepEqual(JSON.parse(JSON.stringify(t)), t, id);
      for (const s of t.steps.filter((x) => x.kind === 'manual')) {
        assert.ok(
          s.commands && s.commands.runbook.length + s.commands.product.length > 0,
          `${id}.${s.id} has no commands`,
        );
      }
    }
  });

  test('5 who may run each remediation (one table for the router and the admin API): quotas and groups need an admin', () => {
    assert.deepEqual(
      Object.entries(REMEDIATION_ROLES)
        .filter(([, role]) => role === 'admin')
        .map(([action]) => action)
        .sort(),
      ['group.add-member', 'quota.set'],
    );
    for (const action of [
      'drain',
      'undrain',
      'cache.invalidate',
      'circuit.reset',
      'log-level.set',
    ] as const) {
      assert.equal(REMEDIATION_ROLES[action], 'operator', action);
    }
    assert.deepEqual(Object.keys(REMEDIATION_ROLES).sort(), [...REMEDIATION_ACTIONS].sort());
  });

  test('6 a bundle’s config hides URL passwords and secret-named fields', () => {
    const r = redactedConfig({
      metadata: { url: 'postgres://gw:hunter2@db/claudefs' },
      s3: { tls: { cert: '/etc/c.pem', key: '/etc/k.pem' } },
      admin: { token: 'abc', nested: { password: 'p' } },
    }) as Record<string, Record<string, unknown>>;
    const text = JSON.stringify(r);
    assert.doesNotMatch(text, /hunter2|"abc"|"p"/);
    assert.match(text, /postgres:\/\/gw:\*\*\*@db\/claudefs/);
    assert.match(text, /\/etc\/k\.pem/, 'file paths are not secrets');
  });
});
