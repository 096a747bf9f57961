// Read by the Prisma CLI (`prisma generate`, and `prisma migrate deploy|status` wherever Prisma's
// native engines can be downloaded). The gateway itself never reads this file: it applies
// prisma/migrations with its own migrator (apps/gateway/src/control/migrate.ts).
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: {
    // The control database of a state folder: `file:<stateDir>/control.db`.
    url: process.env.CFS_CONTROL_DATABASE_URL ?? 'file:./state/control.db',
  },
});
