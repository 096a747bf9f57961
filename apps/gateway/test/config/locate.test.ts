import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { describe, test } from 'node:test';
import { locateConfig } from '../../src/config/locate.ts';
import { ConfigError } from '../../src/config/problems.ts';
import { writeConfig } from './fixtures/config-file.ts';

describe('which configuration file is used', () => {
  const fromFlag = writeConfig(['# from --config']);
  const fromEnv = writeConfig(['# from $CFS_CONFIG']);

  test('row 1: --config wins over $CFS_CONFIG', () => {
    assert.equal(locateConfig(fromFlag, { CFS_CONFIG: fromEnv }), fromFlag);
  });

  test('row 2: $CFS_CONFIG is used when --config is not given', () => {
    assert.equal(locateConfig(undefined, { CFS_CONFIG: fromEnv }), fromEnv);
  });

  test('row 3: a relative --config comes back absolute', () => {
    const written = relative(process.cwd(), fromFlag);
    assert.ok(!isAbsolute(written));
    assert.equal(locateConfig(written, {}), fromFlag);
  });

  test('row 4: a --config that does not exist is an error, even with $CFS_CONFIG set', () => {
    assert.throws(
      () => locateConfig('/nonexistent/gateway.yaml', { CFS_CONFIG: fromEnv }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message === 'configuration file /nonexistent/gateway.yaml (from --config) does not exist',
    );
  });

  test('row 5: a $CFS_CONFIG that does not exist is an error', () => {
    assert.throws(
      () => locateConfig(undefined, { CFS_CONFIG: '/nonexistent/env.yaml' }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message === 'configuration file /nonexistent/env.yaml (from $CFS_CONFIG) does not exist',
    );
  });

  test('row 6: with nothing given and no /etc/claudefs/gateway.yaml, the message names all three places', {
    skip: existsSync('/etc/claudefs/gateway.yaml') && 'this host has /etc/claudefs/gateway.yaml',
  }, () => {
    assert.throws(
      () => locateConfig(undefined, {}),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message ===
          'no configuration file: --config was not given, $CFS_CONFIG is not set, and /etc/claudefs/gateway.yaml does not exist',
    );
  });
});
