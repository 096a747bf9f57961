import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { openControlPlane } from '../../src/control/index.ts';
import { applyMigrations, readMigrations } from '../../src/control/migrate.ts';
import { sharedPostgres } from '../support/postgres.ts';
import {
  CONTROL_STORES,
  type ControlStore,
  repoRoot,
  runNode,
  shippedMigrations,
  tempDir,
} from './helpers.ts';

const migrationsDir = join(repoRoot, 'prisma/migrations');
const TABLES = [
  'AdminToken',
  'AuditLog',
  'ConsoleSession',
  'GatewayNode',
  'Group',
  'Quota',
  'RollingRestart',
  'S3Key',
  'Setting',
  'User',
  'UserGroup',
  '_prisma_migrations',
];

describe('migration folders', () => {
  test('each provider has Prisma Migrate layout: a lock file for it and <timestamp>_init first', () => {
    for (const store of CONTROL_STORES) {
      const names = shippedMigrations(store).map((m) => m.name);
      assert.match(names[0] ?? '', /^\d{14}_init$/, store.name);
    }
    assert.throws(
      () => readMigrations(migrationsDir, 'postgresql'),
      /migration_lock.toml is not for provider "postgresql"/,
    );
  });

  test('both providers ship the same migrations, by name, in the same order', () => {
    const [sqlite, postgres] = CONTROL_STORES.map((s) => shippedMigrations(s).map((m) => m.name));
    assert.deepEqual(postgres, sqlite);
  });

  test('prisma/postgresql/schema.prisma is derived from prisma/schema.prisma and is current', async () => {
    const { currentPostgresSchema } = (await import(join(repoRoot, 'scripts/prisma-schemas.mjs'))) as {
      currentPostgresSchema(): string;
    };
    const derived = currentPostgresSchema();
    assert.equal(
      readFileSync(join(repoRoot, 'prisma/postgresql/schema.prisma'), 'utf8'),
      derived,
      'run `node scripts/prisma-generate.mjs` and commit prisma/postgresql/schema.prisma',
    );
    assert.match(derived, /provider = "postgresql"/);
    const models = (text: string) => text.slice(text.indexOf('\nmodel '));
    assert.equal(
      models(derived),
      models(readFileSync(join(repoRoot, 'prisma/schema.prisma'), 'utf8')),
      'same models',
    );
  });
});

for (const store of CONTROL_STORES) {
  describe(`migrations on ${store.name}`, store.options, () => {
    test('a fresh database gets every table and one _prisma_migrations row per migration', async () => {
      const db = await store.fresh();
      const cp = await openControlPlane(db.open);
      await cp.close();
      assert.deepEqual(await db.tables(), TABLES);
      const local = shippedMigrations(store);
      const rows = await db.history();
      assert.deepEqual(
        rows.map((r) => r.migration_name),
        local.map((m) => m.name),
      );
      const init = rows[0]!;
      const sql = readFileSync(join(db.migrationsDir, init.migration_name, 'migration.sql'));
      assert.equal(init.checksum, createHash('sha256').update(sql).digest('hex'));
      assert.match(init.id, /^[0-9a-f-]{36}$/);
      assert.ok(!Number.isNaN(Date.parse(init.finished_at ?? '')), 'finished');
      assert.equal(init.rolled_back_at, null);
      assert.equal(init.applied_steps_count, 1);
      if (store.name === 'sqlite') {
        // Prisma Migrate's own text format for SQLite.
        assert.match(init.finished_at ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
        const dbPath = join(db.stateDir, 'control.db');
        assert.equal(statSync(dbPath).mode & 0o777, 0o600, 'control.db is readable by its owner only');
      }
      await db.dispose();
    });

    test('reopening an existing database applies nothing and keeps data and secrets', async () => {
      const db = await store.fresh();
      const first = await openControlPlane(db.open);
      await first.users.add({ name: 'alice' });
      const key = first.secrets.nfsHandleKey.toString('hex');
      await first.close();
      const before = await db.history();

      const again = await openControlPlane(db.open);
      try {
        assert.deepEqual(again.migrations.applied, []);
        assert.equal((await again.users.get('alice'))?.uid, 1000);
        assert.equal(again.secrets.nfsHandleKey.toString('hex'), key);
      } finally {
        await again.close();
      }
      assert.deepEqual(await db.history(), before);
      await db.dispose();
    });

    test('two processes opening the same fresh database at once both succeed', async () => {
      const db = await store.fresh();
      const child = join(repoRoot, 'apps/gateway/test/control/fixtures/open-child.ts');
      const startAt = String(Date.now() + 1500);
      const args = ['--import', 'tsx', child, db.stateDir, startAt, ...(db.url ? [db.url] : [])];
      const runs = await Promise.all([0, 1].map(() => runNode(args)));
      for (const r of runs) assert.equal(r.code, 0, r.stderr);
      const seen = runs.map((r) => JSON.parse(r.stdout.trim()) as Record<string, unknown>);
      const [a, b] = seen as [Record<string, unknown>, Record<string, unknown>];
      assert.deepEqual(
        [...(a.applied as string[]), ...(b.applied as string[])],
        shippedMigrations(store).map((m) => m.name),
        'each migration applied exactly once',
      );
      assert.equal(a.nfsKey, b.nfsKey, 'both processes use the same NFS handle key');
      assert.equal(a.s3Key, b.s3Key, 'both processes use the same S3 encryption key');
      assert.equal(a.sharedGid, b.sharedGid, 'ensure-by-name created one group');
      assert.equal((await db.history()).length, shippedMigrations(store).length);
      if (store.name === 'sqlite') {
        const sqlite = new Database(join(db.stateDir, 'control.db'), { readonly: true });
        assert.equal(sqlite.pragma('journal_mode', { simple: true }), 'wal');
        sqlite.close();
      }
      await db.dispose();
    });

    test('a failing migration leaves neither schema changes nor a history row behind', async () => {
      const db = await store.fresh();
      const broken = {
        name: '99990101000000_broken',
        sql: 'CREATE TABLE "Half" (x INTEGER);\nNOT SQL;\n',
        checksum: 'x',
      };
      await assert.rejects(
        db.applyMigrations([...shippedMigrations(store), broken]),
        /99990101000000_broken failed/,
      );
      assert.deepEqual(await db.tables(), [], 'not even the shipped migrations stayed');
      await db.dispose();
    });

    test('a migration Prisma recorded as failed blocks start-up with a clear error', async () => {
      const db = await store.fresh();
      await db.applyMigrations(shippedMigrations(store));
      await db.exec('UPDATE "_prisma_migrations" SET finished_at = NULL');
      const withNext = [
        ...shippedMigrations(store),
        { name: '99990101000000_next', sql: 'SELECT 1;', checksum: 'x' },
      ];
      await assert.rejects(db.applyMigrations(withNext), /recorded as failed/);
      await assert.rejects(openControlPlane(db.open), /recorded as failed/);
      await db.dispose();
    });
  });
}

describe('migrations on sqlite only', () => {
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
});

const hasWasmEngine = (() => {
  try {
    createRequire(join(repoRoot, 'apps/gateway/package.json')).resolve('@prisma/schema-engine-wasm');
    return true;
  } catch {
    return false;
  }
})();
const tool = join(repoRoot, 'scripts/prisma-migration-new.mjs');

/** The tool's options for a store: PostgreSQL diffs need a server to create shadow databases on. */
async function toolOptions(store: ControlStore): Promise<string[]> {
  const options = ['--provider', store.provider];
  if (store.name === 'postgres') options.push('--pg-url', (await sharedPostgres()).url());
  return options;
}

for (const store of CONTROL_STORES) {
  const skip =
    store.options.skip ?? (hasWasmEngine ? undefined : '@prisma/schema-engine-wasm is not installed');
  describe(`agreement with Prisma Migrate on ${store.name} (wasm schema engine)`, { skip }, () => {
    test('the migrations produce exactly the schema (no drift)', async () => {
      const r = await runNode([tool, '--check', ...(await toolOptions(store))]);
      assert.equal(r.code, 0, `schema and migrations differ; missing SQL:\n${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /agree/);
    });

    test("Prisma's migration-history check accepts what the gateway's migrator recorded", async () => {
      const db = await store.fresh();
      const cp = await openControlPlane(db.open);
      await cp.close();
      const dbPath = join(db.stateDir, 'control.db');
      if (store.name === 'sqlite') {
        assert.equal(existsSync(`${dbPath}-wal`), false, 'WAL checkpointed on close');
      }
      const r = await runNode([tool, '--status', db.url ?? dbPath]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), {
        editedMigrationNames: [],
        failedMigrationNames: [],
        hasMigrationsTable: true,
        history: null,
      });
      await db.dispose();
    });
  });
}
