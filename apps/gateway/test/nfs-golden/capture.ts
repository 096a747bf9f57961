/**
 * Captures the golden NFS session replayed by replay.test.ts: real libnfs clients (nfs-ls,
 * nfs-cp both ways, nfs-cat, and nfs-v3/libnfs-harness.c for rename, link, symlink, setattr,
 * READDIRPLUS and UNSTABLE WRITE + COMMIT) run against a deterministic gateway (session.ts)
 * through SerialRecordingProxy, and every call and reply is written to
 * fixtures/libnfs-session.json.
 *
 * Re-capture (needs libnfs-utils, libnfs-dev and gcc — apt-get install -y libnfs-utils
 * libnfs-dev gcc), from the repository root:
 *
 *     node --import tsx apps/gateway/test/nfs-golden/capture.ts
 *     npm test -- apps/gateway/test/nfs-golden
 *
 * then read the fixture's diff: each exchange's `call` line is the request as decoded, so a
 * change in what libnfs sends shows there; a change in what the gateway answers shows as
 * changed `reply` bytes. Re-capture when either change is intended, never to make a failing
 * replay pass without knowing why it failed.
 */
import { equal, ok } from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { compileHarness } from '../nfs-v3/gateway.ts';
import { runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { decodeCall } from './calls.ts';
import { SerialRecordingProxy } from './proxy.ts';
import { compareReply } from './replies.ts';
import { FIXTURE, GOLDEN_UID, type GoldenSession, type Service, startGoldenGateway } from './session.ts';

/** What nfs-cp copies in (and back out): small enough to keep the fixture small. */
const SMALL = Buffer.from(
  Array.from({ length: 40 }, (_, i) => `golden line ${String(i).padStart(2, '0')}\n`).join(''),
);

async function libnfsVersion(): Promise<string> {
  // "libnfs13:amd64<TAB>4.0.0-1+deb12u1"
  const r = await runCommand('dpkg-query', ['-W', 'libnfs13']);
  return (r.code === 0 && r.stdout.trim().split('\t')[1]) || 'unknown';
}

async function main(): Promise<void> {
  const g = await startGoldenGateway();
  const { proxy, ports } = await SerialRecordingProxy.start({ NFS: g.nfsPort, MOUNT: g.mountPort });
  const work = makeTempDir('nfs-golden-capture');
  const harness = await compileHarness();
  const url = (path: string) =>
    `nfs://127.0.0.1${path}?nfsport=${ports.NFS}&mountport=${ports.MOUNT}&version=3&uid=${GOLDEN_UID}&gid=${GOLDEN_UID}`;

  /** Runs one client with the proxy labelling its connections; `fails`: it must exit non-zero. */
  async function client(label: string, cmd: string, args: string[], o: { fails?: boolean } = {}) {
    proxy.client = label;
    const r = await runCommand(cmd, args, { timeoutMs: 120_000 });
    proxy.check();
    if (o.fails) ok(r.code !== 0, `${label} should fail:\n${r.output}`);
    else equal(r.code, 0, `${label} exited ${r.code}:\n${r.output}`);
    process.stdout.write(`${label}: ${r.code === 0 ? 'ok' : `exit ${r.code} (expected)`}\n`);
    return r.stdout;
  }

  const local = join(work, 'small.txt');
  writeFileSync(local, SMALL);
  const listing = await client('nfs-ls /export/golden', 'nfs-ls', [url('/export/golden')]);
  ok(/ many$/m.test(listing), listing);
  await client('nfs-cp small.txt in', 'nfs-cp', [local, url('/export/golden/small.txt')]);
  await client('nfs-cp small.txt in again (EXIST)', 'nfs-cp', [local, url('/export/golden/small.txt')], {
    fails: true,
  });
  const cat = join(work, 'cat.txt');
  await client('nfs-cat small.txt', 'sh', ['-c', `nfs-cat '${url('/export/golden/small.txt')}' > '${cat}'`]);
  ok(readFileSync(cat).equals(SMALL), 'nfs-cat returns what nfs-cp wrote');
  const back = join(work, 'back.txt');
  await client('nfs-cp small.txt out', 'nfs-cp', [url('/export/golden/small.txt'), back]);
  ok(readFileSync(back).equals(SMALL), 'nfs-cp out returns what nfs-cp wrote');
  await client('nfs-cat missing.txt (NOENT)', 'nfs-cat', [url('/export/golden/missing.txt')], {
    fails: true,
  });
  await client('nfs-ls /export/nowhere (MNT NOENT)', 'nfs-ls', [url('/export/nowhere')], { fails: true });
  const ops = await client('harness ops', harness, [url('/export'), 'ops', '/golden/ops']);
  equal(ops.trim().split('\n').length, 9, ops);
  const list = await client('harness list (READDIRPLUS)', harness, [url('/export'), 'list', '/golden/many']);
  equal(list.trim().split('\n').slice(0, 2).join('\n'), 'count 120\nattrs 120');
  const unstable = await client('harness unstable (WRITE UNSTABLE, COMMIT)', harness, [
    url('/export'),
    'unstable',
    '/golden/unstable.bin',
    '4096',
  ]);
  ok(/^unstable 1$/m.test(unstable), unstable);
  await client('nfs-ls /export/golden (after)', 'nfs-ls', [url('/export/golden')]);

  await proxy.close();
  await g.stop();

  const used = new Set(proxy.exchanges.map((e) => e.conn));
  const services = new Map(proxy.connections.map((c) => [c.id, c.service]));
  const session: GoldenSession = {
    about:
      'Captured from real libnfs clients by apps/gateway/test/nfs-golden/capture.ts (see its header to ' +
      're-capture); replayed byte-exact by replay.test.ts. Do not edit by hand.',
    libnfs: await libnfsVersion(),
    connections: proxy.connections.filter((c) => used.has(c.id)),
    exchanges: proxy.exchanges.map((e) => {
      const service = services.get(e.conn) as Service;
      const call = decodeCall(service, e.request);
      const self = compareReply(service, call.proc, e.reply, e.reply);
      if (self.mismatch) throw new Error(`captured reply does not compare with itself: ${self.mismatch}`);
      return {
        conn: e.conn,
        xid: call.xid,
        prog: call.prog,
        vers: call.vers,
        proc: call.proc,
        call: call.text,
        request: e.request.toString('base64'),
        reply: e.reply.toString('base64'),
      };
    }),
  };
  mkdirSync(dirname(FIXTURE), { recursive: true });
  // Two-space JSON is what biome's formatter leaves as it is: a re-capture diffs call by call.
  writeFileSync(FIXTURE, `${JSON.stringify(session, null, 2)}\n`);
  const bytes = readFileSync(FIXTURE).length;
  process.stdout.write(
    `wrote ${FIXTURE}: ${session.exchanges.length} exchanges on ${session.connections.length} connections, ${bytes} bytes\n`,
  );
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`capture failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
