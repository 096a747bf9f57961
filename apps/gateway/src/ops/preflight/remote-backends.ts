import { redactUrl } from '../../config/backend-url.ts';
import { pgConnectionString } from '../../config/control-url.ts';
import type { GatewayConfig } from '../../config/types.ts';
import { fail, type PreflightResult, pass, warn } from './result.ts';

/** How long a remote backend's probe may take before it counts as not answering. */
const PROBE_DEADLINE_MS = 10_000;

type PostgresMetadata = Extract<GatewayConfig['metadata'], { kind: 'postgres' }>;
type ObjectStoreTransport = Extract<GatewayConfig['transport'], { kind: 's3' }>;

/**
 * PostgreSQL metadata ("A2" scaled out): a connection as the gateway's own (same URL), the
 * server's version, its synchronous_commit (off would lose acknowledged writes at a crash),
 * and whether the namespace schema is there yet (the first gateway creates it).
 */
export async function checkPostgresMetadata(m: PostgresMetadata): Promise<PreflightResult> {
  const where = redactUrl(m.url);
  // Loaded only here, as the store loads them: the embedded default never needs `pg`.
  const [{ default: pg }, { schemaOf }] = await Promise.all([
    import('pg'),
    import('../../storage/postgres/store.ts'),
  ]);
  const schema = schemaOf(m.url);
  const client = new pg.Client({
    connectionString: pgConnectionString(m.url),
    connectionTimeoutMillis: PROBE_DEADLINE_MS,
    statement_timeout: PROBE_DEADLINE_MS,
    query_timeout: PROBE_DEADLINE_MS,
  });
  client.on('error', () => {}); // reported through the awaited calls
  try {
    await client.connect();
    const r = await client.query<{ version: string; sync: string; tables: string }>(
      `SELECT current_setting('server_version') AS version, current_setting('synchronous_commit') AS sync,
        (SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'inodes')::text AS tables`,
      [schema],
    );
    const { version, sync, tables } = r.rows[0]!;
    const made =
      tables === '1'
        ? `schema ${schema} in place`
        : `schema ${schema} not there yet: the first gateway creates it`;
    if (sync === 'off')
      return warn(
        'metadata',
        `${where}: PostgreSQL ${version}, ${made}; synchronous_commit is off: a database crash can lose changes the gateway acknowledged`,
      );
    return pass('metadata', `${where}: PostgreSQL ${version} answered, ${made}`);
  } catch (e) {
    return fail('metadata', `${where}: ${(e as Error).message}`);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * An object store as the data store ("A4 transport" scaled out): a probe object written, read
 * back and deleted under the configured prefix, with the gateway's own credentials and settings.
 */
export async function checkObjectStore(
  config: GatewayConfig,
  t: ObjectStoreTransport,
): Promise<PreflightResult> {
  const where = redactUrl(t.url);
  const { openS3DataStore } = await import('../../storage/data/s3-blobs.ts');
  let store: Awaited<ReturnType<typeof openS3DataStore>> | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    store = await openS3DataStore(t, config.objectStore);
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${PROBE_DEADLINE_MS / 1000} s`)),
        PROBE_DEADLINE_MS,
      );
    });
    await Promise.race([store.probe(), late]);
    return pass('transport', `${where}: wrote, read back and deleted a probe object`);
  } catch (e) {
    return fail('transport', `${where}: ${(e as Error).message}`);
  } finally {
    clearTimeout(timer);
    await store?.close().catch(() => {});
  }
}
