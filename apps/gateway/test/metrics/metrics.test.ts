import { deepEqual, equal, ok } from 'node:assert/strict';
import { renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Connection } from '../../src/ops/connections.ts';
import { getMetrics } from '../../src/ops/metrics/index.ts';
import { ROOT } from '../../src/storage/types.ts';
import { fetchText } from '../support/http.ts';
import { requireTools } from '../support/tools.ts';
import {
  eventually,
  type InProcessGateway,
  P99_LINT,
  promtoolCheck,
  sampleValue,
  scrape,
  select,
  startInProcess,
} from './fixture.ts';

const GB = 1000n ** 3n;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function accept(g: InProcessGateway, protocol: 'nfs' | 's3' | 'smb'): Connection {
  const c = g.gw.connections.accept(protocol, '127.0.0.1', 40000, 2049);
  if (!c) throw new Error(`${protocol} connection refused`);
  return c;
}

describe('GET /metrics on an in-process gateway', () => {
  let g: InProcessGateway;
  before(async () => {
    g = await startInProcess(
      'limits: { max_connections: 5 }\ncircuit_breaker: { failure_threshold: 2, reset_timeout: 300ms }',
    );
  });
  after(() => g.gw.stop());

  test('1 requests, errors and error codes carry what the protocols reported', async () => {
    const c = accept(g, 'nfs');
    c.begin('GETATTR')();
    c.begin('GETATTR')('NFS3ERR_IO');
    c.begin('GETATTR')();
    c.begin('LOOKUP')('NFS3ERR_NOENT');
    accept(g, 's3').begin('GetObject')();
    const { samples, contentType } = await scrape(g.opsUrl);
    equal(contentType, 'text/plain; version=0.0.4; charset=utf-8');
    equal(sampleValue(samples, 'gateway_requests_total', { protocol: 'nfs', op: 'GETATTR' }), 3);
    equal(sampleValue(samples, 'gateway_errors_total', { protocol: 'nfs', op: 'GETATTR' }), 1);
    equal(sampleValue(samples, 'gateway_error_codes_total', { protocol: 'nfs', code: 'NFS3ERR_IO' }), 1);
    equal(sampleValue(samples, 'gateway_error_codes_total', { protocol: 'nfs', code: 'NFS3ERR_NOENT' }), 1);
    equal(sampleValue(samples, 'gateway_requests_total', { protocol: 's3', op: 'GetObject' }), 1);
    equal(sampleValue(samples, 'gateway_errors_total', { protocol: 's3', op: 'GetObject' }), 0);
    // Identical label sets, so `rate(errors) / rate(requests)` matches one to one.
    const labelSets = (name: string) => select(samples, name).map((s) => JSON.stringify(s.labels));
    deepEqual(labelSets('gateway_errors_total'), labelSets('gateway_requests_total'));
    // Each runbook example has its series.
    for (const name of ['gateway_requests_total', 'gateway_errors_total', 'gateway_latency_p99_us']) {
      ok(select(samples, name).length > 0, name);
    }
  });

  test('2 the latency histogram buckets each request; p99_us reads the slow one', async () => {
    const c = accept(g, 'smb');
    c.begin('READ')();
    c.begin('READ')();
    const end = c.begin('READ');
    await sleep(40);
    end();
    const { samples } = await scrape(g.opsUrl);
    const le = (bound: string) =>
      sampleValue(samples, 'gateway_latency_seconds_bucket', { protocol: 'smb', op: 'READ', le: bound });
    equal(le('0.025'), 2);
    equal(le('10'), 3);
    equal(le('+Inf'), 3);
    equal(sampleValue(samples, 'gateway_latency_seconds_count', { protocol: 'smb', op: 'READ' }), 3);
    const sum = sampleValue(samples, 'gateway_latency_seconds_sum', { protocol: 'smb', op: 'READ' })!;
    ok(sum >= 0.035 && sum < 5, `sum ${sum}`);
    const bounds = select(samples, 'gateway_latency_seconds_bucket', { protocol: 'smb', op: 'READ' }).map(
      (s) => s.labels.le,
    );
    equal(bounds[0], '0.00005');
    equal(bounds.at(-2), '10');
    const p99 = sampleValue(samples, 'gateway_latency_p99_us', { protocol: 'smb' })!;
    ok(p99 >= 35_000 && p99 < 5_000_000, `p99 ${p99} µs`);
  });

  test('3 active and max connections per protocol, refusals past the shared limit', async () => {
    // Tests 1 and 2 left one nfs, one s3 and one smb connection open; the limit is 5.
    const extra = [accept(g, 'nfs'), accept(g, 'nfs')];
    equal(g.gw.connections.accept('s3', '127.0.0.1', 40001, 9000), undefined);
    equal(g.gw.connections.accept('s3', '127.0.0.1', 40002, 9000), undefined);
    let { samples } = await scrape(g.opsUrl);
    equal(sampleValue(samples, 'gateway_active_connections', { protocol: 'nfs' }), 3);
    equal(sampleValue(samples, 'gateway_active_connections', { protocol: 's3' }), 1);
    equal(sampleValue(samples, 'gateway_active_connections', { protocol: 'smb' }), 1);
    for (const p of ['nfs', 's3', 'smb'])
      equal(sampleValue(samples, 'gateway_max_connections', { protocol: p }), 5);
    equal(sampleValue(samples, 'gateway_connections_refused_total', { protocol: 's3' }), 2);
    equal(sampleValue(samples, 'gateway_connections_refused_total', { protocol: 'nfs' }), 0);
    for (const c of extra) c.close();
    ({ samples } = await scrape(g.opsUrl));
    equal(sampleValue(samples, 'gateway_active_connections', { protocol: 'nfs' }), 1);
  });

  test('4 cache hits and misses are the namespace caches’ own counters', async () => {
    const exp = await g.gw.ns.resolvePath(ROOT, '/export');
    const before = g.gw.ns.nodes.hits + g.gw.ns.nodes.misses;
    for (let i = 0; i < 3; i++) await g.gw.ns.getattr(exp.ino);
    const { samples } = await scrape(g.opsUrl);
    const hits = sampleValue(samples, 'gateway_cache_hits_total', { cache: 'attributes' })!;
    const misses = sampleValue(samples, 'gateway_cache_misses_total', { cache: 'attributes' })!;
    equal(hits, g.gw.ns.nodes.hits);
    equal(misses, g.gw.ns.nodes.misses);
    equal(hits + misses - before, 3);
    ok(hits >= 2);
    equal(sampleValue(samples, 'gateway_cache_hits_total', { cache: 'entries' }), g.gw.ns.entries.hits);
    equal(sampleValue(samples, 'gateway_cache_misses_total', { cache: 'entries' }), g.gw.ns.entries.misses);
  });

  test('4b small files held in memory: the bytes held and where each read came from', async () => {
    const { ns } = g.gw;
    const exp = await ns.resolvePath(ROOT, '/export');
    const f = await ns.create(ROOT, exp.ino, 'small-for-metrics', 0o644);
    // Past transport.inline_max (16 KiB: smaller files' bytes are in the metadata database),
    // within the 64 KiB the store holds in memory.
    await ns.write(ROOT, f.ino, 0n, Buffer.alloc(30_000, 0x73));
    const value = async (name: string, labels?: Record<string, string>) =>
      sampleValue((await scrape(g.opsUrl)).samples, name, labels)!;
    const bytes = await value('gateway_small_file_cache_bytes');
    const fromDisk = await value('gateway_small_file_reads_total', { from: 'disk' });
    const fromMemory = await value('gateway_small_file_reads_total', { from: 'memory' });
    for (let i = 0; i < 3; i++) equal((await ns.read(ROOT, f.ino, 0n, 32_768)).data.length, 30_000);
    equal(await value('gateway_small_file_cache_bytes'), bytes + 30_000);
    equal(await value('gateway_small_file_reads_total', { from: 'disk' }), fromDisk + 1);
    equal(await value('gateway_small_file_reads_total', { from: 'memory' }), fromMemory + 2);
    // A write drops the copy: the next read goes to the disk again.
    await ns.write(ROOT, f.ino, 0n, Buffer.from('S'));
    equal(await value('gateway_small_file_cache_bytes'), bytes);
    equal((await ns.read(ROOT, f.ino, 0n, 1)).data.toString(), 'S');
    equal(await value('gateway_small_file_reads_total', { from: 'disk' }), fromDisk + 2);
  });

  test('4b2 small files kept in the metadata database: writes answered there, and the move of one that outgrew it', async () => {
    const { ns } = g.gw;
    const exp = await ns.resolvePath(ROOT, '/export');
    const value = async (outcome: string) =>
      sampleValue((await scrape(g.opsUrl)).samples, 'gateway_inline_writes_total', { outcome })!;
    const [inline, moved] = [await value('inline'), await value('moved')];
    const f = await ns.create(ROOT, exp.ino, 'inline-for-metrics', 0o644);
    await ns.write(ROOT, f.ino, 0n, Buffer.alloc(4096, 0x69));
    await ns.write(ROOT, f.ino, 4096n, Buffer.alloc(4096, 0x6a));
    equal(await value('inline'), inline + 2);
    equal(await value('moved'), moved);
    await ns.write(ROOT, f.ino, 8192n, Buffer.alloc(16_384, 0x6b));
    equal(await value('moved'), moved + 1);
    // Its writes now go to its blob: neither counter moves.
    await ns.write(ROOT, f.ino, 0n, Buffer.from('x'));
    deepEqual([await value('inline'), await value('moved')], [inline + 2, moved + 1]);
  });

  test('4c the metadata WAL: its size on disk, the checkpoints that keep it bounded, the flushes that make commits durable', async () => {
    const { ns } = g.gw;
    const value = async (name: string, labels?: Record<string, string>) =>
      sampleValue((await scrape(g.opsUrl)).samples, name, labels);
    const flushes = (await value('gateway_metadata_flushes_total'))!;
    const exp = await ns.resolvePath(ROOT, '/export');
    await ns.create(ROOT, exp.ino, 'durable-for-metrics', 0o644);
    ok((await value('gateway_metadata_flushes_total'))! > flushes, 'the durable create flushed the WAL');
    const wal = join(g.dir, 'state', 'meta.db-wal');
    const before = statSync(wal).size;
    const reported = (await value('gateway_metadata_wal_bytes'))!;
    const after = statSync(wal).size;
    ok(
      reported >= before && reported <= after && reported > 0,
      `${reported} against ${before}–${after} on disk`,
    );
    const passes = (await value('gateway_metadata_checkpoints_total', { kind: 'pass' }))!;
    ok((await value('gateway_metadata_checkpoints_total', { kind: 'held' })) !== undefined);
    ok((await value('gateway_metadata_checkpoint_hold_seconds_total'))! >= 0);
    ok((await value('gateway_metadata_retries_total', { backend: 'sqlite' }))! >= 0);
    await eventually(
      async () =>
        (await value('gateway_metadata_checkpoints_total', { kind: 'pass' }))! > passes ? true : undefined,
      5000,
      'a checkpoint pass',
    );
  });

  test('5 quota usage and limits for each uid/gid with a quota', async () => {
    await g.gw.control.quotas.set({
      kind: 'uid',
      subjectId: 1000,
      softBytes: 10n * GB,
      hardBytes: 12n * GB,
      hardInodes: 100n,
    });
    await g.gw.control.quotas.set({ kind: 'gid', subjectId: 2000, softInodes: 5n });
    const exp = await g.gw.ns.resolvePath(ROOT, '/export');
    const cred = { uid: 1000, gid: 2000, gids: [] };
    const f = await g.gw.ns.create(cred, exp.ino, 'quota-file', 0o644);
    await g.gw.ns.write(cred, f.ino, 0n, Buffer.from('12345'));
    // The quota list is re-read at most once a second.
    const samples = await eventually(
      async () => {
        const s = (await scrape(g.opsUrl)).samples;
        return sampleValue(s, 'gateway_quota_usage_bytes', { kind: 'gid', id: '2000' }) === undefined
          ? undefined
          : s;
      },
      5000,
      'quota series',
    );
    equal(sampleValue(samples, 'gateway_quota_usage_bytes', { kind: 'uid', id: '1000' }), 5);
    equal(sampleValue(samples, 'gateway_quota_usage_inodes', { kind: 'uid', id: '1000' }), 1);
    equal(sampleValue(samples, 'gateway_quota_usage_bytes', { kind: 'gid', id: '2000' }), 5);
    equal(
      sampleValue(samples, 'gateway_quota_limit_bytes', { kind: 'uid', id: '1000', limit: 'soft' }),
      10e9,
    );
    equal(
      sampleValue(samples, 'gateway_quota_limit_bytes', { kind: 'uid', id: '1000', limit: 'hard' }),
      12e9,
    );
    equal(
      sampleValue(samples, 'gateway_quota_limit_inodes', { kind: 'uid', id: '1000', limit: 'hard' }),
      100,
    );
    equal(
      sampleValue(samples, 'gateway_quota_limit_inodes', { kind: 'uid', id: '1000', limit: 'soft' }),
      undefined,
    );
    equal(sampleValue(samples, 'gateway_quota_limit_inodes', { kind: 'gid', id: '2000', limit: 'soft' }), 5);
    equal(select(samples, 'gateway_quota_limit_bytes', { kind: 'gid' }).length, 0);
    // No series for ids without a quota.
    equal(select(samples, 'gateway_quota_usage_bytes').length, 2);
  });

  test('6 gateway_draining follows gw.draining', async () => {
    equal(sampleValue((await scrape(g.opsUrl)).samples, 'gateway_draining'), 0);
    Object.defineProperty(g.gw, 'draining', { value: true, configurable: true });
    try {
      equal(sampleValue((await scrape(g.opsUrl)).samples, 'gateway_draining'), 1);
    } finally {
      Reflect.deleteProperty(g.gw, 'draining');
    }
    equal(sampleValue((await scrape(g.opsUrl)).samples, 'gateway_draining'), 0);
  });

  test('7 the circuit state follows a transport breaker opened for real, half-open trial included', async () => {
    const { gw } = g;
    const data = join(g.dir, 'state', 'data');
    const state = async () =>
      sampleValue((await scrape(g.opsUrl)).samples, 'gateway_circuit_breaker_state', {
        backend: 'transport',
      });
    const errors = async () =>
      sampleValue((await scrape(g.opsUrl)).samples, 'gateway_backend_errors_total', { backend: 'transport' });
    equal(await state(), 0);
    equal(await errors(), 0);
    renameSync(data, `${data}.away`);
    try {
      for (let i = 0; i < 2; i++) await gw.ns.probeTransport().catch(() => {});
      equal(gw.ns.breakers.transport.state, 'open');
      // Refused calls while open are not backend errors. Made at once: the scrapes below can
      // take longer than the 300 ms reset timeout on a loaded machine, and a call after it
      // would be the half-open trial.
      await gw.ns.probeTransport().catch(() => {});
      equal(await state(), 1);
      equal(await errors(), 2);
      equal(
        sampleValue((await scrape(g.opsUrl)).samples, 'gateway_circuit_breaker_state', {
          backend: 'metadata',
        }),
        0,
      );
      await sleep(350);
      // The trial call holds the circuit half-open while it waits for the backend.
      const trial = gw.ns.probeTransport();
      const registry = getMetrics(gw).registry;
      const text = await registry.getSingleMetricAsString('gateway_circuit_breaker_state');
      ok(text.includes('gateway_circuit_breaker_state{backend="transport"} 2'), text);
      await trial.catch(() => {});
      equal(await state(), 1);
      equal(await errors(), 3);
    } finally {
      renameSync(`${data}.away`, data);
    }
    await sleep(350);
    await gw.ns.probeTransport();
    equal(await state(), 0);
    equal(await errors(), 3);
  });

  test(
    '8 promtool check metrics finds nothing but the runbook’s own p99_us name',
    requireTools('promtool'),
    async () => {
      const { text } = await scrape(g.opsUrl);
      ok(text.includes('gateway_quota_limit_bytes{'), 'every family has samples when checked');
      ok(text.includes('gateway_process_'), 'process metrics');
      const r = await promtoolCheck(text);
      deepEqual(r.findings, [P99_LINT]);
      equal(r.code, 3, 'promtool exits 3 for lint findings');
    },
  );

  test('9 getMetrics(gw).snapshot() carries the headline numbers', async () => {
    const s = getMetrics(g.gw).snapshot();
    equal(s.protocols.nfs.requestsTotal, 4);
    equal(s.protocols.nfs.errorsTotal, 2);
    equal(s.protocols.smb.requestsTotal, 3);
    ok(s.protocols.smb.p99Ms !== null && s.protocols.smb.p99Ms >= 35);
    equal(s.protocols.s3.refusedTotal, 2);
    deepEqual(s.connections, { active: 3, max: 5, refusedTotal: 2 });
    equal(s.backends.transport.state, 'closed');
    equal(s.backends.transport.errorsTotal, 3);
    equal(s.caches.attributes.hits, g.gw.ns.nodes.hits);
    equal(s.draining, false);
  });

  test('10 HEAD /metrics and a wrong method answer like every ops route', async () => {
    equal((await fetchText(`${g.opsUrl}/metrics`, { method: 'HEAD' })).status, 200);
    equal((await fetchText(`${g.opsUrl}/metrics`, { method: 'POST' })).status, 405);
  });
});
