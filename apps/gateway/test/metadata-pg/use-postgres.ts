// Imported first by namespace.test.ts: the storage fixtures open their metadata on PostgreSQL.
process.env.CFS_TEST_METADATA = 'postgres';
