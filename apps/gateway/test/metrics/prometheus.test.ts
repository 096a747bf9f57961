import { deepEqual, equal, ok } from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Connection } from '../../src/ops/connections.ts';
import { getJson, waitForHttp } from '../support/http.ts';
import { freePort } from '../support/ports.ts';
import { type ProcessHandle, spawnProcess } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { mustToolPath, requireTools } from '../support/tools.ts';
import { eventually, type InProcessGateway, startInProcess } from './fixture.ts';

interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** The runbook's sample queries, in their valid forms (RUNBOOK-NOTES.md). */
const QUERIES = {
  requestRate: 'sum by (protocol) (rate(gateway_requests_total[5m]))',
  errorRate: 'rate(gateway_errors_total[5m]) / rate(gateway_requests_total[5m])',
  p99: 'histogram_quantile(0.99, rate(gateway_latency_seconds_bucket[5m]))',
  connections: 'gateway_active_connections / gateway_max_connections',
  /** The runbook's disk-space alert (its note under Sample Queries), without the threshold. */
  roomLeft:
    'gateway_backend_capacity_bytes{kind="available"} / ignoring(kind) gateway_backend_capacity_bytes{kind="total"}',
  /** The Key Metrics table's two backend alerts as the runbook note writes them (`bool`: 1 = firing). */
  backendErrorsAlert: 'increase(gateway_backend_errors_total[5m]) > bool 0',
  circuitAlert: 'gateway_circuit_breaker_state >= bool 1',
};

describe(
  'a real Prometheus scraping the gateway answers the runbook queries',
  requireTools('prometheus'),
  () => {
    let g: InProcessGateway;
    let prom: ProcessHandle;
    let promUrl: string;
    let traffic: NodeJS.Timeout;
    const open: Connection[] = [];

    before(async () => {
      g = await startInProcess('limits: { max_connections: 10 }');
      const accept = (p: 'nfs' | 's3') => {
        const c = g.gw.connections.accept(p, '127.0.0.1', 50000 + open.length, 2049);
        if (!c) throw new Error('refused');
        open.push(c);
        return c;
      };
      const nfs = accept('nfs');
      accept('nfs');
      const s3 = accept('s3');
      // Each tick is one synchronous batch, so a scrape sees whole batches: 1 error in 5 GETATTRs.
      traffic = setInterval(() => {
        for (let i = 0; i < 5; i++) nfs.begin('GETATTR')(i === 0 ? 'NFS3ERR_IO' : undefined);
        s3.begin('GetObject')();
      }, 50);

      const dir = makeTempDir('prometheus');
      const port = await freePort();
      const config = join(dir, 'prometheus.yml');
      const target = new URL(g.opsUrl).host;
      writeFileSync(
        config,
        `global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: 'claudefs-gateway'
    static_configs:
      - targets: ['${target}']
    metrics_path: /metrics
    scrape_interval: 1s
`,
      );
      prom = spawnProcess(
        mustToolPath('prometheus'),
        [
          `--config.file=${config}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        { name: 'prometheus' },
      );
      promUrl = `http://127.0.0.1:${port}`;
      await waitForHttp(`${promUrl}/-/ready`, 60_000, (s) => s === 200);
    });

    after(async () => {
      clearInterval(traffic);
      for (const c of open) c.close();
      if (prom) {
        const status = await prom.stop();
        equal(status.code, 0, `prometheus exit ${JSON.stringify(status)}\n${prom.output().slice(-2000)}`);
      }
      await g?.gw.stop();
    });

    /** Polls the query API until the result is a non-empty vector that `accept` likes. */
    const query = (q: string, accept: (r: VectorSample[]) => boolean = () => true) =>
      eventually(
        async () => {
          const body = await getJson<{
            status: string;
            data: { resultType: string; result: VectorSample[] };
          }>(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
          equal(body.status, 'success');
          equal(body.data.resultType, 'vector');
          return body.data.result.length > 0 && accept(body.data.result) ? body.data.result : undefined;
        },
        60_000,
        `${q} returning data`,
      );
    const num = (s: VectorSample | undefined) => Number(s?.value[1]);

    test('1 the target is up (every scrape parses)', { timeout: 90_000 }, async () => {
      const r = await query('up{job="claudefs-gateway"}', (r) => num(r[0]) === 1);
      equal(num(r[0]), 1);
    });

    test('2 request rate by protocol', { timeout: 90_000 }, async () => {
      const r = await query(QUERIES.requestRate, (r) =>
        r.some((s) => s.metric.protocol === 'nfs' && num(s) > 0),
      );
      const nfs = r.find((s) => s.metric.protocol === 'nfs');
      const s3 = r.find((s) => s.metric.protocol === 's3');
      ok(num(nfs) > 0 && num(s3) > 0, JSON.stringify(r));
      // Five nfs requests for each s3 one.
      ok(Math.abs(num(nfs) / num(s3) - 5) < 0.01, JSON.stringify(r));
    });

    test('3 error rate: one GETATTR in five fails', { timeout: 90_000 }, async () => {
      const r = await query(QUERIES.errorRate, (r) => r.some((s) => s.metric.op === 'GETATTR' && num(s) > 0));
      const getattr = r.find((s) => s.metric.protocol === 'nfs' && s.metric.op === 'GETATTR');
      ok(Math.abs(num(getattr) - 0.2) < 1e-9, JSON.stringify(r));
      const get = r.find((s) => s.metric.protocol === 's3' && s.metric.op === 'GetObject');
      equal(num(get), 0);
    });

    test('4 p99 latency from the histogram', { timeout: 90_000 }, async () => {
      const r = await query(QUERIES.p99, (r) =>
        r.some((s) => s.metric.op === 'GETATTR' && Number.isFinite(num(s))),
      );
      const getattr = r.find((s) => s.metric.protocol === 'nfs' && s.metric.op === 'GETATTR');
      ok(num(getattr) > 0 && num(getattr) <= 10, JSON.stringify(r));
    });

    test('5 active connections vs max', { timeout: 90_000 }, async () => {
      const r = await query(QUERIES.connections, (r) => r.length === 3);
      const by = Object.fromEntries(r.map((s) => [s.metric.protocol, num(s)]));
      equal(by.nfs, 0.2);
      equal(by.s3, 0.1);
      equal(by.smb, 0);
    });

    test('6 room left on each backend’s disk, as a share of its size', { timeout: 90_000 }, async () => {
      const r = await query(QUERIES.roomLeft, (r) => r.length === 2);
      deepEqual(r.map((s) => s.metric.backend).sort(), ['metadata', 'transport']);
      for (const s of r) ok(num(s) > 0 && num(s) <= 1, JSON.stringify(s));
    });

    test('7 the backend alerts as the note writes them: one series per backend, quiet on a healthy gateway', {
      timeout: 90_000,
    }, async () => {
      for (const q of [QUERIES.backendErrorsAlert, QUERIES.circuitAlert]) {
        const r = await query(q, (r) => r.length === 2);
        deepEqual(r.map((s) => s.metric.backend).sort(), ['metadata', 'transport'], q);
        for (const s of r) equal(num(s), 0, `${q}: ${JSON.stringify(s)}`);
      }
    });
  },
);
