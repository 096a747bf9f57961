'use client';
import type { HealthReport, ListenerView, MetricsSnapshot, ProtocolName } from '@claudefs/api';
import { Banner, Card, cx, PanelState, Stat, StatusBadge, statusVariant } from '@claudefs/ui';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { PageHeader } from '../components/page-header.tsx';
import { QueryPanel } from '../components/query-panel.tsx';
import { alertsFor, THRESHOLDS } from '../lib/alerts.ts';
import { diagnoseHref } from '../lib/diagnostics.ts';
import { messageOf } from '../lib/errors.ts';
import { bytes, duration, ms, pct, rate } from '../lib/format.ts';
import { checkWord, DRAINED_CHECK_TEXT, healthWord, isDrainedCheck, problemChecks } from '../lib/health.ts';
import { useTRPC } from '../lib/trpc.ts';
import { ConfigNotice } from './maintenance/config-panel.tsx';

const PROTOCOLS: ProtocolName[] = ['nfs', 's3', 'smb'];

const entries = (n: number) => `${n} ${n === 1 ? 'entry' : 'entries'} cached`;

const BANNER: Record<string, string> = {
  healthy: 'border-emerald-300 bg-emerald-50 dark:border-emerald-800 dark:bg-emerald-950',
  degraded: 'border-amber-300 bg-amber-50 dark:border-amber-700 dark:bg-amber-950',
  unhealthy: 'border-red-300 bg-red-50 dark:border-red-800 dark:bg-red-950',
  unknown: 'border-slate-300 bg-white dark:border-slate-700 dark:bg-slate-900',
};

function HealthBanner({ report, stale }: { report: HealthReport; stale: boolean }) {
  if (stale) {
    return (
      <section
        aria-label="Overall health"
        data-testid="health-banner"
        className={cx('rounded-lg border p-4', BANNER.unhealthy)}
      >
        <p className="text-sm text-slate-600 dark:text-slate-300">Gateway health</p>
        <p className="text-3xl font-semibold tracking-tight" data-testid="health-word">
          unreachable
        </p>
        <p className="mt-1 text-sm text-slate-600 dark:text-slate-300">
          Last answer: {healthWord(report)}. Retrying every 5 s.
        </p>
      </section>
    );
  }
  const bad = problemChecks(report);
  const word = healthWord(report);
  return (
    <section
      aria-label="Overall health"
      data-testid="health-banner"
      data-draining={String(report.draining)}
      className={cx('rounded-lg border p-4', BANNER[statusVariant(word)])}
    >
      <p className="text-sm text-slate-600 dark:text-slate-300">Gateway health</p>
      <p className="text-3xl font-semibold tracking-tight" data-testid="health-word">
        {word}
      </p>
      {report.draining ? (
        <p className="mt-1 text-sm text-slate-700 dark:text-slate-200" data-testid="drain-note">
          Drained on purpose: listeners refuse new connections and /health answers 503, so load balancers send
          no new clients; open connections are still served.{' '}
          <Link href="/maintenance" className="font-medium underline underline-offset-2">
            Undrain on Maintenance
          </Link>{' '}
          when the work is done.
        </p>
      ) : null}
      <p className="mt-1 text-sm text-slate-600 dark:text-slate-300">
        {bad.length === 0
          ? report.draining
            ? 'Every check the drain does not cover passes.'
            : `All ${report.checks.length} checks pass.`
          : `${bad.map((c) => `${c.name} is ${c.status}`).join('; ')}.`}{' '}
        Checked{' '}
        {new Date(report.timestamp < 1e12 ? report.timestamp * 1000 : report.timestamp).toLocaleTimeString()}.
      </p>
    </section>
  );
}

function Headline({ snapshot }: { snapshot: MetricsSnapshot }) {
  const { active, max } = snapshot.connections;
  const ratio = max > 0 ? active / max : 0;
  return (
    <div className="grid grid-cols-1 gap-4 lg:grid-cols-3">
      <Card
        title="Requests by protocol"
        className="lg:col-span-2"
        action={<span className="text-xs text-slate-500 dark:text-slate-400">rates over the last 5 s</span>}
      >
        <table className="w-full text-sm">
          <thead>
            <tr className="text-left text-xs text-slate-500 dark:text-slate-400">
              <th className="py-1 font-medium">Protocol</th>
              <th className="py-1 text-right font-medium">req/s</th>
              <th className="py-1 text-right font-medium">errors</th>
              <th className="py-1 text-right font-medium" title="over the last minute">
                p99 (1 min)
              </th>
              <th className="py-1 text-right font-medium">connections</th>
            </tr>
          </thead>
          <tbody className="tabular-nums">
            {PROTOCOLS.map((p) => {
              const s = snapshot.protocols[p];
              const errBad = s.errorRatio !== null && s.errorRatio > THRESHOLDS.errorRatio;
              const p99Bad = p === 'nfs' && s.p99Ms !== null && s.p99Ms > THRESHOLDS.nfsP99Ms;
              return (
                <tr key={p} className="border-t border-slate-100 dark:border-slate-800">
                  <th scope="row" className="py-1.5 text-left font-medium uppercase">
                    {p}
                  </th>
                  <td className="py-1.5 text-right">{rate(s.requestsPerSec)}</td>
                  <td
                    className={cx(
                      'py-1.5 text-right',
                      errBad && 'font-semibold text-red-700 dark:text-red-400',
                    )}
                  >
                    {pct(s.errorRatio, 2)}
                  </td>
                  <td
                    className={cx(
                      'py-1.5 text-right',
                      p99Bad && 'font-semibold text-amber-700 dark:text-amber-400',
                    )}
                  >
                    {ms(s.p99Ms)}
                  </td>
                  <td className="py-1.5 text-right">{s.activeConnections}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </Card>
      <Card title="Storage">
        {(snapshot.disks ?? []).length === 0 ? (
          <p className="text-sm text-slate-600 dark:text-slate-300">
            No backend disk on this host to measure (PostgreSQL metadata and an object store report their own
            room).
          </p>
        ) : (
          <dl className="grid grid-cols-2 gap-4" data-testid="disks">
            {(snapshot.disks ?? []).map((d) => {
              const left = d.totalBytes > 0 ? d.availableBytes / d.totalBytes : 0;
              return (
                <Stat
                  key={d.backend}
                  label={d.backend === 'metadata' ? 'Metadata disk' : 'Data disk'}
                  value={`${pct(left)} free`}
                  sub={`${bytes(d.availableBytes)} of ${bytes(d.totalBytes)} left · ${d.folder}`}
                  tone={
                    left < THRESHOLDS.diskRoomCritical
                      ? 'critical'
                      : left < THRESHOLDS.diskRoomLow
                        ? 'warning'
                        : 'neutral'
                  }
                />
              );
            })}
          </dl>
        )}
      </Card>
      <Card title="Connections and caches">
        <dl className="grid grid-cols-2 gap-4">
          <Stat
            label="Connections"
            value={`${active} / ${max}`}
            sub={`${pct(ratio, 0)} of max`}
            tone={ratio > THRESHOLDS.connectionsRatio ? 'warning' : 'neutral'}
          />
          <Stat label="Refused" value={snapshot.connections.refusedTotal} sub="since start" />
          <Stat
            label="Attribute cache hits"
            value={pct(snapshot.caches.attributes.hitRatio)}
            sub={entries(snapshot.caches.attributes.entries)}
          />
          <Stat
            label="Name cache hits"
            value={pct(snapshot.caches.entries.hitRatio)}
            sub={entries(snapshot.caches.entries.entries)}
          />
          <Stat
            label="Metadata durability"
            value={<span data-testid="metadata-durability">{snapshot.durability.metadata}</span>}
            sub={
              snapshot.durability.flushIntervalMs === null
                ? 'changes on disk when answered'
                : `on disk within ${interval(snapshot.durability.flushIntervalMs)} or when a client asks; a power loss can undo that much`
            }
            tone={snapshot.durability.metadata === 'async' ? 'warning' : 'neutral'}
          />
        </dl>
      </Card>
    </div>
  );
}

/** A flush interval as the config file writes it: 250 ms, 1s, 1m 30s. */
function interval(v: number): string {
  return v < 1000 ? ms(v) : duration(v);
}

/** What an operator calls each listener. */
function listenerLabel(l: ListenerView): string {
  if (l.protocol === 'ops') return 'Health, admin, tRPC';
  if (l.name === 'MOUNT') return 'MOUNT (NFS)';
  return l.name;
}

/** accepting or draining, unless its protocol's health check says worse. */
function listenerState(l: ListenerView, report: HealthReport | undefined): string {
  if (l.state === 'draining') return 'draining';
  const check = l.protocol === 'ops' ? undefined : report?.checks.find((c) => c.name === l.protocol);
  return check && report && check.status !== 'healthy' ? checkWord(report, check) : 'accepting';
}

function Listeners({
  report,
  snapshot,
}: {
  report: HealthReport | undefined;
  snapshot: MetricsSnapshot | undefined;
}) {
  const trpc = useTRPC();
  const listeners = useQuery({ ...trpc.listeners.list.queryOptions(), refetchInterval: 5_000 });
  return (
    <Card title="Listeners">
      <QueryPanel query={listeners} isEmpty={(l) => l.length === 0} empty="The gateway reports no listener.">
        {(list) => {
          const off = PROTOCOLS.filter((p) => !list.some((l) => l.protocol === p));
          return (
            <ul className="flex flex-col gap-2 text-sm">
              {list.map((l) => (
                <li key={l.name} data-listener={l.name} className="flex items-start justify-between gap-2">
                  <span className="min-w-0">
                    <span className="font-medium">{listenerLabel(l)}</span>
                    <span
                      className="block font-mono text-xs text-slate-600 dark:text-slate-300"
                      data-testid="listener-address"
                    >
                      {l.address}
                    </span>
                    {l.protocol !== 'ops' && l.name !== 'MOUNT' ? (
                      <span className="block text-xs text-slate-500 dark:text-slate-400">
                        {snapshot?.protocols[l.protocol].activeConnections ?? 0} connected
                      </span>
                    ) : null}
                  </span>
                  <StatusBadge status={listenerState(l, report)} />
                </li>
              ))}
              {off.map((p) => (
                <li
                  key={p}
                  className="flex items-center justify-between gap-2 text-slate-500 dark:text-slate-400"
                >
                  <span className="font-medium uppercase">{p}</span>
                  <StatusBadge status="not enabled" />
                </li>
              ))}
            </ul>
          );
        }}
      </QueryPanel>
    </Card>
  );
}

export function Overview() {
  const trpc = useTRPC();
  const health = useQuery({ ...trpc.health.queryOptions(), refetchInterval: 5_000 });
  const snapshot = useQuery({ ...trpc.metrics.snapshot.queryOptions(), refetchInterval: 5_000 });
  const history = useQuery({
    ...trpc.metrics.history.queryOptions({ window: '15m' }),
    refetchInterval: 15_000,
  });
  const alerts = snapshot.data ? alertsFor(snapshot.data, history.data?.points ?? []) : [];

  return (
    <>
      <PageHeader title="Overview" description="Health, headline numbers and alerts, refreshed every 5 s." />
      <div className="flex flex-col gap-4">
        <QueryPanel query={health}>
          {(report) => <HealthBanner report={report} stale={health.isError} />}
        </QueryPanel>

        <section aria-label="Alerts" className="flex flex-col gap-2">
          {snapshot.isPending ? null : snapshot.isError && !snapshot.data ? (
            <PanelState state="error">Alerts unavailable: {messageOf(snapshot.error)}</PanelState>
          ) : alerts.length === 0 ? (
            <Banner tone="success" role="status">
              No alerts: every runbook threshold is within limits.
            </Banner>
          ) : (
            alerts.map((a) => (
              <Banner
                key={a.id}
                tone={a.severity}
                title={a.title}
                role="alert"
                action={
                  <Link
                    href={diagnoseHref(a.tree, {}, { run: true })}
                    aria-label={`Diagnose: ${a.title}`}
                    data-alert={a.id}
                    className="shrink-0 rounded-md bg-white/70 px-2.5 py-1 text-xs font-medium text-slate-900 ring-1 ring-slate-300 ring-inset hover:bg-white focus-visible:outline-2 focus-visible:outline-sky-600 dark:bg-slate-900/60 dark:text-slate-100 dark:ring-slate-600 dark:hover:bg-slate-900"
                  >
                    Diagnose
                  </Link>
                }
              >
                {a.detail}
              </Banner>
            ))
          )}
        </section>

        <ConfigNotice />

        <QueryPanel query={snapshot}>{(s) => <Headline snapshot={s} />}</QueryPanel>

        <div className="grid grid-cols-1 gap-4 lg:grid-cols-3">
          <Card title="Checks" className="lg:col-span-2">
            <QueryPanel
              query={health}
              isEmpty={(r) => r.checks.length === 0}
              empty="The gateway reports no checks."
            >
              {(r) => (
                <ul className="grid grid-cols-1 gap-3 sm:grid-cols-2">
                  {r.checks.map((c) => (
                    <li
                      key={c.name}
                      data-check={c.name}
                      className="rounded-md border border-slate-200 p-3 dark:border-slate-700"
                    >
                      <div className="flex items-center justify-between gap-2">
                        <span className="text-sm font-medium">{c.name}</span>
                        <StatusBadge status={checkWord(r, c)} />
                      </div>
                      <p className="mt-1 min-h-5 text-xs text-slate-600 dark:text-slate-300">
                        {isDrainedCheck(r, c) ? DRAINED_CHECK_TEXT : c.message || 'OK'}
                      </p>
                      <p className="text-xs text-slate-500 tabular-nums dark:text-slate-400">
                        {c.duration_ms} ms
                      </p>
                    </li>
                  ))}
                </ul>
              )}
            </QueryPanel>
          </Card>
          <Listeners report={health.data} snapshot={snapshot.data} />
        </div>
      </div>
    </>
  );
}
