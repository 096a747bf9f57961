/**
 * fsck on the scaled-out stores: metadata in PostgreSQL (checked on a snapshot copied into
 * memory) and file data in an object store (a second gateway serving S3). The same checks as
 * on the embedded stores find a missing entry, an orphan blob and bytes changed under an
 * S3 ETag; --repair is refused there; `./cfs fsck` reads both from the configuration.
 */
import { deepEqual, equal, match, rejects } from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { S3DataStore } from '../../src/storage/data/s3-blobs.ts';
import { ETAG_CHANGE_XATTR, ETAG_MD5_XATTR, runFsck } from '../../src/storage/fsck/index.ts';
import { openNamespace } from '../../src/storage/open.ts';
import type { Credential } from '../../src/storage/types.ts';
import { BUCKET, type StoreServer, startStoreServer } from '../data-s3/store-server.ts';
import { requirePostgres, sharedPostgres } from '../support/postgres.ts';
import { makeTempDir } from '../support/tmpdir.ts';

const CFS = fileURLToPath(new URL('../../../../cfs', import.meta.url));
const ALICE: Credential = { uid: 1000, gid: 1000, gids: [] };
const PREFIX = 'fsck';
/** A blob id no inode will reach in this test. */
const STRAY_BLOB = 0xf_ffffn;

describe('fsck on PostgreSQL metadata and an object store', requirePostgres(), () => {
  let server: StoreServer;
  let store: S3DataStore;
  let metadataUrl: string;
  const dir = makeTempDir('fsck-scale-out');
  const ino: Record<string, bigint> = {};
  const check = (extra: { repair?: boolean; path?: string } = {}) =>
    runFsck({ metadataUrl, dataStore: store, dataName: `s3://${BUCKET}/${PREFIX}`, ...extra });

  before(async () => {
    const pg = await sharedPostgres();
    metadataUrl = await pg.createDatabase();
    server = await startStoreServer();
    const ns = await openNamespace({
      metadataUrl,
      transportUrl: `s3://${BUCKET}/${PREFIX}`,
      objectStore: server.settings(),
    });
    try {
      const exp = (await ns.ensureDirectory('/export', 0o1777)).ino;
      for (const [name, body] of [
        ['a.txt', 'alpha '.repeat(20_000)],
        ['b.txt', 'bravo'],
        ['etag.bin', 'content an S3 PUT recorded the MD5 of'],
      ] as const) {
        const f = await ns.create(ALICE, exp, name, 0o644);
        await ns.write(ALICE, f.ino, 0n, Buffer.from(body));
        ino[name] = f.ino;
      }
      // What an S3 PUT leaves: the content's MD5, current at the inode's change value.
      const etag = await ns.getattr(ino['etag.bin']!);
      const md5 = createHash('md5').update('content an S3 PUT recorded the MD5 of').digest('hex');
      await ns.setXattrs(
        ALICE,
        etag.ino,
        {
          [ETAG_MD5_XATTR]: Buffer.from(`"${md5}"`),
          [ETAG_CHANGE_XATTR]: Buffer.from(String(etag.changeId)),
        },
        { quiet: true },
      );
    } finally {
      await ns.close();
    }
    store = await server.open(PREFIX);
  });
  after(async () => {
    await store?.close();
    await server?.stop();
  });

  test('1 a clean namespace: every inode, entry and blob counted, the ETag verified through the store', async () => {
    const r = await check();
    deepEqual(r.problems, []);
    equal(r.clean, true);
    equal(r.checked.inodes, 5, 'root, /export and three files');
    equal(r.checked.entries, 4);
    equal(r.checked.blobs, 3);
    equal(r.info.checksumsVerified, 1);
  });

  test('2 a missing entry, an orphan blob and changed bytes are found; --repair is refused', async () => {
    const pg = await sharedPostgres();
    await pg.query(
      "DELETE FROM claudefs.dirents WHERE name = 'b.txt'",
      [],
      new URL(metadataUrl).pathname.slice(1),
    );
    // A blob nobody references, as a crashed upload could leave it.
    await store.write(STRAY_BLOB, 0, Buffer.from('stray bytes'));
    await store.sync(STRAY_BLOB);
    // The object changed behind the gateway's back.
    await store.write(ino['etag.bin']!, 0, Buffer.from('CONTENT'));
    await store.sync(ino['etag.bin']!);

    const r = await check();
    equal(r.clean, false);
    const kinds = r.problems.map((p) => p.kind).sort();
    deepEqual(kinds, ['checksum-mismatch', 'orphan-blob', 'orphan-inode']);
    const orphanBlob = r.problems.find((p) => p.kind === 'orphan-blob')!;
    equal(
      orphanBlob.detail,
      `blob 0000000fffff in s3://${BUCKET}/${PREFIX} belongs to no file and is not queued for deletion`,
    );
    equal(r.problems.find((p) => p.kind === 'orphan-inode')!.ino, Number(ino['b.txt']));
    equal(r.problems.find((p) => p.kind === 'checksum-mismatch')!.path, '/export/etag.bin');

    await rejects(check({ repair: true }), /refusing to repair: --repair works on the embedded stores/);
    // Nothing was changed by the refusal.
    equal((await check()).problems.length, 3);
  });

  test('3 ./cfs fsck reads both stores from the configuration: JSON report, exit 1', () => {
    const s = server.settings();
    const config = join(dir, 'gateway.yaml');
    writeFileSync(
      config,
      `node: { name: fsck-cli, state_dir: ${dir}/state }
metadata: { url: "${metadataUrl}" }
transport:
  url: s3://${BUCKET}/${PREFIX}
  endpoint: ${s.endpoint}
  region: us-east-1
  access_key_id: ${s.accessKeyId}
  secret_access_key_file: ${s.secretAccessKeyFile}
  force_path_style: true
  chunk_size: 64KiB
`,
    );
    const r = spawnSync(CFS, ['fsck', '--json', '--config', config], { encoding: 'utf8', timeout: 120_000 });
    equal(r.status, 1, r.stderr);
    const report = JSON.parse(r.stdout) as { problems: Array<{ kind: string }> };
    deepEqual(report.problems.map((p) => p.kind).sort(), [
      'checksum-mismatch',
      'orphan-blob',
      'orphan-inode',
    ]);
    const refused = spawnSync(CFS, ['fsck', '--repair', '--config', config], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    equal(refused.status, 2);
    match(refused.stderr, /--repair works on the embedded stores/);
  });
});
