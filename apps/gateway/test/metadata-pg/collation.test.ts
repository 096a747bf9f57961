/**
 * S3 lists keys bytewise (UTF-8). A PostgreSQL database made with a language's collation sorts
 * text otherwise ('a' < 'B', punctuation weighed last); the namespace's name-ordered listing
 * must not follow it.
 */
import { deepEqual, notDeepEqual } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type OpenedNamespace, openNamespace } from '../../src/storage/open.ts';
import { ROOT } from '../../src/storage/types.ts';
import { requirePostgres, sharedPostgres } from '../support/postgres.ts';
import { makeTempDir } from '../support/tmpdir.ts';

const NAMES = ['b', 'B', 'a-c', 'ab', 'a c', 'é', 'e', 'z', 'a.b', 'A', '_x', '0', 'ß'];
const bytewise = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

describe('namespace on PostgreSQL with an ICU en-US collation', requirePostgres(), () => {
  let ns: OpenedNamespace;
  let dir: bigint;
  let database: string;
  before(async () => {
    const pg = await sharedPostgres();
    database = 'cfs_icu_en_us';
    await pg.query(
      `CREATE DATABASE ${database} TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'`,
    );
    const tmp = makeTempDir('ns-icu');
    ns = await openNamespace({ metadataUrl: pg.url(database), transportUrl: `file://${tmp}/data` });
    const exp = (await ns.ensureDirectory('/export', 0o1777)).ino;
    dir = (await ns.mkdir(ROOT, exp, 'listed', 0o755)).ino;
    for (const name of NAMES) await ns.create(ROOT, dir, name, 0o644);
  });
  after(() => ns?.close());

  test('1 the database orders names its own way; readdirByName orders them bytewise, page after page', async () => {
    const pg = await sharedPostgres();
    const native = await pg.query<{ name: string }>(
      'SELECT name FROM claudefs.dirents WHERE parent = $1 ORDER BY name',
      [String(dir)],
      database,
    );
    const expected = [...NAMES].sort(bytewise);
    notDeepEqual(
      native.map((r) => r.name),
      expected,
      'the collation differs from bytewise',
    );
    const seen: string[] = [];
    for (let from = ''; ; ) {
      const page = await ns.readdirByName(ROOT, dir, from, 4);
      seen.push(...page.entries.map((e) => e.name));
      if (page.eof) break;
      from = page.entries.at(-1)!.name;
    }
    deepEqual(seen, expected);
    deepEqual(
      (await ns.readdirByName(ROOT, dir, 'B', 100)).entries.map((e) => e.name),
      expected.filter((n) => bytewise(n, 'B') > 0),
    );
  });
});
