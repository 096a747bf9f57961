import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DiagnosticInputDef, DiagnosticTreeDef, DiagnosticTreeId } from '@claudefs/api';
import {
  diagnoseHref,
  EMPTY_INPUTS,
  type InputDraft,
  inputProblems,
  runRequest,
  shouldRunOnArrival,
} from '../lib/diagnostics.ts';

/** The inputs each tree declares, as the gateway's diagnostics.list gives them. */
function tree(
  id: DiagnosticTreeId,
  inputs: Array<[DiagnosticInputDef['name'], boolean]>,
  inputRule?: string,
) {
  const def: DiagnosticTreeDef = {
    id,
    title: id,
    runbook: { section: 'Troubleshooting Common Issues' },
    summary: '',
    inputs: inputs.map(([name, required]) => ({ name, required, help: '' })),
    start: 'a',
    steps: [],
  };
  if (inputRule) def.inputRule = inputRule;
  return def;
}

const QUOTA = tree(
  'quota',
  [
    ['uid', false],
    ['gid', false],
  ],
  'give --uid or --gid (or both)',
);
const ACCESS = tree('access', [
  ['path', true],
  ['uid', false],
  ['gid', false],
  ['user', false],
]);
const SMB = tree('smb-access', [
  ['user', true],
  ['path', false],
]);
const LATENCY = tree('latency', []);

const draft = (d: Partial<InputDraft>): InputDraft => ({ ...EMPTY_INPUTS, ...d });

describe('the wizard form refuses what the gateway would, before sending', () => {
  const rows: Array<[n: number, def: DiagnosticTreeDef, given: Partial<InputDraft>, problems: object]> = [
    [1, QUOTA, { uid: '1000' }, {}],
    [2, QUOTA, { gid: ' 1500 ' }, {}],
    [3, QUOTA, {}, { form: 'Give uid or gid (give --uid or --gid (or both)).' }],
    [4, QUOTA, { uid: 'alice' }, { uid: 'uid must be a whole number from 0 to 2147483646' }],
    [5, QUOTA, { uid: '2147483647' }, { uid: 'uid must be a whole number from 0 to 2147483646' }],
    [6, QUOTA, { uid: '-1' }, { uid: 'uid must be a whole number from 0 to 2147483646' }],
    [7, ACCESS, { path: '/export/a', uid: '1000' }, {}],
    [8, ACCESS, { path: '/export/a', user: 'alice' }, {}],
    [9, ACCESS, { uid: '1000' }, { path: 'Path is required' }],
    [
      10,
      ACCESS,
      { path: 'export/a', uid: '1' },
      { path: 'an absolute namespace path, starting with / (/export/…)' },
    ],
    [11, ACCESS, { path: '/export/a', gid: '10' }, { form: 'Give uid or User.' }],
    [12, SMB, {}, { user: 'User is required' }],
    [13, SMB, { user: 'bob', path: 'projects' }, {}],
    [14, SMB, { user: 'x'.repeat(129) }, { user: 'a user name or access key id is at most 128 characters' }],
    [15, LATENCY, { uid: 'ignored: latency takes no uid' }, {}],
  ];
  for (const [n, def, given, problems] of rows) {
    test(`${n} ${def.id} ${JSON.stringify(given)}`, () => {
      assert.deepEqual(inputProblems(def, draft(given)), problems);
    });
  }
});

describe('what a run sends and when a link runs one', () => {
  test('1 only the inputs the tree takes, numbers as numbers, blanks left out', () => {
    assert.deepEqual(runRequest(QUOTA, draft({ uid: ' 1000 ', path: '/ignored' })), {
      tree: 'quota',
      uid: 1000,
    });
    assert.deepEqual(runRequest(ACCESS, draft({ path: '/export/a', uid: '0', user: '' })), {
      tree: 'access',
      path: '/export/a',
      uid: 0,
    });
    assert.deepEqual(runRequest(LATENCY, draft({ uid: '5' })), { tree: 'latency' });
  });

  test('2 links: inputs and run=1 in the address', () => {
    assert.equal(diagnoseHref('quota', { uid: '1000' }), '/diagnostics?tree=quota&uid=1000');
    assert.equal(diagnoseHref('latency', {}, { run: true }), '/diagnostics?tree=latency&run=1');
    assert.equal(
      diagnoseHref('access', { path: '/export/a b', user: 'bob' }),
      '/diagnostics?tree=access&path=%2Fexport%2Fa+b&user=bob',
    );
  });

  const arrivals: Array<[n: number, def: DiagnosticTreeDef, query: string, runs: boolean]> = [
    [1, QUOTA, 'tree=quota&uid=1000', true],
    [2, QUOTA, 'tree=quota', false],
    [3, QUOTA, 'tree=quota&uid=abc', false],
    [4, LATENCY, 'tree=latency', false],
    [5, LATENCY, 'tree=latency&run=1', true],
    [6, ACCESS, 'tree=access&uid=1000', false],
    [7, ACCESS, 'tree=access&path=/export/a&uid=1000', true],
  ];
  for (const [n, def, query, runs] of arrivals) {
    test(`3.${n} ${query} ${runs ? 'runs' : 'only opens the form'}`, () => {
      assert.equal(shouldRunOnArrival(def, new URLSearchParams(query)), runs);
    });
  }
});
