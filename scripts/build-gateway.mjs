#!/usr/bin/env node
// Builds the gateway and the `./cfs` CLI into apps/gateway/dist/cfs.mjs (and chunks beside it),
// which `./cfs` runs when it is newer than every source file (otherwise it runs the sources
// through tsx, as before). Runs from the root `postinstall` after the Prisma clients are
// generated, so `npm ci` leaves a built CLI; `npm run build:gateway` after editing sources.
//
// Why: through tsx every start compiles or fetches ~600 modules over the loader thread —
// `./cfs --help` took 2.3–2.5 s on the development VM, 0.70–0.76 s from the build (with each
// command importing only what it uses).
// What it holds: the gateway's own sources, the workspace packages (@claudefs/api) and the
// plain-JavaScript npm packages; the packages in EXTERNAL below stay imports of node_modules.
// CommonJS code inside the bundle gets `require` from createRequire (the banner). A source map
// (paths only, no sources) maps stack traces to the .ts lines (`./cfs` runs it with
// --enable-source-maps). The worker threads' .mjs files are copied beside the bundle, where
// `new URL('./x.mjs', import.meta.url)` finds them.
//
// Atomic: written under temporary names and renamed, so a `./cfs` starting meanwhile runs
// either the old build or the new one. Any failure exits non-zero.
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const gateway = join(root, 'apps', 'gateway');
const dist = join(gateway, 'dist');
const entry = join(gateway, 'src', 'cli', 'main.ts');
/** Worker-thread entry points, loaded by URL next to the module that starts them, and the modules they import. */
const WORKERS = [
  'src/storage/sqlite/checkpointer.mjs',
  'src/storage/sqlite/wal-flusher.mjs',
  'src/util/loop-watchdog.mjs',
  'src/util/thread-state.mjs',
  'src/protocols/smb/crypto/aead-worker.mjs',
  'src/protocols/s3/checksums/hash-worker.mjs',
];

const pkg = JSON.parse(readFileSync(join(gateway, 'package.json'), 'utf8'));
/**
 * npm packages left as imports of node_modules: native addons, generated or engine-backed
 * clients, what only some setups load (in chunks of their own), pino (its streams resolve files
 * at run time) and tRPC (one copy beside the console's). The other, plain-JavaScript packages
 * are bundled: resolving and linking their files one by one was a third of a command's start.
 */
const EXTERNAL = [
  '@aws-sdk/client-s3',
  '@node-rs/crc32',
  '@prisma/adapter-better-sqlite3',
  '@prisma/adapter-pg',
  '@prisma/client',
  '@prisma/driver-adapter-utils',
  '@trpc/server',
  'better-sqlite3',
  'pg',
  'pino',
  'pino-pretty',
];
const unknown = EXTERNAL.filter((name) => pkg.dependencies?.[name] === undefined);
if (unknown.length > 0) {
  console.error(`build-gateway: not a dependency of apps/gateway: ${unknown.join(', ')}`);
  process.exit(1);
}
const external = EXTERNAL.flatMap((name) => [name, `${name}/*`]);

const started = Date.now();
/** [temporary file, final name] */
const written = [];
try {
  const result = await build({
    entryPoints: { cfs: entry },
    outdir: dist,
    // What only some setups need (the `pg` driver, the AWS SDK) is imported where it is used,
    // so it goes into a chunk of its own, loaded then.
    splitting: true,
    chunkNames: '[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${process.versions.node}`,
    external,
    banner: {
      js: "import { createRequire as __cfsCreateRequire } from 'node:module'; const require = __cfsCreateRequire(import.meta.url);",
    },
    // No keepNames: it wraps every named function in a call that defines its `name`, and a
    // closure made per request then pays that each time (11 % of the CPU of an SMB echo).
    // Nothing reads function or class names; a name esbuild suffixes to avoid a clash shows
    // as such only in a stack trace.
    keepNames: false,
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'none',
    logLevel: 'warning',
    write: false,
  });
  mkdirSync(dist, { recursive: true });
  for (const file of result.outputFiles) {
    const tmp = `${file.path}.${process.pid}.tmp`;
    writeFileSync(tmp, file.contents);
    written.push([tmp, file.path]);
  }
  for (const rel of WORKERS) {
    const target = join(dist, basename(rel));
    const tmp = `${target}.${process.pid}.tmp`;
    copyFileSync(join(gateway, rel), tmp);
    written.push([tmp, target]);
  }
  // The map first and the bundle last: the bundle's mtime is what `./cfs` compares.
  written.sort(([, a], [, b]) => Number(a.endsWith('cfs.mjs')) - Number(b.endsWith('cfs.mjs')));
  for (const [tmp, target] of written) renameSync(tmp, target);
  // Stamped with the time the sources were read: a file saved during the build is newer.
  const stamp = new Date(started);
  utimesSync(join(dist, 'cfs.mjs'), stamp, stamp);
  // Chunks of earlier builds: kept a day, for a `./cfs` started from one of them that has yet
  // to load a chunk (the daemon loads its own at start; a command when it runs).
  const current = new Set(written.map(([, target]) => basename(target)));
  for (const name of readdirSync(dist)) {
    const file = join(dist, name);
    if (
      !current.has(name) &&
      /-[A-Z0-9]{8}\.mjs(\.map)?$/.test(name) &&
      statSync(file).mtimeMs < started - 86_400_000
    )
      rmSync(file, { force: true });
  }
  const size = result.outputFiles.find((f) => f.path.endsWith('cfs.mjs'))?.contents.length ?? 0;
  console.log(
    `build-gateway: apps/gateway/dist/cfs.mjs (${(size / 1024).toFixed(0)} KiB) in ${Date.now() - started} ms`,
  );
} catch (e) {
  for (const [tmp] of written) rmSync(tmp, { force: true });
  console.error(`build-gateway: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
}
