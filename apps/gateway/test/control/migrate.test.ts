import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { openControlPlane } from '../../src/control/index.ts';
import { applyMigrations, readMigrations } from '../../src/control/migrate.ts';
import { repoRoot, runNode, tempDir } from './helpers.ts';

const migrationsDir = join(repoRoot, 'prisma/migrations');
const TABLES = [
  'AdminToken',
  'AuditLog',
  'ConsoleSession',
  'GatewayNode',
  'Group',
  'Quota',
  'S3Key',
  'Setting',
  'User',
  'UserGroup',
  '_prisma_migrations',
];

function tables(dbPath: string): string[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    const rows = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      .all();
    return (rows as { name: string }[]).map((r) => r.name).sort();
  } finally {
    db.close();
  }
}

function migrationRows(dbPath: string) {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.prepare('SELECT * FROM "_prisma_migrations" ORDER BY started_at').all() as {
      id: string;
      migration_name: string;
      checksum: string;
      finished_at: string | null;
      rolled_back_at: string | null;
      applied_steps_count: number;
    }[];
  } finally {
    db.close();
  }
}

describe('migrations', () => {
  test('the migrations folder has Prisma Migrate layout: a sqlite lock file and <timestamp>_init first', () => {
    assert.match(readFileSync(join(migrationsDir, 'migration_lock.toml'), 'utf8'), /^provider = "sqlite"$/m);
    const names = readMigrations(migrationsDir).map((m) => m.name);
    assert.match(names[0] ?? '', /^\d{14}_init$/);
  });

  test('a fresh state folder gets every table and one _prisma_migrations row per migration', async () => {
    using tmp = tempDir();
    const stateDir = join(tmp.dir, 'new', 'state');
    const cp = await openControlPlane({ stateDir });
    await cp.close();
    const dbPath = join(stateDir, 'control.db');
    assert.deepEqual(tables(dbPath), TABLES);
    const local = readMigrations(migrationsDir);
    const rows = migrationRows(dbPath);
    assert.deepEqual(
      rows.map((r) => r.migration_name),
      local.map((m) => m.name),
    );
    const init = rows[0]!;
    const sql = readFileSync(join(migrationsDir, init.migration_name, 'migration.sql'));
    assert.equal(init.checksum, createHash('sha256').update(sql).digest('hex'));
    assert.match(init.id, /^[0-9a-f-]{36}$/);
    assert.match(init.finished_at ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
    assert.equal(init.rolled_back_at, null);
    assert.equal(init.applied_steps_count, 1);
    assert.equal(statSync(dbPath).mode & 0o777, 0o600, 'control.db is readable by its owner only');
  });

  test('reopening an existing state folder applies nothing and keeps data and secrets', async () => {
    using tmp = tempDir();
    const first = await openControlPlane({ stateDir: tmp.dir });
    await first.users.add({ name: 'alice' });
    const key = first.secrets.nfsHandleKey.toString('hex');
    await first.close();
    const before = migrationRows(join(tmp.dir, 'control.db'));

    const again = await openControlPlane({ stateDir: tmp.dir });
    try {
      assert.deepEqual(again.migrations.applied, []);
      assert.equal((await again.users.get('alice'))?.uid, 1000);
      assert.equal(again.secrets.nfsHandleKey.toString('hex'), key);
    } finally {
      await again.close();
    }
    assert.deepEqual(migrationRows(join(tmp.dir, 'control.db')), before);
  });

  test('two processes opening the same fresh state folder at once both succeed', async () => {
    using tmp = tempDir();
    const stateDir = join(tmp.dir, 'state');
    const child = join(repoRoot, 'apps/gateway/test/control/fixtures/open-child.ts');
    const startAt = String(Date.now() + 1500);
    const runs = await Promise.all([0, 1].map(() => runNode(['--import', 'tsx', child, stateDir, startAt])));
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const seen = runs.map((r) => JSON.parse(r.stdout.trim()) as Record<string, unknown>);
    const [a, b] = seen as [Record<string, unknown>, Record<string, unknown>];
    assert.deepEqual(
      [...(a.applied as string[]), ...(b.applied as string[])],
      readMigrations(migrationsDir).map((m) => m.name),
      'each migration applied exactly once',
    );
    assert.equal(a.nfsKey, b.nfsKey, 'both processes use the same NFS handle key');
    assert.equal(a.s3Key, b.s3Key, 'both processes use the same S3 encryption key');
    assert.equal(a.sharedGid, b.sharedGid, 'ensure-by-name created one group');
    assert.equal(migrationRows(join(stateDir, 'control.db')).length, readMigrations(migrationsDir).length);
    const db = new Database(join(stateDir, 'control.db'), { readonly: true });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
  });

  test("a table-redefinition migration (Prisma's SQLite ALTER) keeps rows that cascade from the table", async () => {
    using tmp = tempDir();
    const dir = join(tmp.dir, 'migrations');
    cpSync(migrationsDir, dir, { recursive: true });
    const cp = await openControlPlane({ stateDir: tmp.dir, migrationsDir: dir });
    await cp.users.add({ name: 'alice', groups: ['staff'] });
    await cp.s3Keys.create('alice');
    await cp.close();

    // Written by `prisma-migration-new` for a schema change SQLite cannot ALTER in place
    // (here: a new `shell` column between existing ones and a changed default).
    mkdirSync(join(dir, '99990101000000_user_shell'));
    writeFileSync(
      join(dir, '99990101000000_user_shell', 'migration.sql'),
      `-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_User" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "name" TEXT NOT NULL,
    "uid" INTEGER NOT NULL,
    "gid" INTEGER NOT NULL,
    "shell" TEXT NOT NULL DEFAULT '/bin/sh',
    "ntHash" TEXT,
    "passwordHash" TEXT,
    "role" TEXT,
    "disabled" BOOLEAN NOT NULL DEFAULT true,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);
INSERT INTO "new_User" ("createdAt", "disabled", "gid", "id", "name", "ntHash", "passwordHash", "role", "uid", "updatedAt") SELECT "createdAt", "disabled", "gid", "id", "name", "ntHash", "passwordHash", "role", "uid", "updatedAt" FROM "User";
DROP TABLE "User";
ALTER TABLE "new_User" RENAME TO "User";
CREATE UNIQUE INDEX "User_name_key" ON "User"("name");
CREATE UNIQUE INDEX "User_uid_key" ON "User"("uid");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
`,
    );
    const db = new Database(join(tmp.dir, 'control.db'));
    try {
      const result = applyMigrations(db, readMigrations(dir));
      assert.deepEqual(result.applied, ['99990101000000_user_shell']);
      const counts = db
        .prepare('SELECT (SELECT count(*) FROM UserGroup) AS g, (SELECT count(*) FROM S3Key) AS k')
        .get();
      assert.deepEqual(counts, { g: 1, k: 1 }, 'DROP TABLE "User" did not cascade');
      assert.equal(db.pragma('foreign_keys', { simple: true }), 1, 'foreign keys are back on');
    } finally {
      db.close();
    }
  });

  test('a failing migration leaves neither schema changes nor a history row behind', () => {
    using tmp = tempDir();
    const dir = join(tmp.dir, 'migrations');
    cpSync(migrationsDir, dir, { recursive: true });
    mkdirSync(join(dir, '99990101000000_broken'));
    writeFileSync(
      join(dir, '99990101000000_broken', 'migration.sql'),
      'CREATE TABLE "Half" (x);\nNOT SQL;\n',
    );
    const db = new Database(join(tmp.dir, 'control.db'));
    try {
      assert.throws(() => applyMigrations(db, readMigrations(dir)), /99990101000000_broken failed/);
      assert.deepEqual(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all(), []);
    } finally {
      db.close();
    }
  });

  test('a migration Prisma recorded as failed blocks start-up with a clear error', () => {
    using tmp = tempDir();
    const db = new Database(join(tmp.dir, 'control.db'));
    try {
      applyMigrations(db, readMigrations(migrationsDir));
      db.prepare('UPDATE "_prisma_migrations" SET finished_at = NULL').run();
      const withNext = [
        ...readMigrations(migrationsDir),
        { name: '99990101000000_next', sql: 'SELECT 1;', checksum: 'x' },
      ];
      assert.throws(() => applyMigrations(db, withNext), /recorded as failed/);
    } finally {
      db.close();
    }
  });
});

const hasWasmEngine = (() => {
  try {
    createRequire(join(repoRoot, 'apps/gateway/package.json')).resolve('@prisma/schema-engine-wasm');
    return true;
  } catch {
    return false;
  }
})();
const wasmSkip = hasWasmEngine ? false : '@prisma/schema-engine-wasm is not installed';
const tool = join(repoRoot, 'scripts/prisma-migration-new.mjs');

describe('agreement with Prisma Migrate (wasm schema engine)', () => {
  test('prisma/migrations produce exactly prisma/schema.prisma (no drift)', { skip: wasmSkip }, async () => {
    const r = await runNode([tool, '--check']);
    assert.equal(r.code, 0, `schema and migrations differ; missing SQL:\n${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /agree/);
  });

  test("Prisma's migration-history check accepts what the gateway's migrator recorded", {
    skip: wasmSkip,
  }, async () => {
    using tmp = tempDir();
    const cp = await openControlPlane({ stateDir: tmp.dir });
    await cp.close();
    assert.equal(existsSync(join(tmp.dir, 'control.db-wal')), false, 'WAL checkpointed on close');
    const r = await runNode([tool, '--status', join(tmp.dir, 'control.db')]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      editedMigrationNames: [],
      failedMigrationNames: [],
      hasMigrationsTable: true,
      history: null,
    });
    assert.ok(readdirSync(tmp.dir).includes('control.db'));
  });
});
