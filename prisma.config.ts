// Read by the Prisma CLI (`prisma generate`, and `prisma migrate deploy|status` wherever Prisma's
// native engines can be downloaded). The gateway itself never reads this file: it applies the
// migrations with its own migrators (apps/gateway/src/control/migrate.ts, migrate-pg.ts).
//
// CFS_CONTROL_DATABASE_URL picks the provider: `file:<stateDir>/control.db` (SQLite) or
// `postgres://…?schema=cfs_control` (PostgreSQL: prisma/postgresql, derived from the SQLite schema).
import { defineConfig } from 'prisma/config';

const url = process.env.CFS_CONTROL_DATABASE_URL ?? 'file:./state/control.db';
const postgres = /^postgres(ql)?:\/\//.test(url);

export default defineConfig({
  schema: postgres ? 'prisma/postgresql/schema.prisma' : 'prisma/schema.prisma',
  migrations: { path: postgres ? 'prisma/postgresql/migrations' : 'prisma/migrations' },
  datasource: { url },
});
