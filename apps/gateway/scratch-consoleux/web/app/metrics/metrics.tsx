'use client';
import type { MetricsPoint, MetricsWindow } from '@claudefs/api';
import { Button, Card, PanelState, StateBand } from '@claudefs/ui';
import { useQuery } from '@tanstack/react-query';
import dynamic from 'next/dynamic';
import { useState } from 'react';
import { PageHeader } from '../../components/page-header.tsx';
import { QueryPanel } from '../../components/query-panel.tsx';
import { useTRPC } from '../../lib/trpc.ts';

// recharts is ~120 kB gzip: it loads after the page, so the route's first load stays in budget.
const TimeSeriesChart = dynamic(() => import('@claudefs/ui/chart').then((m) => m.TimeSeriesChart), {
  ssr: false,
  loading: () => (
    <PanelState state="loading" className="h-[180px]">
      Loading chart…
    </PanelState>
  ),
});

const WINDOWS: Array<{ id: MetricsWindow; label: string }> = [
  { id: '15m', label: '15 min' },
  { id: '1h', label: '1 hour' },
];

function rows(points: MetricsPoint[]) {
  return points.map((p) => ({
    t: p.t,
    nfsRate: p.protocols.nfs.requestsPerSec,
    s3Rate: p.protocols.s3.requestsPerSec,
    smbRate: p.protocols.smb.requestsPerSec,
    nfsErr: p.protocols.nfs.errorRatio === null ? null : p.protocols.nfs.errorRatio * 100,
    s3Err: p.protocols.s3.errorRatio === null ? null : p.protocols.s3.errorRatio * 100,
    smbErr: p.protocols.smb.errorRatio === null ? null : p.protocols.smb.errorRatio * 100,
    nfsP99: p.protocols.nfs.p99Ms,
    s3P99: p.protocols.s3.p99Ms,
    smbP99: p.protocols.smb.p99Ms,
    nfsTarget: 10,
    active: p.connections.active,
    max: p.connections.max,
    attrHit: p.cacheHitRatio.attributes === null ? null : p.cacheHitRatio.attributes * 100,
    entryHit: p.cacheHitRatio.entries === null ? null : p.cacheHitRatio.entries * 100,
    metadataErr: p.backendErrors.metadata,
    transportErr: p.backendErrors.transport,
  }));
}

const percent = (v: number) =>
  `${Number.isInteger(v) || v >= 10 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(2)}%`;

export function Metrics() {
  const trpc = useTRPC();
  const [window, setWindow] = useState<MetricsWindow>('15m');
  const [live, setLive] = useState(true);
  const history = useQuery({
    ...trpc.metrics.history.queryOptions({ window }),
    refetchInterval: live ? 5_000 : false,
    placeholderData: (previous) => previous,
  });
  return (
    <>
      <PageHeader
        title="Metrics"
        description="5-second samples kept by the gateway."
        action={
          <div className="flex items-center gap-2">
            <fieldset className="flex gap-1" aria-label="Window">
              {WINDOWS.map((w) => (
                <Button
                  key={w.id}
                  size="sm"
                  variant={window === w.id ? 'primary' : 'secondary'}
                  aria-pressed={window === w.id}
                  onClick={() => setWindow(w.id)}
                >
                  {w.label}
                </Button>
              ))}
            </fieldset>
            <label className="flex items-center gap-1.5 text-sm">
              <input type="checkbox" checked={live} onChange={(e) => setLive(e.target.checked)} />
              Live
            </label>
          </div>
        }
      />
      <QueryPanel
        query={history}
        isEmpty={(h) => h.points.length === 0}
        empty="No samples yet: the gateway records one every 5 s."
      >
        {(h) => {
          const data = rows(h.points);
          return (
            <div className="grid grid-cols-1 gap-4 xl:grid-cols-2">
              <Card title="Request rate by protocol (req/s)">
                <TimeSeriesChart
                  label="Requests per second by protocol"
                  data={data}
                  series={[
                    { key: 'nfsRate', label: 'NFS', tone: 'sky' },
                    { key: 's3Rate', label: 'S3', tone: 'violet' },
                    { key: 'smbRate', label: 'SMB', tone: 'emerald' },
                  ]}
                />
              </Card>
              <Card title="Error rate (% of requests; alert above 1%)">
                <TimeSeriesChart
                  label="Error percentage by protocol"
                  data={data}
                  formatValue={percent}
                  series={[
                    { key: 'nfsErr', label: 'NFS', tone: 'sky' },
                    { key: 's3Err', label: 'S3', tone: 'violet' },
                    { key: 'smbErr', label: 'SMB', tone: 'emerald' },
                  ]}
                />
              </Card>
              <Card title="p99 latency (ms; NFS alert above 10 ms)">
                <TimeSeriesChart
                  label="p99 latency by protocol in milliseconds"
                  data={data}
                  series={[
                    { key: 'nfsP99', label: 'NFS', tone: 'sky' },
                    { key: 's3P99', label: 'S3', tone: 'violet' },
                    { key: 'smbP99', label: 'SMB', tone: 'emerald' },
                    { key: 'nfsTarget', label: 'NFS threshold', tone: 'red', dashed: true },
                  ]}
                />
              </Card>
              <Card title="Connections: active vs max">
                <TimeSeriesChart
                  label="Active connections against the maximum"
                  data={data}
                  kind="area"
                  series={[
                    { key: 'active', label: 'Active', tone: 'sky' },
                    { key: 'max', label: 'Max', tone: 'slate', dashed: true },
                  ]}
                />
              </Card>
              <Card title="Cache hit ratio (%)">
                <TimeSeriesChart
                  label="Cache hit ratio"
                  data={data}
                  formatValue={percent}
                  yDomain={[0, 100]}
                  series={[
                    { key: 'attrHit', label: 'Attributes', tone: 'sky' },
                    { key: 'entryHit', label: 'Names', tone: 'amber' },
                  ]}
                />
              </Card>
              <Card title="Backend errors per interval">
                <TimeSeriesChart
                  label="Backend errors"
                  data={data}
                  series={[
                    { key: 'metadataErr', label: 'Metadata', tone: 'red' },
                    { key: 'transportErr', label: 'Transport', tone: 'amber' },
                  ]}
                />
              </Card>
              <Card title="Circuit state (green closed, amber half-open, red open)" className="xl:col-span-2">
                {h.points.length > 0 ? (
                  <div className="flex flex-col gap-2">
                    <StateBand label="metadata" states={h.points.map((p) => p.circuits.metadata)} />
                    <StateBand label="transport" states={h.points.map((p) => p.circuits.transport)} />
                  </div>
                ) : (
                  <PanelState state="empty" />
                )}
              </Card>
            </div>
          );
        }}
      </QueryPanel>
    </>
  );
}
