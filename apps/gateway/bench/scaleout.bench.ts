// Scale-out: metadata operations on PostgreSQL (loopback, fsync on) through the namespace, and
// CPU time per S3 request on one gateway node and on each of two nodes sharing PostgreSQL and
// an object store. Nothing serializes across nodes when the CPU per request stays the same.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { OBJECT_STORE_DEFAULTS, parseInlineMax } from '../src/config/object-store.ts';
import { openNamespace } from '../src/storage/open.ts';
import { ROOT } from '../src/storage/types.ts';
import { type StoreServer, startStoreServer } from '../test/data-s3/store-server.ts';
import { Cluster, type ClusterNode } from '../test/scale-out/cluster.ts';
import { fetchText } from '../test/support/http.ts';
import { startPostgres } from '../test/support/postgres.ts';
import { makeTempDir } from '../test/support/tmpdir.ts';
import { type BenchRow, printTable } from './table.ts';

const rows: BenchRow[] = [];

/** Runs `op` from `workers` loops for `ms`; operations per second. */
async function rate(
  workers: number,
  ms: number,
  op: (w: number, i: number) => Promise<unknown>,
): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  const end = t0 + ms;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let i = 0; performance.now() < end; i++) {
        await op(w, i);
        n++;
      }
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

const pg = await startPostgres({ settings: { fsync: 'on', full_page_writes: 'on' } });
let store: StoreServer | undefined;
let cluster: Cluster | undefined;
try {
  // ---- namespace metadata on PostgreSQL ----------------------------------------------------
  // As a gateway opens it by default: a new file's bytes start in its metadata row (inline_max),
  // so a create is metadata only, as it is on a scaled-out node whose data is in an object store.
  const ns = await openNamespace({
    metadataUrl: await pg.createDatabase(),
    transportUrl: `file://${makeTempDir('scaleout-data')}`,
    cacheTtlMs: 0,
    inlineMaxBytes: parseInlineMax(OBJECT_STORE_DEFAULTS.inlineMax),
  });
  const dirs: bigint[] = [];
  for (let i = 0; i < 16; i++) dirs.push((await ns.mkdir(ROOT, ns.rootIno, `d${i}`, 0o755)).ino);
  // A second of the same load first (JIT, connections, caches): its first second ran at 0.8×.
  await rate(32, 1000, (w, i) => ns.create(ROOT, dirs[w % 16]!, `warm-${w}-${i}`, 0o644));
  const spread = await rate(32, 5000, (w, i) => ns.create(ROOT, dirs[w % 16]!, `f-${w}-${i}`, 0o644));
  rows.push({
    workload: 'PostgreSQL: create, 32 clients over 16 dirs',
    gateway: spread,
    unit: '/s',
    target: '≥ 2,000/s',
    met: spread >= 2000,
  });
  const oneDir = await rate(32, 3000, (w, i) => ns.create(ROOT, dirs[0]!, `g-${w}-${i}`, 0o644));
  rows.push({
    workload: 'PostgreSQL: create, 32 clients in 1 dir',
    gateway: oneDir,
    unit: '/s',
    target: '(info)',
    met: true,
  });
  const inos: bigint[] = [];
  for (let i = 0; i < 256; i++) inos.push((await ns.create(ROOT, dirs[1]!, `h${i}`, 0o644)).ino);
  const getattr = await rate(64, 5000, (w, i) => ns.getattr(inos[(w * 7 + i) % 256]!));
  rows.push({
    workload: 'PostgreSQL: getattr (uncached), 64 clients',
    gateway: getattr,
    unit: '/s',
    target: '≥ 10,000/s',
    met: getattr >= 10_000,
  });
  await ns.close();

  // ---- CPU per request: one node, then two -------------------------------------------------
  store = await startStoreServer();
  cluster = await Cluster.start(pg, 2, store);
  const [a, b] = cluster.nodes as [ClusterNode, ClusterNode];
  const body = Buffer.alloc(4096, 7);
  const clients = new Map<ClusterNode, S3Client>([
    [a, cluster.s3(a)],
    [b, cluster.s3(b)],
  ]);
  await clients
    .get(a)!
    .send(new (await import('@aws-sdk/client-s3')).CreateBucketCommand({ Bucket: 'bench' }));
  for (let i = 0; i < 64; i++)
    await clients.get(a)!.send(new PutObjectCommand({ Bucket: 'bench', Key: `r${i}`, Body: body }));
  const mixed = (n: ClusterNode) => (w: number, i: number) =>
    i % 4 === 0
      ? clients
          .get(n)!
          .send(new PutObjectCommand({ Bucket: 'bench', Key: `w-${n.name}-${w}-${i}`, Body: body }))
      : clients
          .get(n)!
          .send(new GetObjectCommand({ Bucket: 'bench', Key: `r${(w + i) % 64}` }))
          .then((r) => (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
  /** Each node driven by `perNode` clients for 6 s: requests per second in all, CPU µs per request per node. */
  const statements = async (n: ClusterNode) => {
    const text = (await fetchText(`http://127.0.0.1:${n.opsPort}/metrics`)).body;
    return Number(/^gateway_metadata_statements_total\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? Number.NaN);
  };
  /** `pace`: at most this many requests per second per node (none: as fast as they go). */
  const measure = async (nodes: ClusterNode[], perNode: number, pace?: number) => {
    const stmts = await Promise.all(nodes.map(statements));
    const before = nodes.map((n) => cpuSeconds(n.process!.pid));
    const t0 = performance.now();
    const counts = nodes.map(() => 0);
    await Promise.all(
      nodes.map((n, k) =>
        rate(perNode, 6000, async (w, i) => {
          if (pace) {
            const due = t0 + (counts[k]! / pace) * 1000;
            if (due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()));
          }
          await mixed(n)(w, i);
          counts[k]!++;
        }),
      ),
    );
    const secs = (performance.now() - t0) / 1000;
    // What a node spends with no request at all (health probes, heartbeats, quota polls) is
    // not the requests' cost: it is measured apart and taken out.
    const cpuPerReq = nodes.map(
      (n, k) => ((cpuSeconds(n.process!.pid) - before[k]! - idleRate.get(n)! * secs) / counts[k]!) * 1e6,
    );
    const after = await Promise.all(nodes.map(statements));
    const stmtPerReq = nodes.map((_, k) => (after[k]! - stmts[k]!) / counts[k]!);
    return { total: counts.reduce((x, y) => x + y, 0) / secs, cpuPerReq, stmtPerReq };
  };
  const info = (workload: string, gateway: number, unit: string): BenchRow => ({
    workload,
    gateway,
    unit,
    target: '(info)',
    met: true,
  });
  const idleRate = new Map<ClusterNode, number>();
  {
    const before = [a, b].map((n) => cpuSeconds(n.process!.pid));
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 5000));
    const secs = (performance.now() - t0) / 1000;
    for (const [k, n] of [a, b].entries()) idleRate.set(n, (cpuSeconds(n.process!.pid) - before[k]!) / secs);
  }
  rows.push(
    info('idle node: background CPU (probes every 250 ms, heartbeats)', idleRate.get(a)! * 1000, 'ms/s'),
  );
  // Both nodes warmed up first (JIT, caches): a cold node costs far more per request, and
  // consecutive runs of one set-up differ by up to 1.7× here. Then one node and two nodes
  // alternate, three times each, and the medians are compared.
  await measure([a, b], 8);
  const ones: Array<Awaited<ReturnType<typeof measure>>> = [];
  const twos: Array<Awaited<ReturnType<typeof measure>>> = [];
  for (let round = 0; round < 3; round++) {
    ones.push(await measure([a], 8));
    twos.push(await measure([a, b], 8));
  }
  const median = <T>(xs: T[], f: (x: T) => number) =>
    xs.map(f).sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const one8 = {
    cpuPerReq: [median(ones, (r) => r.cpuPerReq[0]!)],
    stmtPerReq: [median(ones, (r) => r.stmtPerReq[0]!)],
    total: median(ones, (r) => r.total),
  };
  const two = {
    cpuPerReq: [median(twos, (r) => (r.cpuPerReq[0]! + r.cpuPerReq[1]!) / 2)],
    stmtPerReq: [median(twos, (r) => (r.stmtPerReq[0]! + r.stmtPerReq[1]!) / 2)],
    total: median(twos, (r) => r.total),
  };
  // One node held to the rate each of two nodes reached: the same requests per second per
  // node, so as many requests share each turn of its event loop (a node at half the rate
  // sleeps and wakes about twice per request instead of once, measured: 1.04 → 2.25 voluntary
  // context switches per request), and only the other node's work and the busier machine differ.
  const perNodeRate = two.total / 2;
  const paced: Array<Awaited<ReturnType<typeof measure>>> = [];
  for (let round = 0; round < 3; round++) paced.push(await measure([a], 8, perNodeRate));
  const onePaced = median(paced, (r) => r.cpuPerReq[0]!);
  const one16 = await measure([a], 16);
  const cpuTwo = two.cpuPerReq[0]!;
  rows.push(info('S3 4 KiB (3 GET : 1 PUT), 1 node, 16 clients: CPU/request', one16.cpuPerReq[0]!, 'µs'));
  rows.push(info('  1 node, 8 clients: CPU/request (median of 3)', one8.cpuPerReq[0]!, 'µs'));
  rows.push({
    // The same load per node, on one node and on each of two: equal when nothing serializes.
    workload: '  2 nodes, 8 clients each: CPU/request per node (median of 3)',
    gateway: cpuTwo,
    unit: 'µs',
    peer: one8.cpuPerReq[0]!,
    peerName: '1 node, 8 clients',
    target: '≤ 1.25× one node',
    met: cpuTwo <= one8.cpuPerReq[0]! * 1.25,
  });
  rows.push({
    ...info('  2 nodes vs 1 node held to the same rate per node: CPU/request', cpuTwo, 'µs'),
    peer: onePaced,
    peerName: `1 node at ${Math.round(perNodeRate)} req/s`,
  });
  rows.push(info('  1 node, 8 clients: metadata statements/request', one8.stmtPerReq[0]!, ''));
  rows.push(info('  2 nodes: metadata statements/request per node', two.stmtPerReq[0]!, ''));
  rows.push(info('  throughput, 1 node, 16 clients', one16.total, 'req/s'));
  rows.push({
    ...info('  throughput, 2 nodes (same 2 cores)', two.total, 'req/s'),
    peer: one16.total,
    peerName: '1 node',
  });
  for (const c of clients.values()) c.destroy();

  printTable('Scale-out (PostgreSQL metadata, object-store data)', rows);
  const outDir = new URL('../../../bench-output/', import.meta.url).pathname;
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'scaleout.json'), `${JSON.stringify(rows, null, 2)}\n`);
} finally {
  await cluster?.stop();
  await store?.stop();
  await pg.destroy();
}
process.exit(0);
