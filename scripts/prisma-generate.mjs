#!/usr/bin/env node
// Generates the Prisma client (prisma/schema.prisma → apps/gateway/src/generated/prisma).
// Runs from the root `postinstall`, so `npm ci && npm test` works on a fresh clone.
//
// Idempotent and fast: skips when the output was generated from the same schema, config and
// Prisma version (a stamp file in the output records them); `--force` regenerates anyway.
// Offline: `prisma generate` needs no schema engine, but the CLI insists that one exists, so
// PRISMA_SCHEMA_ENGINE_BINARY defaults to an existing file. Any failure exits non-zero.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'apps/gateway/src/generated/prisma');
const stampFile = join(out, '.generated-from');
const inputs = ['prisma/schema.prisma', 'prisma.config.ts'];

function fail(message) {
  console.error(`prisma-generate: ${message}`);
  process.exit(1);
}

const require = createRequire(join(root, 'package.json'));
let prismaPkg;
try {
  prismaPkg = require.resolve('prisma/package.json');
} catch {
  fail('the prisma CLI is not installed (it is a root devDependency: run `npm ci` without --omit=dev)');
}
const prismaVersion = JSON.parse(readFileSync(prismaPkg, 'utf8')).version;

const hash = createHash('sha256').update(`prisma ${prismaVersion}\n`);
for (const f of inputs) {
  const p = join(root, f);
  hash.update(`${f}\n`).update(existsSync(p) ? readFileSync(p) : '(absent)');
}
const stamp = hash.digest('hex');

const force = process.argv.includes('--force');
if (!force && existsSync(join(out, 'client.ts')) && existsSync(stampFile)) {
  if (readFileSync(stampFile, 'utf8').trim() === stamp) {
    console.log('prisma-generate: client is up to date');
    process.exit(0);
  }
}

const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY:
    process.env.PRISMA_SCHEMA_ENGINE_BINARY || (existsSync('/bin/true') ? '/bin/true' : process.execPath),
  CHECKPOINT_DISABLE: '1',
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
};
const cli = join(dirname(prismaPkg), 'build/index.js');
const r = spawnSync(process.execPath, [cli, 'generate', '--schema', 'prisma/schema.prisma'], {
  cwd: root,
  env,
  encoding: 'utf8',
});
if (r.error) fail(`could not run ${cli}: ${r.error.message}`);
if (r.status !== 0 || !existsSync(join(out, 'client.ts'))) {
  process.stderr.write(r.stdout + r.stderr);
  fail(`\`prisma generate\` failed (exit ${r.status ?? r.signal}); see the output above`);
}
writeFileSync(stampFile, `${stamp}\n`);
console.log(
  `prisma-generate: generated ${join('apps/gateway/src/generated/prisma')} (prisma ${prismaVersion})`,
);
