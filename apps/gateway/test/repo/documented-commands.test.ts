/**
 * Every `./cfs` command line the product shows an operator — in the runbook and the other docs,
 * in the console's pages and diagnostics trees, in log lines and error hints — names commands
 * and options that exist, with arguments the command accepts. Each line is parsed by the CLI's
 * own command tree (cli/program.ts) with every action replaced by a no-op, so a renamed flag or
 * subcommand fails here instead of on an operator's terminal.
 *
 * A line in a fenced block must parse whole. A command named in a code span or a string may
 * leave out the arguments it needs, nothing else. In a sentence ("run ./cfs gateway drain
 * first") the command words and the options right after them must exist. Synopses are
 * expanded: `a|b` tries each, `[--json]` with and without, `…` ends the line.
 */
import { deepEqual } from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Command, CommanderError } from 'commander';
import { buildProgram } from '../../src/cli/program.ts';
import { operatorFiles, REPO_ROOT } from '../support/operator-text.ts';

/** Besides the docs and the console: the daemon's and the CLI's own words (log lines, hints). */
const SOURCES = ['apps/gateway/src/'];

/**
 * How much of a mention must parse. `run`: a line to type in a fenced block, all of it.
 * `name`: a command named in a code span, a synopsis or a string (a diagnostics step, a log
 * line's hint), maybe without the arguments it needs. `prose`: in a sentence, the command words
 * and the options right after them.
 */
type Strictness = 'run' | 'name' | 'prose';

interface Mention {
  where: string;
  text: string;
  strictness: Strictness;
}

/** A command line written over several lines with `\` continuations, as one line. */
function joinContinued(lines: string[], from: number): string {
  let text = lines[from]!;
  for (let i = from + 1; /\\\s*$/.test(text) && i < lines.length; i++) {
    text = `${text.replace(/\\\s*$/, ' ')}${lines[i]!.trim()}`;
  }
  return text;
}

function markdownMentions(file: string, source: string): Mention[] {
  const out: Mention[] = [];
  const lines = source.split('\n');
  let fenced = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      continue;
    }
    const where = `${file}:${i + 1}`;
    if (fenced) {
      const at = line.indexOf('./cfs');
      if (at >= 0 && /^\s*(\$\s*)?$/.test(line.slice(0, at))) {
        // A synopsis (`start|validate-config`, `[--json]`, several commands on a line) names
        // commands; any other line is typed as it stands.
        const text = joinContinued(lines, i).slice(at);
        const synopsis = /[|[…]|, \.\/cfs/.test(text.split(/\s#/)[0]!);
        for (const one of text.split(/, (?=\.\/cfs)/))
          out.push({ where, text: one, strictness: synopsis ? 'name' : 'run' });
      } else if (at >= 0) out.push({ where, text: line.slice(at), strictness: 'prose' });
      continue;
    }
    // Inline code spans name commands; the rest of the line is prose.
    const prose = line.replace(/`([^`]*)`/g, (_, span: string) => {
      if (span.startsWith('./cfs')) out.push({ where, text: span, strictness: 'name' });
      else if (span.includes('./cfs'))
        out.push({ where, text: span.slice(span.indexOf('./cfs')), strictness: 'prose' });
      return ' ';
    });
    for (const m of prose.matchAll(/\.\/cfs\b[^\n]*/g)) out.push({ where, text: m[0], strictness: 'prose' });
  }
  return out;
}

/**
 * Mentions in a source file, outside comments (a line that starts with `//`, `*` or `#`): a
 * string (or JSX text, or a code span in a template) that starts with the command names it, up
 * to its end; one later in a string is prose.
 */
function sourceMentions(file: string, source: string): Mention[] {
  const out: Mention[] = [];
  const lines = source.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^\s*(\/\/|\*|\/\*|#)/.test(line)) continue;
    for (const m of line.matchAll(/\.\/cfs\b/g)) {
      const at = m.index;
      let text = line.slice(at);
      let close = -1;
      if (line.slice(at - 2, at) === '\\`') close = text.indexOf('\\`');
      else if (line[at - 1] === '>') close = text.indexOf('<');
      else if (["'", '"', '`'].includes(line[at - 1]!)) close = findClose(text, line[at - 1]!);
      if (close >= 0) text = text.slice(0, close);
      // An escaped newline in a string ends the line shown.
      text = text.split('\\n')[0]!;
      out.push({ where: `${file}:${i + 1}`, text, strictness: close >= 0 ? 'name' : 'prose' });
    }
  }
  return out;
}

/** The closing quote of a string (a template's `${…}` skipped), or -1 if not on this line. */
function findClose(text: string, quote: string): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (quote === '`' && c === '$' && text[i + 1] === '{') {
      depth++;
      i++;
    } else if (depth > 0 && c === '}') depth--;
    else if (depth === 0 && c === quote) return i;
  }
  return -1;
}

/** Shell words of a command line up to what ends the command (a pipe, `;`, `&&`, a redirect, a comment). */
function words(text: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|"([^"]*)"|(\S+)/g;
  for (const m of text.matchAll(re)) {
    const word = m[1] ?? m[2] ?? m[3]!;
    const bare = m[3];
    if (bare !== undefined && /^(\||\|\||;|&&|&|#.*|>.*|2>.*|<|\(|\)|→)$/.test(bare)) break;
    out.push(word);
  }
  return out;
}

/** A synopsis as the concrete lines it stands for: `a|b` each, `[x]` with and without, `…` the end. */
function expand(tokens: string[]): string[][] {
  let lines: string[][] = [[]];
  for (let i = 0; i < tokens.length; i++) {
    let t = tokens[i]!;
    if (t === '…' || t === '...' || /^…|…$/.test(t)) break;
    if (t.startsWith('[')) {
      // An optional group, possibly over several words: `[release NFS-CLIENT]`.
      const group: string[] = [];
      for (; i < tokens.length; i++) {
        group.push(tokens[i]!);
        if (tokens[i]!.endsWith(']')) break;
      }
      const inner = group.join(' ').replace(/^\[|\]$/g, '');
      lines = lines.flatMap((l) =>
        inner
          .split('|')
          .map((alt) => [...l, ...alt.split(' ').filter(Boolean)])
          .concat([l]),
      );
      continue;
    }
    // `start|validate-config`: each alternative. A placeholder in braces stands for any value.
    t = t.replace(/\{[^}]*\}/g, 'X');
    const alts = t.includes('|') ? t.split('|').filter(Boolean) : [t];
    lines = lines.flatMap((l) => alts.map((a) => [...l, a]));
  }
  return lines;
}

type Internal = Command & { _actionHandler?: unknown };

/** The CLI's command tree with no action, no exit and no output: a parser only. */
function dryProgram(): Command {
  const program = buildProgram();
  const quiet = (c: Command): void => {
    c.exitOverride();
    c.configureOutput({ writeOut: () => {}, writeErr: () => {}, outputError: () => {} });
    if ((c as Internal)._actionHandler) c.action(() => {});
    for (const sub of c.commands) quiet(sub);
  };
  quiet(program);
  return program;
}

/** Errors a line that names a command may have: the arguments it needs are left out. */
const UNSAID = [
  'commander.missingArgument',
  'commander.optionMissingArgument',
  'commander.missingMandatoryOptionValue',
];

/** Why a concrete command line does not parse, or undefined. */
async function parseError(argv: string[], strictness: 'run' | 'name'): Promise<string | undefined> {
  try {
    await dryProgram().parseAsync(argv, { from: 'user' });
    return undefined;
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    // `--help`, `--version`, and a group named without its subcommand (it shows its help).
    if (['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(e.code)) return undefined;
    if (strictness === 'name' && UNSAID.includes(e.code)) return undefined;
    return e.message;
  }
}

/** The command the words name, and how many of them are command words. */
function resolve(argv: string[]): { cmd: Command; words: number } {
  let cmd: Command = buildProgram();
  let i = 0;
  for (; i < argv.length; i++) {
    // A sentence's punctuation is not part of the word: "then ./cfs gateway drain."
    const word = argv[i]!.replace(/[.,:;)]+$/, '');
    const sub = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!sub) break;
    cmd = sub;
  }
  return { cmd, words: i };
}

/** Prose: the command words must exist, and the options right after them. */
function proseError(argv: string[]): string | undefined {
  const { cmd, words } = resolve(argv);
  if (words === 0) return undefined;
  for (let i = words; i < argv.length && argv[i]!.startsWith('-'); i++) {
    const flag = argv[i]!.split('=')[0]!;
    if (['-h', '--help'].includes(flag)) continue;
    const known = [cmd, ...parents(cmd)].some((c) =>
      c.options.some((o) => o.long === flag || o.short === flag),
    );
    if (!known) return `unknown option '${flag}' for '${cmd.name()}'`;
    const option = cmd.options.find((o) => o.long === flag || o.short === flag);
    if (option && (option.required || option.optional) && !argv[i]!.includes('=')) i++;
  }
  return undefined;
}

function parents(c: Command): Command[] {
  const out: Command[] = [];
  for (let p = c.parent; p; p = p.parent) out.push(p);
  return out;
}

/** A template's `${…}` (nested braces and all), which stands for a value. */
const INTERPOLATED = '\u0000';

function withoutInterpolations(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '{') {
      let depth = 0;
      for (; i < text.length; i++) {
        if (text[i] === '{') depth++;
        else if (text[i] === '}' && --depth === 0) break;
      }
      out += INTERPOLATED;
    } else out += text[i];
  }
  return out;
}

/**
 * A mention's concrete lines. An interpolated value stands for any value; where a command word
 * or an option's name is interpolated, the line is checked up to it.
 */
function concreteLines(m: Mention): string[][] {
  const text = withoutInterpolations(m.text.replace(/^\.\/cfs\b/, '')).replace(/<[^>\s]*>/g, 'X');
  return expand(words(text)).map((argv) => {
    const { cmd, words: commandWords } = resolve(argv);
    const open = argv.findIndex(
      (w, i) =>
        w.includes(INTERPOLATED) && (w.startsWith('-') || (i === commandWords && cmd.commands.length > 0)),
    );
    const kept = open >= 0 ? argv.slice(0, open) : argv;
    return kept.map((w) => (w.includes(INTERPOLATED) ? 'X' : w));
  });
}

test('1 every ./cfs command line in the docs, the console and the sources parses', async () => {
  const mentions: Mention[] = [];
  for (const file of operatorFiles(SOURCES)) {
    // The installed command (the runbook's systemd unit) is the same command.
    const source = readFileSync(join(REPO_ROOT, file), 'utf8').replaceAll('/usr/local/bin/cfs ', './cfs ');
    if (!source.includes('./cfs')) continue;
    mentions.push(...(file.endsWith('.md') ? markdownMentions(file, source) : sourceMentions(file, source)));
  }
  const failures: string[] = [];
  let checked = 0;
  for (const m of mentions) {
    for (const argv of concreteLines(m)) {
      checked++;
      const error = m.strictness === 'prose' ? proseError(argv) : await parseError(argv, m.strictness);
      if (error) failures.push(`${m.where}: ./cfs ${argv.join(' ')}\n    ${error.split('\n')[0]}`);
    }
  }
  deepEqual(
    failures,
    [],
    `${failures.length} of ${checked} command lines do not parse:\n${failures.join('\n')}`,
  );
  // The scan found what it is for: the runbook's lines to type among them.
  const runbook = mentions.filter((m) => m.where.startsWith('docs/RUNBOOK.md') && m.strictness === 'run');
  deepEqual(
    runbook.length >= 10,
    true,
    `only ${runbook.length} command lines to run found in docs/RUNBOOK.md`,
  );
});
