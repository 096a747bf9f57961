#!/usr/bin/env node
// `npm test [-- PATH|SUBSTRING ... | --test-name-pattern=RE ...]`
//
// Runs every *.test.ts under apps/*/test and packages/*/test with node's built-in runner
// (tsx as the loader) and scripts/test-reporter.mjs, then prints, as the very last line:
//   N passed, N failed, N skipped
// Exit code: the runner's, and never 0 when a failure was counted.
//
// Arguments: a file or folder (relative to where npm was run, or to the repo root) selects
// the tests in it; any other word selects test files whose path contains it. Options that
// start with `-` go to node (e.g. --test-name-pattern=health, --test-only).
// Environment: TEST_TIMEOUT_MS (per-test default, 900000 — node holds each whole file to it
// as well), TEST_RUN_TIMEOUT_MS (whole run,
// 3600000: then the run is killed and counted as failed), TEST_CONCURRENCY (files at once,
// 2), TEST_IDLE_TIMEOUT_MS (a file silent this long with no test running is killed, 60000),
// TEST_VERBOSE=1 (stream test output live instead of only on failure),
// KEEP_TEST_OUTPUT=1 (keep temp folders made by test/support/tmpdir.ts).
//
// Not --test-force-exit: on Node 20 it can cut a file's last (large) result short and leave
// the runner spinning. Hung files are killed by the reporter's watchdog instead
// (TEST_IDLE_TIMEOUT_MS, see test-reporter.mjs).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { renderEnding } from './test-reporter.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const reporter = pathToFileURL(join(root, 'scripts', 'test-reporter.mjs')).href;
const TEST_SUFFIX = '.test.ts';
/** node options that take their value as the next argument. */
const VALUE_OPTIONS = new Set([
  '--test-name-pattern',
  '--test-timeout',
  '--test-concurrency',
  '--test-shard',
  '--import',
  '--require',
  '--conditions',
]);

function walk(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, out);
    else if (entry.isFile() && entry.name.endsWith(TEST_SUFFIX)) out.push(path);
  }
}

function discover() {
  const files = [];
  for (const group of ['apps', 'packages']) {
    let workspaces = [];
    try {
      workspaces = readdirSync(join(root, group), { withFileTypes: true });
    } catch {
      continue;
    }
    for (const ws of workspaces) {
      if (ws.isDirectory()) walk(join(root, group, ws.name, 'test'), files);
    }
  }
  return files.sort();
}

function parseArgs(argv) {
  const filters = [];
  const nodeOptions = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === undefined) continue;
    if (arg.startsWith('-')) {
      nodeOptions.push(arg);
      const next = argv[i + 1];
      if (VALUE_OPTIONS.has(arg) && next !== undefined) {
        nodeOptions.push(next);
        i++;
      }
    } else {
      filters.push(arg);
    }
  }
  return { filters, nodeOptions };
}

function select(all, filters) {
  if (filters.length === 0) return all;
  const bases = [...new Set([process.env.INIT_CWD, process.cwd(), root].filter(Boolean))];
  const chosen = new Set();
  for (const filter of filters) {
    let matched = 0;
    const path = bases.map((base) => resolve(base, filter)).find((p) => existsSync(p));
    if (path !== undefined) {
      if (statSync(path).isDirectory()) {
        const prefix = path.endsWith(sep) ? path : path + sep;
        for (const file of all) {
          if (file.startsWith(prefix)) {
            chosen.add(file);
            matched++;
          }
        }
        if (matched === 0) {
          // A folder outside the usual test folders still gets its tests run when asked for.
          const extra = [];
          walk(path, extra);
          for (const file of extra) chosen.add(file);
          matched = extra.length;
        }
      } else {
        chosen.add(path);
        matched = 1;
      }
    } else {
      for (const file of all) {
        if (relative(root, file).includes(filter)) {
          chosen.add(file);
          matched++;
        }
      }
    }
    if (matched === 0) process.stderr.write(`test.mjs: no test files match "${filter}"\n`);
  }
  return [...chosen].sort();
}

function readSummary(path) {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8'));
    if (
      Number.isInteger(parsed.passed) &&
      Number.isInteger(parsed.failed) &&
      Number.isInteger(parsed.skipped) &&
      Array.isArray(parsed.failures) &&
      Array.isArray(parsed.skips)
    ) {
      return parsed;
    }
  } catch {
    // Missing or unreadable: the reporter never finished.
  }
  return undefined;
}

function finish(summary, exitCode) {
  process.stdout.write(renderEnding(summary));
  process.exitCode = exitCode;
}

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

const empty = { passed: 0, failed: 0, skipped: 0, failures: [], skips: [] };
const { filters, nodeOptions } = parseArgs(process.argv.slice(2));
// Tests run `./cfs`, which runs apps/gateway/dist/cfs.mjs when it is up to date: build it
// from the sources as they are now, so the tests exercise what an operator runs.
if (
  spawnSync(process.execPath, [join(root, 'scripts', 'build-gateway.mjs')], { stdio: 'inherit' }).status !== 0
) {
  finish({ ...empty, failed: 1 }, 1);
  process.exit(1);
}
const files = select(discover(), filters);
if (files.length === 0) {
  process.stdout.write(filters.length > 0 ? 'No test files matched.\n' : 'No test files found.\n');
  finish(empty, filters.length > 0 ? 1 : 0);
} else {
  const has = (name) => nodeOptions.some((o) => o === name || o.startsWith(`${name}=`));
  const defaults = ['--enable-source-maps'];
  if (!has('--test-concurrency')) defaults.push(`--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`);
  const timeoutOption = nodeOptions.find((o) => o.startsWith('--test-timeout='));
  // node's runner applies this to each test file as a whole, not only to each test in it: the
  // cluster console file (three gateways, a rolling restart, Chromium) took 300 s on a loaded
  // slow VM and was cut off with every test in it passing or running.
  const testTimeoutMs =
    timeoutOption?.slice('--test-timeout='.length) ?? process.env.TEST_TIMEOUT_MS ?? '900000';
  if (!timeoutOption) defaults.push(`--test-timeout=${testTimeoutMs}`);

  const summaryDir = mkdtempSync(join(tmpdir(), 'cfs-test-summary-'));
  const summaryFile = join(summaryDir, 'summary.json');
  const args = [
    '--import',
    'tsx',
    '--test',
    ...defaults,
    `--test-reporter=${reporter}`,
    '--test-reporter-destination=stdout',
    ...nodeOptions,
    ...files.map((file) => relative(root, file)),
  ];
  const started = Date.now();
  // Own process group, so that a watchdog kill also reaches the per-file processes.
  const child = spawn(process.execPath, args, {
    cwd: root,
    stdio: 'inherit',
    detached: true,
    env: { ...process.env, CFS_TEST_SUMMARY_FILE: summaryFile, CFS_TEST_TIMEOUT_MS: testTimeoutMs },
  });
  const runTimeoutMs = Number(process.env.TEST_RUN_TIMEOUT_MS ?? 3_600_000);
  let timedOut = false;
  const watchdog = setTimeout(() => {
    timedOut = true;
    process.stdout.write(
      `\ntest.mjs: the run exceeded ${runTimeoutMs} ms (TEST_RUN_TIMEOUT_MS); stopping it.\n`,
    );
    signalGroup(child.pid, 'SIGTERM');
    setTimeout(() => signalGroup(child.pid, 'SIGKILL'), 5000).unref();
  }, runTimeoutMs);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => signalGroup(child.pid, signal));
  }
  child.on('error', (error) => {
    process.stdout.write(`test.mjs: could not start node: ${error.message}\n`);
  });
  child.on('close', (code, signal) => {
    clearTimeout(watchdog);
    // The per-file processes must not outlive the run.
    signalGroup(child.pid, 'SIGKILL');
    const exitCode = code ?? 1;
    let summary = readSummary(summaryFile);
    rmSync(summaryDir, { recursive: true, force: true });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (summary === undefined) {
      process.stdout.write(
        `test.mjs: the test runner ended (code ${code}, signal ${signal}) before reporting; counting one failure.\n`,
      );
      summary = { ...empty, failed: 1 };
    } else if (timedOut || (exitCode !== 0 && summary.failed === 0)) {
      const why = timedOut
        ? 'was stopped by the run timeout'
        : `exited with code ${code}${signal ? ` (${signal})` : ''}`;
      process.stdout.write(`test.mjs: the test runner ${why}; counting one failure.\n`);
      summary = { ...summary, failed: summary.failed + 1 };
    }
    process.stdout.write(`${files.length} test file(s) in ${seconds}s\n`);
    finish(summary, summary.failed > 0 ? exitCode || 1 : exitCode);
  });
}
