import { equal, match } from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { consoleBuildStale } from '../../../../scripts/console-build.mjs';
import { makeTempDir } from '../support/tmpdir.ts';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

function run(cfs: string, env: Record<string, string> = {}): string {
  const r = spawnSync(cfs, ['--help'], { encoding: 'utf8', env: { ...process.env, ...env } });
  equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

/**
 * `./cfs` in a scratch tree shaped like the repository: a "built" CLI and a "source" one that
 * say which they are, tsx from this checkout. The launcher must run the build only while it is
 * newer than every source.
 */
test('1 ./cfs runs the build while it is newer than every source, the sources otherwise', () => {
  const dir = makeTempDir('launcher');
  const cfs = join(dir, 'cfs');
  copyFileSync(join(ROOT, 'cfs'), cfs);
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules', 'tsx'), join(dir, 'node_modules', 'tsx'));
  mkdirSync(join(dir, 'apps/gateway/src/cli'), { recursive: true });
  mkdirSync(join(dir, 'apps/gateway/dist'), { recursive: true });
  mkdirSync(join(dir, 'packages/api/src'), { recursive: true });
  const main = join(dir, 'apps/gateway/src/cli/main.ts');
  const api = join(dir, 'packages/api/src/index.ts');
  const bundle = join(dir, 'apps/gateway/dist/cfs.mjs');
  writeFileSync(main, "const from: string = 'source';\nconsole.log(from);\n");
  writeFileSync(api, 'export {};\n');
  writeFileSync(join(dir, 'apps/gateway/package.json'), '{}\n');
  // The launcher preloads it for every command (it holds SIGHUP for `gateway start`).
  const early = join(dir, 'apps/gateway/src/cli/hold-sighup.mjs');
  copyFileSync(join(ROOT, 'apps/gateway/src/cli/hold-sighup.mjs'), early);
  const past = new Date(Date.now() - 60_000);
  for (const f of [main, api, early, join(dir, 'apps/gateway/package.json')]) utimesSync(f, past, past);

  equal(run(cfs), 'source', 'no build yet: the sources');

  writeFileSync(bundle, "console.log('build');\n");
  equal(run(cfs), 'build', 'a build newer than the sources');
  equal(run(cfs, { CFS_FROM_SOURCE: '1' }), 'source', 'CFS_FROM_SOURCE=1 asks for the sources');

  const later = new Date(Date.now() + 5_000);
  utimesSync(api, later, later);
  equal(run(cfs), 'source', 'a workspace package edited after the build');
  utimesSync(api, past, past);
  equal(run(cfs), 'build');
  utimesSync(main, later, later);
  equal(run(cfs), 'source', 'a gateway source edited after the build');
});

test('2 the built CLI reports its version and the commit it was built from', () => {
  const r = spawnSync(join(ROOT, 'cfs'), ['--version'], { encoding: 'utf8' });
  equal(r.status, 0, r.stderr);
  match(r.stdout.trim(), /^\d+\.\d+\.\d+(\+[0-9a-f]{7})?$/);
});

/**
 * `npm start` serves the console's build only while it is current: after a `git pull` that
 * changes a page, a shared component or the runbook it renders, it builds again first.
 */
test('3 the console counts as built only while its build is newer than every source', () => {
  const dir = makeTempDir('console-build');
  const page = join(dir, 'apps/web/app/page.tsx');
  const chart = join(dir, 'packages/ui/src/chart.tsx');
  const runbook = join(dir, 'docs/RUNBOOK.md');
  const buildId = join(dir, 'apps/web/.next/BUILD_ID');
  const cached = join(dir, 'apps/web/.next/cache/x.json');
  for (const f of [page, chart, runbook, cached]) {
    mkdirSync(dirname(f), { recursive: true });
    writeFileSync(f, 'x\n');
  }
  const past = new Date(Date.now() - 60_000);
  for (const f of [page, chart, runbook]) utimesSync(f, past, past);
  equal(consoleBuildStale(dir), 'never built');

  writeFileSync(buildId, 'abc\n');
  equal(consoleBuildStale(dir), undefined, 'a build newer than every source');
  const later = new Date(Date.now() + 5_000);
  utimesSync(cached, later, later);
  equal(consoleBuildStale(dir), undefined, 'what the build writes itself is not a source');
  utimesSync(chart, later, later);
  equal(consoleBuildStale(dir), 'packages/ui/src/chart.tsx', 'a shared component changed');
  utimesSync(chart, past, past);
  utimesSync(runbook, later, later);
  equal(consoleBuildStale(dir), 'docs/RUNBOOK.md', 'the runbook the console renders changed');
  utimesSync(runbook, past, past);
  utimesSync(page, later, later);
  equal(consoleBuildStale(dir), 'apps/web/app/page.tsx');
});

/** What `./cfs --version` or `--help` must not load: each command imports these when it runs. */
const LOADED_WHEN_USED = [
  'apps/gateway/src/daemon/gateway.ts',
  'apps/gateway/src/daemon/features.ts',
  'apps/gateway/src/daemon/protocols.ts',
  'apps/gateway/src/protocols/nfs/',
  'apps/gateway/src/protocols/s3/server.ts',
  'apps/gateway/src/protocols/smb/server.ts',
  'apps/gateway/src/generated/prisma/',
  'apps/gateway/src/storage/sqlite/',
  'apps/gateway/src/ops/metrics/',
  'apps/gateway/src/ops/diagnostics/engine.ts',
];
const PACKAGES_LOADED_WHEN_USED = [
  'better-sqlite3',
  '@prisma/',
  'pg',
  '@aws-sdk/',
  '@node-rs/crc32',
  'prom-client',
  'fast-xml-parser',
  '@fastify/busboy',
  'mime-types',
];

/**
 * The CLI's start is what every `./cfs` command pays (0.43 s with all of the gateway loaded,
 * 0.26 s without, session 37): its entry point reaches the daemon, the protocol servers, the
 * database clients and the metrics only through dynamic imports, made by the commands that use
 * them. Read from esbuild's import graph of the sources, as the build sees them.
 */
test('4 ./cfs loads the daemon, the protocol servers and the database clients only in the commands that use them', async () => {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [join(ROOT, 'apps/gateway/src/cli/main.ts')],
    absWorkingDir: ROOT,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    splitting: true,
    outdir: join(makeTempDir('cli-imports'), 'out'),
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  const inputs = result.metafile.inputs;
  const via = new Map<string, string | undefined>([['apps/gateway/src/cli/main.ts', undefined]]);
  const packages = new Map<string, string>();
  const queue = ['apps/gateway/src/cli/main.ts'];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const i of inputs[file]?.imports ?? []) {
      if (i.kind !== 'import-statement') continue;
      if (i.external) {
        if (!packages.has(i.path)) packages.set(i.path, file);
      } else if (!via.has(i.path)) {
        via.set(i.path, file);
        queue.push(i.path);
      }
    }
  }
  const chain = (file: string): string => {
    const links: string[] = [];
    for (let f: string | undefined = file; f !== undefined; f = via.get(f)) links.unshift(f);
    return links.join(' → ');
  };
  const early = [...via.keys()].filter((f) => LOADED_WHEN_USED.some((p) => f.startsWith(p)));
  equal(early.length, 0, `loaded at every start:\n${early.map(chain).join('\n')}`);
  const earlyPackages = [...packages].filter(([name]) =>
    PACKAGES_LOADED_WHEN_USED.some((p) => name === p || name.startsWith(p.endsWith('/') ? p : `${p}/`)),
  );
  equal(
    earlyPackages.length,
    0,
    `packages loaded at every start:\n${earlyPackages.map(([name, from]) => `${name} from ${chain(from)}`).join('\n')}`,
  );
  // The commands' own modules are reached, so the graph is the CLI's.
  match([...via.keys()].join('\n'), /apps\/gateway\/src\/cli\/commands\/user\.ts/);
});
