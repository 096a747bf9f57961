/**
 * The YAML configuration, mutated: loadConfig on mutated valid files (the example, compact
 * and flow-style configs, one with a mistake of each kind) and on random YAML-ish text either
 * returns a config or lists problems, each placed at file:line:col with a key path and a
 * message — it never throws (a file that can be read is never a ConfigError) and never hangs.
 */
import { ok } from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { fuzzCases, fuzzSeed, mutateBytes, Rng, runFuzz } from '../support/fuzz.ts';
import { makeTempDir } from '../support/tmpdir.ts';

const here = (p: string) => new URL(p, import.meta.url);

/** The example without its comments: the same keys, parsed faster. */
const example = readFileSync(here('../../../../config/gateway.example.yaml'), 'utf8')
  .split('\n')
  .map((l) => l.replace(/\s+#.*$/, ''))
  .filter((l) => !/^\s*#/.test(l) && l.trim() !== '')
  .join('\n');

const SEEDS = [
  example,
  readFileSync(here('../config/fixtures/many-problems.yaml'), 'utf8'),
  `node: { name: gw-f, state_dir: ./state }
log_level: error
nfs: { bind: 127.0.0.1:2049, mount_bind: 127.0.0.1:20048, exports: [{ path: /export, clients: [10.0.0.0/8], access: ro, squash: all, mode: 1777 }] }
s3: { bind: 127.0.0.1:9000, root: /export, region: us-east-1, public_read_buckets: [pub] }
smb: { bind: 127.0.0.1:4445, shares: [{ name: data, path: /export }] }
health: { bind: 127.0.0.1:8080, probe_interval: 10s }
limits: { max_connections: 1000 }
cache: { max_entries: 10000, ttl: 5s }
`,
  `node:
  name: gw-2
  state_dir: /tmp/cfs
metadata:
  url: "sqlite:///tmp/cfs/meta.db"
transport:
  url: file:///tmp/cfs/data
quotas:
  - { user: alice, soft: 10GB, hard: 12GiB }
`,
];

const VALUES = [
  '',
  '~',
  'null',
  'true',
  'no',
  '0',
  '-1',
  '1e309',
  '0x1f',
  '0o777',
  '99999999999999999999999',
  '65536',
  '10GB',
  '1.5TiB',
  '-5MB',
  '500ms',
  '7d',
  '1y',
  '[]',
  '{}',
  '[a, [b, [c]]]',
  '"\\u0000"',
  "'",
  '"',
  '&a x',
  '*a',
  '*undefined',
  '!!binary AAAA',
  '!!js/function x',
  '!custom 1',
  '0.0.0.0:0',
  '[::1]:99999',
  '256.1.1.1:1',
  'host:-1',
  '/',
  '../../etc',
  'rel/path',
  '/export/../..',
  'sqlite://',
  'postgres://u:p@h:1/db',
  's3://',
  'ftp://x',
  '__proto__',
  'constructor',
  '|\n  block',
  '>-\n  folded',
  '? complex\n: key',
  'é',
  '\t',
];

const KEYS = [
  'node',
  'name',
  'state_dir',
  'log_level',
  'nfs',
  'smb',
  's3',
  'health',
  'bind',
  'mount_bind',
  'exports',
  'shares',
  'path',
  'clients',
  'access',
  'squash',
  'mode',
  'root',
  'region',
  'tls',
  'cert',
  'key',
  'limits',
  'cache',
  'quotas',
  'metadata',
  'url',
  '__proto__',
  'constructor',
  '<<',
  'unknown_key',
];

/** Line-level edits that keep it YAML-shaped: values, keys, indentation, whole lines. */
function mutateYaml(r: Rng, src: string): string {
  const lines = src.split('\n');
  for (let n = 1 + r.below(4); n > 0; n--) {
    const i = r.below(lines.length);
    const line = lines[i] ?? '';
    switch (r.below(8)) {
      case 0: {
        const colon = line.indexOf(': ');
        lines[i] = colon >= 0 ? `${line.slice(0, colon + 2)}${r.pick(VALUES)}` : `${line} ${r.pick(VALUES)}`;
        break;
      }
      case 1:
        lines[i] = line.replace(/[a-z_]+(?=:)/, r.pick(KEYS));
        break;
      case 2:
        lines[i] = `${' '.repeat(r.below(9))}${line.trimStart()}`;
        break;
      case 3:
        lines.splice(i, 1);
        break;
      case 4:
        lines.splice(i, 0, line);
        break;
      case 5:
        lines.splice(i, 0, `${' '.repeat(2 * r.below(3))}${r.pick(KEYS)}: ${r.pick(VALUES)}`);
        break;
      case 6:
        lines[i] = line.replace(/[,{}[\]:-]/, r.pick(['', ',', '{', '}', '[', ']', ':', '- ', ' #']));
        break;
      default:
        lines.splice(i, 0, ...lines.slice(r.below(lines.length), r.below(lines.length)));
    }
  }
  return lines.join('\n');
}

function randomText(r: Rng): string {
  const p: string[] = [];
  for (let n = r.below(30); n > 0; n--) {
    p.push(
      r.pick([
        () => `${r.pick(KEYS)}: `,
        () => r.pick(VALUES),
        () => '\n',
        () => `\n${' '.repeat(r.below(8))}`,
        () => '- ',
        () => r.pick(['{', '}', '[', ']', ',', '&x ', '*x', '---\n', '...\n', '%YAML 1.2\n', '? ']),
      ])(),
    );
  }
  // Alias bombs: the parser's alias limit must hold.
  if (r.chance(40))
    p.push('\na: &a [x, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c]\n');
  return p.join('');
}

const CASES = fuzzCases(20_000);

test(`1 ${CASES} mutated and random configuration files: a config, or problems at file:line:col — never a throw`, async (t) => {
  const r = new Rng(fuzzSeed('config'));
  // Rewritten once a case: on tmpfs when there is one (a disk write costs more than the parse).
  const dir = existsSync('/dev/shm') ? mkdtempSync('/dev/shm/cfs-fuzz-config-') : makeTempDir('fuzz-config');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'gateway.yaml');
  const outcomes = new Map<string, number>();
  const unplaced = new Map<string, number>();
  await runFuzz('YAML config', CASES, async () => {
    for (let i = 0; i < CASES; i++) {
      const roll = r.below(10);
      // The long example costs the most to parse: one case in eight starts from it.
      const seed = r.chance(8) ? SEEDS[0]! : SEEDS[1 + r.below(SEEDS.length - 1)]!;
      const text =
        roll < 6
          ? mutateYaml(r, seed)
          : roll < 8
            ? mutateBytes(r, Buffer.from(seed), [], 4).toString(r.chance(2) ? 'utf8' : 'latin1')
            : randomText(r);
      writeFileSync(file, text);
      let result: Awaited<ReturnType<typeof loadConfig>>;
      try {
        result = await loadConfig(file, { tls: r.chance(2) ? 'warning' : 'error' });
      } catch (e) {
        throw new Error(`loadConfig threw for ${JSON.stringify(text.slice(0, 400))}: ${(e as Error).stack}`);
      }
      const errors = result.problems.filter((p) => p.severity === 'error');
      ok(
        result.config !== undefined ? errors.length === 0 : errors.length > 0,
        'a config with errors, or neither',
      );
      for (const p of result.problems) {
        ok(p.file === file && typeof p.message === 'string' && p.message !== '', JSON.stringify(p));
        ok(
          Number.isInteger(p.line) && Number.isInteger(p.col) && p.line >= 0 && p.col >= 0,
          JSON.stringify(p),
        );
        if (p.line === 0) unplaced.set(p.message, (unplaced.get(p.message) ?? 0) + 1);
      }
      const k = result.config ? 'config' : 'problems';
      outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
    }
  });
  ok((outcomes.get('config') ?? 0) > CASES / 50, JSON.stringify([...outcomes]));
  ok((outcomes.get('problems') ?? 0) > CASES / 5, JSON.stringify([...outcomes]));
  ok(unplaced.size === 0, `problems without a line: ${JSON.stringify([...unplaced].slice(0, 10))}`);
});

test('2 what the fuzzer found: an alias with no anchor and a stray % in a backend URL are problems at their line', async (t) => {
  const dir = makeTempDir('fuzz-config-found');
  const file = join(dir, 'gateway.yaml');
  const rows: Array<[string, number, RegExp]> = [
    ['node: { name: a }\nlog_level: *nowhere\n', 2, /alias/i],
    ['node: { name: a }\nmetadata:\n  url: sqlite:///tmp%zz/meta.db\n', 3, /malformed %-escape/],
    ['node: { name: a }\ntransport:\n  url: s3://bucket/a%\n', 3, /malformed %-escape/],
  ];
  for (const [text, line, message] of rows) {
    writeFileSync(file, text);
    const r = await loadConfig(file);
    t.diagnostic(JSON.stringify(r.problems));
    ok(r.config === undefined && r.problems.some((p) => p.line === line && message.test(p.message)), text);
  }
});
