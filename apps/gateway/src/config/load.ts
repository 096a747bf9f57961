import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type YAMLError,
} from 'yaml';
import { crossCheck } from './cross-checks.ts';
import { configuredListeners } from './listeners.ts';
import { findBusyPorts } from './port-check.ts';
import { KeyPathLocator } from './positions.ts';
import { ConfigError, type Finding, hasErrors, keyPathText, type Problem, sortProblems } from './problems.ts';
import { resolveConfig } from './resolve.ts';
import { configFileSchema } from './schema.ts';
import { findingsFromIssues } from './schema-issues.ts';
import type { GatewayConfig } from './types.ts';

export interface LoadOptions {
  /** Probe each configured port on this host and warn when it is taken (default false). */
  checkPorts?: boolean;
  /**
   * With checkPorts: whether a taken port is held by the gateway this very file configures
   * (running on its state folder), which is no problem and not warned about.
   */
  heldByItsGateway?: (config: GatewayConfig, port: number) => boolean;
  /** 'warning': certificate problems are reported without invalidating the file (default 'error'). */
  tls?: 'error' | 'warning';
  /**
   * A file that sets no key at all: every key takes its default, a working gateway. Said as a
   * warning where an operator reads the result (validate-config, a start), and refused for a
   * reload, where it is a file truncated while being written and would open the default export
   * to every host. Unset: nothing said.
   */
  empty?: 'error' | 'warning';
}

/** What a file that sets no key means, said where it is read. */
const EMPTY_FILE =
  'the file sets no key: every key takes its default (state in /var/lib/claudefs, the runbook ports, /export shared read-write with every host over NFS)';

export interface LoadResult {
  /** Present only when no problem is an error. */
  config?: GatewayConfig;
  problems: Problem[];
  /**
   * When the file has errors elsewhere: the configuration of its `node`, `health` and `control`
   * keys alone (the rest defaults), enough to reach its running gateway — to drain it or see
   * who is connected while the file is being fixed. Never for starting or reloading one.
   */
  addressing?: GatewayConfig;
}

const MODE_KEYS = new Set(['mode', 'root_mode']);

/**
 * `mode: 1777` is written the way chmod reads it, but YAML 1.2 reads a plain 1777 as decimal.
 * Handing the digits over as text lets parseMode read them as octal; `0o1777` stays a number.
 */
function keepModeDigits(doc: Document): void {
  visit(doc, {
    Pair(_, pair) {
      if (!isPair(pair) || !isScalar(pair.key) || !MODE_KEYS.has(String(pair.key.value))) return;
      const value = pair.value;
      if (isScalar(value) && typeof value.value === 'number' && /^\d+$/.test(value.source ?? '')) {
        value.value = value.source;
      }
    },
  });
}

/** yaml's messages end with "at line L, column C"; the position is printed in front instead. */
function yamlMessage(e: YAMLError, source = ''): string {
  const message = e.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '').trim();
  // `bind: [::]:2049` reads as a list followed by `:2049`: say what was meant.
  const lineStart = source.lastIndexOf('\n', e.pos[0] - 1) + 1;
  const lineEnd = source.indexOf('\n', lineStart);
  const line = source.slice(lineStart, lineEnd < 0 ? undefined : lineEnd);
  return /:\s*\[[0-9A-Fa-f:.]*\]:\d+/.test(line)
    ? `${message}: an IPv6 address with a port must be quoted, "[::]:2049"`
    : message;
}

/** The keys that say where a gateway runs and answers, valid on their own; else undefined. */
function addressingOf(raw: unknown, configFile: string): GatewayConfig | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const r = raw as Record<string, unknown>;
  const part = Object.fromEntries(['node', 'health', 'control'].filter((k) => k in r).map((k) => [k, r[k]]));
  const parsed = configFileSchema.safeParse(part);
  return parsed.success ? resolveConfig(parsed.data, configFile) : undefined;
}

/** An empty document, or one that is only an empty map (`{}`): nothing set. */
function setsNoKey(contents: Document['contents']): boolean {
  if (contents === null) return true;
  return isMap(contents) && contents.items.length === 0;
}

/**
 * The document as plain data. yaml reports an alias to an anchor that does not exist, or one
 * that expands past its alias limit, only by throwing from toJS: that becomes a problem at the
 * first alias that cannot be resolved (or the first alias, for the limit).
 */
function toPlain(doc: Document): { raw: unknown } | { error: string; pos: number } {
  try {
    return { raw: doc.toJS() ?? {} };
  } catch (e) {
    let first: number | undefined;
    let unresolved: number | undefined;
    visit(doc, {
      Alias(_, node) {
        if (!isAlias(node)) return;
        const at = node.range?.[0] ?? 0;
        first ??= at;
        if (unresolved === undefined && node.resolve(doc) === undefined) unresolved = at;
      },
    });
    return { error: (e as Error).message, pos: unresolved ?? first ?? 0 };
  }
}

/**
 * A key given twice names itself (`node.name`), as every other problem does, and says which
 * one counts for nothing: yaml refuses the document, so neither is taken.
 */
function duplicateKey(doc: Document, e: YAMLError): Partial<Problem> {
  if (e.code !== 'DUPLICATE_KEY') return {};
  let path: (string | number)[] | undefined;
  visit(doc, {
    Pair(_, pair, ancestors) {
      if (!isScalar(pair.key) || pair.key.range?.[0] !== e.pos[0]) return undefined;
      path = [];
      for (const [i, a] of ancestors.entries()) {
        const next = ancestors[i + 1] ?? pair;
        if (isPair(a) && isScalar(a.key)) path.push(String(a.key.value));
        if (isSeq(a)) path.push(a.items.indexOf(next as never));
      }
      path.push(String(pair.key.value));
      return visit.BREAK;
    },
  });
  return path
    ? { path: path.join('.'), message: 'given twice in one map (remove one: neither is used)' }
    : {};
}

async function readConfigText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConfigError(`configuration file ${file} does not exist`);
    if (code === 'EACCES') {
      throw new ConfigError(`configuration file ${file} is not readable (permission denied)`);
    }
    if (code === 'EISDIR') throw new ConfigError(`configuration file ${file} is a directory`);
    throw new ConfigError(`configuration file ${file} cannot be read: ${(e as Error).message}`);
  }
}

/**
 * Reads, validates and resolves one configuration file. Every problem found is returned, each
 * with its line, column and key path; the config comes back only when none is an error.
 * Throws ConfigError when the file itself cannot be read.
 */
export async function loadConfig(file: string, opts: LoadOptions = {}): Promise<LoadResult> {
  const configFile = resolve(file);
  const source = await readConfigText(configFile);
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines, prettyErrors: false });
  const problemAt = (pos: number, message: string, severity: Problem['severity']): Problem => {
    const { line, col } = lines.linePos(pos);
    return { file: configFile, line, col, path: '', message, severity };
  };
  const syntax = [
    ...doc.errors.map((e) => ({
      ...problemAt(e.pos[0], yamlMessage(e, source), 'error'),
      ...duplicateKey(doc, e),
    })),
    ...doc.warnings.map((e) => problemAt(e.pos[0], yamlMessage(e), 'warning')),
  ];
  if (opts.empty && doc.errors.length === 0 && setsNoKey(doc.contents)) {
    const severity = opts.empty;
    syntax.push(
      problemAt(
        0,
        severity === 'error' ? `${EMPTY_FILE}; refused: a reload needs the whole file` : EMPTY_FILE,
        severity,
      ),
    );
  }
  if (hasErrors(syntax)) return { problems: sortProblems(syntax) };

  keepModeDigits(doc);
  const plain = toPlain(doc);
  if ('error' in plain) return { problems: [problemAt(plain.pos, plain.error, 'error')] };
  const raw = plain.raw;
  const locator = new KeyPathLocator(doc, lines);
  const toProblem = (f: Finding): Problem => {
    const { line, col } = locator.locate(f.path, f.at);
    return {
      file: configFile,
      line,
      col,
      path: keyPathText(f.path),
      message: f.message,
      severity: f.severity,
    };
  };

  const parsed = configFileSchema.safeParse(raw, { reportInput: true });
  const findings = [
    ...(parsed.success ? [] : findingsFromIssues(configFileSchema, parsed.error.issues)),
    ...crossCheck(raw, dirname(configFile), opts.tls === 'warning'),
  ];
  const problems = [...syntax, ...findings.map(toProblem)];
  if (!parsed.success || hasErrors(problems))
    return { problems: sortProblems(problems), addressing: addressingOf(raw, configFile) };

  const config = resolveConfig(parsed.data, configFile);
  if (opts.checkPorts) {
    for (const { listener, message } of await findBusyPorts(configuredListeners(config))) {
      if (opts.heldByItsGateway?.(config, listener.address.port)) continue;
      problems.push(toProblem({ path: listener.key.split('.'), message, severity: 'warning', at: 'value' }));
    }
  }
  return { config, problems: sortProblems(problems) };
}
