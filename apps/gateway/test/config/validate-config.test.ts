import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { registerValidateConfig } from '../../src/cli/commands/validate-config.ts';
import { freePort } from '../support/ports.ts';
import { writeConfig } from './fixtures/config-file.ts';

const EXAMPLE = fileURLToPath(new URL('../../../../config/gateway.example.yaml', import.meta.url));

interface Run {
  exitCode: number | undefined;
  out: string[];
  err: string[];
}

/** `cfs gateway validate-config …` as the CLI main wires it, with output captured. */
async function run(...args: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const program = new Command('cfs').exitOverride();
  const gateway = program.command('gateway');
  registerValidateConfig(gateway, { out: (line) => out.push(line), err: (line) => err.push(line) });
  process.exitCode = undefined;
  await program.parseAsync(['gateway', 'validate-config', ...args], { from: 'user' });
  const exitCode = process.exitCode;
  process.exitCode = undefined;
  return { exitCode, out, err };
}

describe('cfs gateway validate-config', () => {
  afterEach(() => {
    process.exitCode = undefined;
  });

  test('row 1: the example file: exit 0, "configuration valid"', async () => {
    const result = await run('--config', EXAMPLE, '--no-port-check');
    assert.deepEqual(result, { exitCode: 0, out: ['configuration valid'], err: [] });
  });

  test('row 2: a broken file: exit 1, every problem on its own FILE:LINE:COL line', async () => {
    const file = writeConfig(['nfs:', '  bnd: 0.0.0.0:2049', 'log_level: loud']);
    const result = await run('--config', file, '--no-port-check');
    assert.equal(result.exitCode, 1);
    assert.deepEqual(result.out, [
      `${file}:2:3 nfs.bnd: unknown key 'bnd' (did you mean 'bind'?)`,
      `${file}:3:12 log_level: must be one of debug, info, warn, error; got 'loud'`,
      'configuration invalid: 2 errors',
    ]);
  });

  test('row 3: a busy port: exit 0 with the warning printed before "configuration valid"', async () => {
    const port = await freePort();
    const held: Server = createServer();
    await new Promise<void>((resolve) => held.listen({ port, host: '127.0.0.1' }, resolve));
    try {
      const free = await freePort();
      const file = writeConfig([
        'nfs: { enabled: false }',
        'smb: { enabled: false }',
        `s3: { bind: "127.0.0.1:${port}" }`,
        `health: { bind: "127.0.0.1:${free}" }`,
      ]);
      const result = await run('--config', file);
      assert.deepEqual(result, {
        exitCode: 0,
        out: [
          `${file}:3:13 s3.bind: warning: port ${port} is already in use on this host`,
          'configuration valid',
        ],
        err: [],
      });
    } finally {
      held.close();
    }
  });

  test('row 4: --json prints { valid, problems } with positions as numbers', async () => {
    const file = writeConfig(['cache: { ttl: 10 }']);
    const result = await run('--config', file, '--json', '--no-port-check');
    assert.equal(result.exitCode, 1);
    assert.deepEqual(JSON.parse(result.out.join('\n')), {
      valid: false,
      problems: [
        {
          file,
          line: 1,
          col: 15,
          path: 'cache.ttl',
          message: "duration '10' needs a unit: ms, s, m, h, d or w, e.g. 500ms, 10s, 7d",
          severity: 'error',
        },
      ],
    });
  });

  test('row 5: a config file that does not exist: exit 1 and one line on stderr', async () => {
    const result = await run('--config', '/nonexistent/gateway.yaml');
    assert.deepEqual(result, {
      exitCode: 1,
      out: [],
      err: [
        'cfs gateway validate-config: configuration file /nonexistent/gateway.yaml (from --config) does not exist',
      ],
    });
  });

  test('row 6: a config path that is a directory: exit 1 and one line on stderr', async () => {
    const dir = writeConfig(['# any']).replace(/\/gateway\.yaml$/, '');
    const result = await run('--config', dir);
    assert.deepEqual(result, {
      exitCode: 1,
      out: [],
      err: [`cfs gateway validate-config: configuration file ${dir} is a directory`],
    });
  });

  test('row 7: --json with a missing file still prints JSON', async () => {
    const result = await run('--config', '/nonexistent/gateway.yaml', '--json');
    assert.equal(result.exitCode, 1);
    const printed = JSON.parse(result.out.join('\n'));
    assert.equal(printed.valid, false);
    assert.match(printed.problems[0].message, /does not exist/);
  });
});
