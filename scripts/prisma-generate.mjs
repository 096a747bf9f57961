#!/usr/bin/env node
// Generates the control plane's Prisma clients, one per provider (scripts/prisma-schemas.mjs):
// prisma/schema.prisma → apps/gateway/src/generated/prisma (SQLite), and
// prisma/postgresql/schema.prisma, first re-derived from the SQLite schema, →
// apps/gateway/src/generated/prisma-pg (PostgreSQL).
// Runs from the root `postinstall`, so `npm ci && npm test` works on a fresh clone.
//
// Idempotent and fast: skips a client generated from the same schema, config and Prisma
// version (a stamp file in its folder records them); `--force` regenerates anyway.
// Offline: `prisma generate` needs no schema engine, but the CLI insists that one exists, so
// PRISMA_SCHEMA_ENGINE_BINARY defaults to an existing file. Any failure exits non-zero.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { currentPostgresSchema, root, SCHEMAS } from './prisma-schemas.mjs';

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
const cli = join(dirname(prismaPkg), 'build/index.js');
const force = process.argv.includes('--force');
const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY:
    process.env.PRISMA_SCHEMA_ENGINE_BINARY || (existsSync('/bin/true') ? '/bin/true' : process.execPath),
  CHECKPOINT_DISABLE: '1',
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
};

let derived;
try {
  derived = currentPostgresSchema();
} catch (e) {
  fail(e.message);
}

for (const s of SCHEMAS) {
  const schemaPath = join(root, s.schema);
  if (s.derived) {
    const old = existsSync(schemaPath) ? readFileSync(schemaPath, 'utf8') : null;
    if (old !== derived) {
      mkdirSync(dirname(schemaPath), { recursive: true });
      writeFileSync(schemaPath, derived);
      console.log(`prisma-generate: wrote ${s.schema} (derived from prisma/schema.prisma)`);
    }
  }
  const out = join(root, s.client);
  const stampFile = join(out, '.generated-from');
  const hash = createHash('sha256').update(`prisma ${prismaVersion}\n`);
  for (const f of [s.schema, 'prisma.config.ts']) {
    const p = join(root, f);
    hash.update(`${f}\n`).update(existsSync(p) ? readFileSync(p) : '(absent)');
  }
  const stamp = hash.digest('hex');
  if (!force && existsSync(join(out, 'client.ts')) && existsSync(stampFile)) {
    if (readFileSync(stampFile, 'utf8').trim() === stamp) {
      console.log(`prisma-generate: ${s.provider} client is up to date`);
      continue;
    }
  }
  const r = spawnSync(process.execPath, [cli, 'generate', '--schema', s.schema], {
    cwd: root,
    env,
    encoding: 'utf8',
  });
  if (r.error) fail(`could not run ${cli}: ${r.error.message}`);
  if (r.status !== 0 || !existsSync(join(out, 'client.ts'))) {
    process.stderr.write(r.stdout + r.stderr);
    fail(
      `\`prisma generate --schema ${s.schema}\` failed (exit ${r.status ?? r.signal}); see the output above`,
    );
  }
  writeFileSync(stampFile, `${stamp}\n`);
  console.log(`prisma-generate: generated ${s.client} (${s.provider}, prisma ${prismaVersion})`);
}
