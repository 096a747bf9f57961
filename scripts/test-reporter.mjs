// node:test reporter: a spec-like stream, then failures and skipped tests listed, then the
// closing line `N passed, N failed, N skipped`.
//
// Counting: leaf tests only (a test or suite that ran subtests is not counted itself), so
// the three numbers add up to the tests that were run. Also counted as one failure each:
// a test file that failed on its own (did not load, exited early, async error after its
// tests) and a suite/test whose own hooks failed while its subtests passed.
//
// Hang watchdog: a test file whose process sends nothing for TEST_IDLE_TIMEOUT_MS (60 s) while
// none of its tests runs (a leaked handle after its tests, or a stuck top-level await), or for
// the per-test timeout + 60 s while one runs, is stopped by PID (SIGTERM, then SIGKILL) and counted as failed.
// Node's runner holds back the events of a file running beside an earlier one until that one
// ends, so a file that has reported none of its tests yet gets the longer limit: it may be busy
// behind a long file, not idle.
//
// The ending also lists the slowest test files (wall time of each file's process), so that a
// run creeping past CI's 30-minute aim shows where its time went.
//
// With CFS_TEST_SUMMARY_FILE set, counts, the failed/skipped lists and file times are kept there as JSON
// and the ending is left to the caller: scripts/test.mjs prints it (renderEnding) after the
// runner has exited, so that the count line is the very last line.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';

const useColor =
  process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0'
    ? true
    : Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && !process.env.CI;
const paint = (code) => (text) => (useColor ? `\x1b[${code}m${text}\x1b[0m` : text);
const red = paint('31');
const green = paint('32');
const yellow = paint('33');
const cyan = paint('36');
const dim = paint('2');
const bold = paint('1');

const verbose = ['1', 'true', 'yes'].includes(String(process.env.TEST_VERBOSE ?? '').toLowerCase());
const OUTPUT_CAP = 64 * 1024;
const FILTERED_OUT = new Set(['test name does not match pattern', "'only' option not set"]);
const SUMMARY_DIAGNOSTIC = /^(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) [\d.]+$/;

const cwd = process.cwd();

function rel(file) {
  if (!file) return '<unknown file>';
  const path = file.startsWith('file://') ? fileURLToPath(file) : file;
  const r = relative(cwd, path);
  return r.startsWith('..') ? path : r;
}

function location(data) {
  const file = rel(data.file);
  if (data.line === undefined) return file;
  return `${file}:${data.line}${data.column === undefined ? '' : `:${data.column}`}`;
}

function duration(data) {
  const ms = data.details?.duration_ms;
  if (typeof ms !== 'number') return '';
  return dim(ms >= 1000 ? ` (${(ms / 1000).toFixed(2)}s)` : ` (${Math.round(ms)}ms)`);
}

function indentText(text, pad) {
  return text
    .split('\n')
    .map((line) => (line === '' ? line : pad + line))
    .join('\n');
}

function cleanStack(text) {
  return text
    .split('\n')
    .filter((line) => !/^\s+at .*(node:internal|node:async_hooks|\/node_modules\/tsx\/)/.test(line))
    .join('\n')
    .replaceAll(`file://${cwd}/`, '')
    .replaceAll(`${cwd}/`, '');
}

function formatError(error) {
  if (error === undefined || error === null) return 'failed (no error reported)';
  // node:test wraps the test's own error: ERR_TEST_FAILURE with the real one as `cause`.
  const inner = error.code === 'ERR_TEST_FAILURE' && error.cause !== undefined ? error.cause : error;
  if (inner instanceof Error || (typeof inner === 'object' && inner !== null && 'stack' in inner)) {
    const stack = typeof inner.stack === 'string' && inner.stack !== '' ? inner.stack : String(inner);
    let text = cleanStack(stack);
    if (inner.name !== 'AssertionError') {
      const extra = Object.fromEntries(
        Object.entries(inner).filter(([key]) => !['stack', 'message', 'name'].includes(key)),
      );
      if (Object.keys(extra).length > 0) text += `\n${inspect(extra, { depth: 4, colors: useColor })}`;
    }
    return text;
  }
  if (typeof inner === 'string') return inner;
  return inspect(inner, { depth: 4, colors: useColor });
}

function firstLine(text) {
  return (text.split('\n').find((line) => line.trim() !== '') ?? '').trim();
}

function failureHint(error) {
  switch (error?.failureType) {
    case 'testTimeoutFailure':
      return 'timed out';
    case 'hookFailure':
      return 'hook failed';
    case 'cancelledByParent':
      return 'cancelled (parent ended first)';
    case 'uncaughtException':
      return 'uncaught exception';
    case 'unhandledRejection':
      return 'unhandled rejection';
    default:
      return undefined;
  }
}

/** PID of the runner's child process that runs `file`, found through /proc. */
function findFileProcess(file) {
  let entries;
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined; // No procfs: the run-wide timeout in test.mjs still applies.
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.some((arg) => arg !== '' && resolve(arg) === file)) return Number(entry);
    } catch {
      // The process ended while we looked.
    }
  }
  return undefined;
}

/** Watches files in progress; kills the process of one that went silent. Returns the notes. */
function startWatchdog() {
  const testTimeoutMs = Number(process.env.CFS_TEST_TIMEOUT_MS ?? 900_000);
  const idleMs = Number(process.env.TEST_IDLE_TIMEOUT_MS ?? 60_000);
  const busyMs = (Number.isFinite(testTimeoutMs) ? testTimeoutMs : 900_000) + 60_000;
  /** file → { last, running, finished, reported } */
  const live = new Map();
  const killed = new Map();
  const timer = setInterval(() => {
    const now = Date.now();
    for (const [file, state] of live) {
      if (state.finished || killed.has(file)) continue;
      const limit = state.running > 0 || !state.reported ? busyMs : idleMs;
      const silentMs = now - state.last;
      if (silentMs < limit) continue;
      const pid = findFileProcess(file);
      if (pid === undefined) continue;
      const note =
        state.running > 0
          ? `hung: no events for ${Math.round(silentMs / 1000)}s while a test ran; stopped pid ${pid}`
          : `hung: no events for ${Math.round(silentMs / 1000)}s with no test running (leaked handle or stuck top-level code); stopped pid ${pid}`;
      killed.set(file, note);
      process.stdout.write(`\n${red('✖')} ${rel(file)}: ${note}\n`);
      // SIGTERM first, so that the file's exit handlers stop the processes it started.
      const signal = (name) => {
        try {
          process.kill(pid, name);
        } catch {
          // Already gone.
        }
      };
      signal('SIGTERM');
      setTimeout(() => signal('SIGKILL'), 5000).unref();
    }
  }, 5000);
  timer.unref();
  return {
    killed,
    observe(event) {
      const data = event.data;
      if (data?.file === undefined) return;
      const isFileLevel = data.nesting === 0 && data.name === data.file;
      let state = live.get(data.file);
      if (!state) {
        if (!(event.type === 'test:dequeue' && isFileLevel)) return;
        state = { last: Date.now(), running: 0, finished: false, reported: false };
        live.set(data.file, state);
      }
      state.last = Date.now();
      if (!isFileLevel) state.reported = true;
      if (isFileLevel) {
        if (event.type === 'test:complete') state.finished = true;
      } else if (event.type === 'test:dequeue') {
        state.running++;
      } else if (event.type === 'test:complete') {
        state.running = Math.max(0, state.running - 1);
      }
    },
    stop() {
      clearInterval(timer);
    },
  };
}

export default async function* reporter(source) {
  const counts = { passed: 0, failed: 0, skipped: 0 };
  const failures = [];
  const skips = [];
  /** Each finished test file and its process's wall time. */
  const fileTimes = [];
  /** Per file: started tests by nesting, children seen per nesting, buffered output. */
  const files = new Map();
  let currentFile;
  const summaryFile = process.env.CFS_TEST_SUMMARY_FILE;
  // Written after every counted test, synchronously: with --test-force-exit, node exits as soon
  // as the event stream closes, possibly before this generator's last lines are printed.
  const persist = () => {
    if (summaryFile) writeFileSync(summaryFile, JSON.stringify({ ...counts, failures, skips, fileTimes }));
  };

  const fileState = (file) => {
    let state = files.get(file);
    if (!state) {
      state = { stack: [], childSeen: [], output: '', failedTests: 0 };
      files.set(file, state);
    }
    return state;
  };

  function* header(file) {
    if (file === currentFile) return;
    currentFile = file;
    yield `\n${bold(cyan(rel(file)))}\n`;
  }

  function* ancestors(state, nesting) {
    for (let i = 0; i < nesting; i++) {
      const entry = state.stack[i];
      if (entry && !entry.printed) {
        entry.printed = true;
        yield `${'  '.repeat(i + 1)}${dim('▶')} ${entry.name}\n`;
      }
    }
  }

  function* dumpOutput(state, pad) {
    if (state.output.trim() === '') {
      state.output = '';
      return;
    }
    const text = state.output.length > OUTPUT_CAP ? `…${state.output.slice(-OUTPUT_CAP)}` : state.output;
    state.output = '';
    yield `${pad}${dim('── output of this file so far ──')}\n${indentText(dim(text.replace(/\n$/, '')), `${pad}│ `)}\n`;
  }

  /** Records a completion at `nesting`; returns whether subtests completed under it. */
  function complete(state, nesting) {
    const hadChildren = state.childSeen[nesting] === true;
    state.childSeen[nesting] = false;
    state.childSeen.length = nesting + 1;
    if (nesting > 0) state.childSeen[nesting - 1] = true;
    return hadChildren;
  }

  function testPath(state, data) {
    const names = [];
    for (let i = 0; i < data.nesting; i++) {
      const entry = state.stack[i];
      if (entry) names.push(entry.name);
    }
    names.push(data.name);
    return names.join(' › ');
  }

  const watchdog = startWatchdog();

  for await (const event of source) {
    watchdog.observe(event);
    const data = event.data ?? {};
    if (event.type === 'test:complete' && data.nesting === 0 && data.name === data.file) {
      const ms = data.details?.duration_ms;
      if (typeof ms === 'number') fileTimes.push({ where: rel(data.file), ms });
    }
    switch (event.type) {
      case 'test:start': {
        if (data.file === undefined) break;
        const state = fileState(data.file);
        state.stack.length = data.nesting;
        state.stack[data.nesting] = { name: data.name, printed: false };
        break;
      }

      case 'test:stdout':
      case 'test:stderr': {
        const message = String(data.message ?? '');
        if (verbose) {
          if (data.file !== undefined) yield* header(data.file);
          yield `${indentText(dim(message.replace(/\n$/, '')), '    │ ')}\n`;
          break;
        }
        if (data.file === undefined) {
          // Output from the runner itself, not from a test file.
          yield message;
          break;
        }
        const state = fileState(data.file);
        state.output += message;
        if (state.output.length > OUTPUT_CAP * 2) state.output = state.output.slice(-OUTPUT_CAP);
        break;
      }

      case 'test:diagnostic': {
        const message = String(data.message ?? '');
        if (data.nesting === 0 && data.file === undefined && SUMMARY_DIAGNOSTIC.test(message)) break;
        const pad = '  '.repeat((data.nesting ?? 0) + 1);
        yield `${pad}${yellow('ℹ')} ${indentText(message, `${pad}  `).trimStart()}\n`;
        break;
      }

      case 'test:pass':
      case 'test:fail': {
        if (data.file === undefined) break;
        const state = fileState(data.file);
        const passed = event.type === 'test:pass';
        const isFileLevel = data.nesting === 0 && data.name === data.file;
        const hadChildren = complete(state, data.nesting);
        yield* header(data.file);
        const pad = '  '.repeat(data.nesting + 1);

        if (isFileLevel) {
          if (passed) {
            yield `${pad}${dim('(no tests)')}\n`;
            break;
          }
          const error = data.details?.error;
          // The file's process exited non-zero only because of failing tests counted already.
          if (error?.failureType === 'subtestsFailed' && state.failedTests > 0) break;
          counts.failed++;
          const how =
            error?.signal != null
              ? `killed by ${error.signal}`
              : error?.exitCode != null
                ? `exited with code ${error.exitCode}`
                : 'failed';
          const hang = watchdog.killed.get(data.file);
          const reason = hang
            ? `test file ${hang}`
            : `test file ${how} (load error, process.exit, or an error after its tests)`;
          const lines = state.output.split('\n');
          const detail =
            lines.find((line) => /^\s*[\w.]*(Error|Exception)\b/.test(line)) ??
            lines.find((line) => /Error|ERR_/.test(line));
          yield `${pad}${red('✖')} ${red(reason)}${duration(data)}\n`;
          yield* dumpOutput(state, `${pad}    `);
          failures.push({
            where: rel(data.file),
            name: reason,
            first: hang
              ? 'its process was killed by the hang watchdog'
              : (detail?.trim() ?? 'see its output above'),
          });
          persist();
          break;
        }

        const isSuite = data.details?.type === 'suite';
        const isLeaf = !hadChildren && !isSuite;
        const name = data.name;

        if (passed) {
          if (!isLeaf) break;
          // Filtered out by --test-name-pattern / --test-only: not part of this run.
          if (typeof data.skip === 'string' && FILTERED_OUT.has(data.skip)) break;
          yield* ancestors(state, data.nesting);
          if (data.skip !== undefined) {
            counts.skipped++;
            const reason = typeof data.skip === 'string' ? data.skip : '';
            skips.push({ where: location(data), name: testPath(state, data), reason });
            yield `${pad}${yellow('﹣')} ${name} ${yellow(`# SKIP${reason ? ` ${reason}` : ''}`)}\n`;
          } else if (data.todo !== undefined) {
            counts.skipped++;
            const reason = `todo${typeof data.todo === 'string' ? `: ${data.todo}` : ''}`;
            skips.push({ where: location(data), name: testPath(state, data), reason });
            yield `${pad}${yellow('﹣')} ${name} ${yellow(`# ${reason.toUpperCase().slice(0, 4)}${reason.slice(4)}`)}\n`;
          } else {
            counts.passed++;
            yield `${pad}${green('✔')} ${name}${duration(data)}\n`;
          }
          persist();
          break;
        }

        const error = data.details?.error;
        if (!isLeaf && error?.failureType === 'subtestsFailed') {
          // Its failing subtests were counted and printed already.
          break;
        }
        yield* ancestors(state, data.nesting);
        if (data.todo !== undefined) {
          // A failing todo test does not fail the run.
          counts.skipped++;
          const reason = `todo${typeof data.todo === 'string' ? `: ${data.todo}` : ''} (currently failing)`;
          skips.push({ where: location(data), name: testPath(state, data), reason });
          yield `${pad}${yellow('✖')} ${name} ${yellow('# TODO')}${duration(data)}\n`;
          persist();
          break;
        }
        counts.failed++;
        state.failedTests++;
        const hint = failureHint(error);
        const suffix = isLeaf ? '' : dim(' (suite or parent test itself)');
        yield `${pad}${red('✖')} ${red(name)}${hint ? red(` — ${hint}`) : ''}${suffix}${duration(data)}\n`;
        yield `${pad}    ${dim(`at ${location(data)}`)}\n`;
        const text = formatError(error);
        yield `${indentText(text, `${pad}    `)}\n`;
        yield* dumpOutput(state, `${pad}    `);
        failures.push({ where: location(data), name: testPath(state, data), first: firstLine(text) });
        persist();
        break;
      }

      default:
        break;
    }
  }

  watchdog.stop();
  persist();
  if (!summaryFile) yield renderEnding({ ...counts, failures, skips, fileTimes });
}

/** The closing part: failed and skipped tests listed, then the one-line count. */
export function renderEnding(summary) {
  let text = renderSlowest(summary.fileTimes ?? []);
  if (summary.failures.length > 0) {
    text += `\n${bold(red(`Failed (${summary.failures.length}):`))}\n`;
    for (const failure of summary.failures) {
      text += `  ${red('✖')} ${failure.name} ${dim(`(${failure.where})`)}\n      ${failure.first}\n`;
    }
  }
  if (summary.skips.length > 0) {
    text += `\n${bold(yellow(`Skipped (${summary.skips.length}):`))}\n`;
    for (const skip of summary.skips) {
      text += `  ${yellow('﹣')} ${skip.name} ${dim(`(${skip.where})`)}${skip.reason ? ` — ${skip.reason}` : ''}\n`;
    }
  }
  return `${text}\n${summaryLine(summary)}\n`;
}

const SLOWEST_SHOWN = 12;

/** The slowest test files, each with its share of the files' summed time. */
function renderSlowest(fileTimes) {
  if (fileTimes.length < 2) return '';
  const total = fileTimes.reduce((sum, file) => sum + file.ms, 0);
  const slowest = [...fileTimes].sort((a, b) => b.ms - a.ms).slice(0, SLOWEST_SHOWN);
  let text = `\n${bold(`Slowest files (of ${fileTimes.length}, ${Math.round(total / 1000)} s in all):`)}\n`;
  for (const file of slowest) {
    const seconds = (file.ms / 1000).toFixed(1).padStart(6);
    const share = `${((file.ms / total) * 100).toFixed(1)} %`.padStart(6);
    text += `  ${seconds} s ${dim(share)}  ${file.where}\n`;
  }
  return text;
}

export function summaryLine(counts) {
  return `${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`;
}
