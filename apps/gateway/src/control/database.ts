import type { PrismaClient } from '../generated/prisma/client.ts';
import type { MigrationResult } from './migrate.ts';

/**
 * The control plane's database, opened and migrated. `prisma` is typed with the SQLite client:
 * both generated clients come from the same models (scripts/prisma-schemas.mjs) and expose the
 * same delegates; the repositories use nothing provider-specific, and every control-plane test
 * runs against both providers to keep it so.
 */
export interface ControlDatabase {
  readonly backend: 'sqlite' | 'postgres';
  /** The file, or the PostgreSQL URL without its password and the schema, for messages. */
  readonly location: string;
  readonly migrations: MigrationResult;
  readonly prisma: PrismaClient;
  close(): Promise<void>;
}
