import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_ID, nameProblem, parseGroups, parseId, passwordProblem } from '../lib/accounts.ts';

test('user and group names follow useradd', () => {
  assert.equal(nameProblem('user', 'alice'), undefined);
  assert.equal(nameProblem('group', '_svc.backup-1'), undefined);
  assert.match(nameProblem('user', 'Alice') ?? '', /^user name: lowercase/);
  assert.match(nameProblem('group', '1eng') ?? '', /^group name/);
  assert.match(nameProblem('user', 'a'.repeat(33)) ?? '', /at most 32/);
  assert.match(nameProblem('user', '') ?? '', /user name/);
});

test('an id is optional, whole and within the control plane range', () => {
  assert.deepEqual(parseId('uid', ''), {});
  assert.deepEqual(parseId('uid', ' 2001 '), { value: 2001 });
  assert.deepEqual(parseId('gid', '0'), { value: 0 });
  assert.deepEqual(parseId('uid', String(MAX_ID)), { value: MAX_ID });
  assert.match(parseId('uid', String(MAX_ID + 1)).problem ?? '', /at most 2147483646/);
  for (const bad of ['-1', '1.5', '12a', '1e3'])
    assert.match(parseId('uid', bad).problem ?? '', /whole number/, bad);
});

test('supplementary groups: commas or spaces, duplicates dropped, each a name', () => {
  assert.deepEqual(parseGroups(''), { groups: [] });
  assert.deepEqual(parseGroups('eng, ops  eng,'), { groups: ['eng', 'ops'] });
  assert.match(parseGroups('eng, Ops').problem ?? '', /'Ops' is not a group name/);
  assert.match(parseGroups(Array.from({ length: 65 }, (_, i) => `g${i}`).join(',')).problem ?? '', /64/);
});

test('an empty name asks for one; a short password says how short', () => {
  assert.equal(nameProblem('user', ''), 'user name: required');
  assert.equal(passwordProblem(''), undefined, 'whether a password is needed is the form’s call');
  assert.equal(passwordProblem('abc1234'), 'at least 8 characters (this one has 7)');
  assert.equal(passwordProblem('abcd1234'), undefined);
});
