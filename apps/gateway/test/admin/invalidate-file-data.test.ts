import { equal, ok } from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { LocalBlobStore } from '../../src/storage/data/local-blobs.ts';
import { ROOT } from '../../src/storage/types.ts';
import { type ClientGateway, startClientGateway } from '../nfs-v3/gateway.ts';
import { fetchText } from '../support/http.ts';
import { runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools } from '../support/tools.ts';

const TOOLS = requireTools('nfs-cp', 'nfs-cat');
/** The libnfs tools act as this AUTH_SYS identity. */
const UID = 2300;
const AS = `uid=${UID}&gid=${UID}`;

/**
 * RUNBOOK Data Inconsistency: the store's bytes changed behind the gateway's back (another tool,
 * a restore), the operator invalidates the caches, and a real client must then read what the
 * store holds — not the copy the gateway held of the file's bytes before.
 */
describe("the operator's cache invalidation drops the file bytes it held", () => {
  let g: ClientGateway;
  let work: string;

  before(async () => {
    // Cached attributes and inline bytes last the hour: only the invalidation can drop them.
    g = await startClientGateway({ extraYaml: 'cache: { ttl: 1h }' });
    work = makeTempDir('invalidate-data');
    const exp = await g.gw.ns.resolvePath(ROOT, '/export');
    const d = await g.gw.ns.mkdir(ROOT, exp.ino, 'inc', 0o777);
    await g.gw.ns.setattr(ROOT, d.ino, { uid: UID, gid: UID });
  });
  after(() => g?.stop());

  const run = async (cmd: string, args: string[]) => {
    const r = await runCommand(cmd, args);
    if (r.code !== 0) throw new Error(`${cmd} failed: ${r.output}`);
    return r.stdout;
  };
  /** What nfs-cat reads (bytes go through a file: runCommand decodes text). */
  const nfsCat = async (name: string): Promise<Buffer> => {
    const out = join(work, `${name}.read`);
    await run('sh', ['-c', `nfs-cat '${g.url(`/export/inc/${name}`, AS)}' > '${out}'`]);
    return readFileSync(out);
  };
  /** Writes `bytes` over NFS and reads them back once, so the gateway holds them. */
  const writeAndRead = async (name: string, bytes: Buffer): Promise<bigint> => {
    const local = join(work, name);
    writeFileSync(local, bytes);
    await run('nfs-cp', [local, g.url(`/export/inc/${name}`, AS)]);
    ok((await nfsCat(name)).equals(bytes), 'the first read returns what was written');
    return (await g.gw.ns.resolvePath(ROOT, `/export/inc/${name}`)).ino;
  };
  /** Changes a file's own blob in the data folder, as the runbook review's repro does. */
  const changeBlob = (ino: bigint, bytes: Buffer) =>
    writeFileSync((g.gw.ns.data as LocalBlobStore).pathOf(ino), bytes);
  const invalidate = async (body?: object) => {
    const r = await fetchText(`${g.opsUrl}/admin/cache/invalidate`, {
      method: 'POST',
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    equal(r.status, 200, r.body);
    return JSON.parse(r.body) as { scope: string; dropped: { fileData: number; total: number } };
  };

  test('1 scope all: a small file whose blob changed is read from the store', TOOLS, async () => {
    const old = randomBytes(25_000);
    const ino = await writeAndRead('all.bin', old);
    ok((g.gw.ns.data.smallFiles?.bytes ?? 0) >= old.length, 'the file is held in memory');
    const stored = Buffer.alloc(25_000, 0x5a);
    changeBlob(ino, stored);
    const r = await invalidate();
    ok((await nfsCat('all.bin')).equals(stored), 'nfs-cat reads the bytes the store holds');
    ok(r.dropped.fileData >= 1, JSON.stringify(r));
  });

  test('2 scope path: that file is read from the store; another file stays held', TOOLS, async () => {
    const ino = await writeAndRead('path.bin', randomBytes(25_000));
    const other = randomBytes(30_000);
    const otherIno = await writeAndRead('kept.bin', other);
    const stored = Buffer.alloc(25_000, 0x33);
    changeBlob(ino, stored);
    changeBlob(otherIno, Buffer.alloc(30_000));
    const r = await invalidate({ path: '/export/inc/path.bin' });
    ok((await nfsCat('path.bin')).equals(stored), 'nfs-cat reads the bytes the store holds');
    equal(r.dropped.fileData, 1, JSON.stringify(r));
    // The path scope leaves the rest of the caches: the other file still reads as held.
    ok((await nfsCat('kept.bin')).equals(other), 'a file outside the path stays cached');
  });

  test(
    "3 scope uid: another owner's invalidation keeps the file; its owner's reads the store",
    TOOLS,
    async () => {
      const old = randomBytes(25_000);
      const ino = await writeAndRead('uid.bin', old);
      const stored = Buffer.alloc(25_000, 0x77);
      changeBlob(ino, stored);
      await invalidate({ uid: UID + 1 });
      ok((await nfsCat('uid.bin')).equals(old), "another uid's invalidation leaves the file's bytes held");
      const r = await invalidate({ uid: UID });
      ok((await nfsCat('uid.bin')).equals(stored), 'nfs-cat reads the bytes the store holds');
      ok(r.dropped.fileData >= 1, JSON.stringify(r));
    },
  );

  test(
    '4 an inline file (bytes in the metadata database) is read from the store after each scope',
    TOOLS,
    async () => {
      const ino = await writeAndRead('inline.bin', randomBytes(1000));
      equal((await g.gw.ns.resolvePath(ROOT, '/export/inc/inline.bin')).size, 1000n);
      const db = new Database(join(g.dir, 'state', 'meta.db'));
      try {
        const change = (fill: number) => {
          const bytes = Buffer.alloc(1000, fill);
          const n = db.prepare('UPDATE inline_data SET bytes = ? WHERE ino = ?').run(bytes, ino).changes;
          equal(n, 1, 'the file keeps its bytes inline');
          return bytes;
        };
        for (const [i, body] of [{ path: '/export/inc/inline.bin' }, { uid: UID }, undefined].entries()) {
          const stored = change(0x41 + i);
          await invalidate(body);
          ok((await nfsCat('inline.bin')).equals(stored), `scope ${JSON.stringify(body ?? 'all')}`);
        }
      } finally {
        db.close();
      }
    },
  );
});
