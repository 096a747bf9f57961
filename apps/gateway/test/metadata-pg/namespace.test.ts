/**
 * The namespace's behaviour tests (test/storage), run again with the metadata on a real
 * PostgreSQL: the same programs (storage/meta) through the pg driver must give the same
 * answers, errors and durability as through SQLite.
 */
import './use-postgres.ts';
import '../storage/entries.test.ts';
import '../storage/listings.test.ts';
import '../storage/permissions.test.ts';
import '../storage/rename.test.ts';
import '../storage/data.test.ts';
import '../storage/change-feed.test.ts';
import '../storage/pooled-read.test.ts';
import '../storage/immutable.test.ts';
