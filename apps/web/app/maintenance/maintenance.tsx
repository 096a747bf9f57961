'use client';
import type { CacheInvalidation, DrainStatus, ProtocolName } from '@claudefs/api';
import {
  Banner,
  Button,
  Card,
  ConfirmDialog,
  Field,
  fieldAria,
  Input,
  PanelState,
  Select,
  Stat,
  StatusBadge,
} from '@claudefs/ui';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { CodeBlock } from '../../components/markdown.tsx';
import { PageHeader } from '../../components/page-header.tsx';
import { QueryPanel } from '../../components/query-panel.tsx';
import { messageOf } from '../../lib/errors.ts';
import { duration, pct } from '../../lib/format.ts';
import { useRoleProblem } from '../../lib/session.ts';
import { useTRPC } from '../../lib/trpc.ts';
import { useToast } from '../providers.tsx';
import { ConfigPanel } from './config-panel.tsx';
import { LifecyclePanel } from './lifecycle-panel.tsx';

const PROTOCOLS: ProtocolName[] = ['nfs', 's3', 'smb'];

function safeToStop(s: DrainStatus): boolean {
  return s.draining && (s.drained || (s.inFlight === 0 && s.connections === 0));
}

function DrainPanel() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const denied = useRoleProblem('operator');
  const [confirm, setConfirm] = useState<'drain' | 'undrain' | null>(null);
  const status = useQuery({
    ...trpc.drain.status.queryOptions(),
    refetchInterval: (q) => (q.state.data?.draining ? 1_000 : 5_000),
  });
  const done = (s: DrainStatus) => {
    queryClient.setQueryData(trpc.drain.status.queryKey(), s);
    // The answer comes once the listeners have settled and been probed: health (the sidebar's
    // word), the listeners and the node registry are already current.
    for (const key of [
      trpc.metrics.snapshot.queryKey(),
      trpc.health.queryKey(),
      trpc.listeners.list.queryKey(),
      trpc.nodes.list.queryKey(),
    ])
      void queryClient.invalidateQueries({ queryKey: key });
  };
  const drain = useMutation(
    trpc.drain.drain.mutationOptions({
      onSuccess: (s) => {
        done(s);
        toast('success', 'Drain started: listeners stopped accepting new connections.');
      },
      onError: (e) => toast('error', `Drain failed: ${messageOf(e)}`),
      onSettled: () => setConfirm(null),
    }),
  );
  const undrain = useMutation(
    trpc.drain.undrain.mutationOptions({
      onSuccess: (s) => {
        done(s);
        toast('success', 'Undrained: listeners accept connections again.');
      },
      onError: (e) => toast('error', `Undrain failed: ${messageOf(e)}`),
      onSettled: () => setConfirm(null),
    }),
  );
  const s = status.data;
  return (
    <Card
      title="Drain"
      action={s ? <StatusBadge status={s.state === 'serving' ? 'serving' : s.state} /> : null}
    >
      <QueryPanel query={status}>
        {(s) => (
          <div className="flex flex-col gap-4" data-testid="drain-panel" data-state={s.state}>
            <p className="text-sm text-slate-600 dark:text-slate-300">
              {s.draining
                ? `${s.drained ? 'Drained: no work left. Drain began' : 'Draining since'} ${s.since ? new Date(s.since).toLocaleTimeString() : '—'}: listeners refuse new connections; open ones finish their work.`
                : 'Serving. Drain stops every listener from accepting new connections while open ones finish.'}
            </p>
            {s.draining ? (
              safeToStop(s) ? (
                <Banner tone="success" role="status" title="Safe to stop">
                  No request in flight{s.connections > 0 ? ` (${s.connections} idle connections remain)` : ''}
                  ; quiet for {duration(s.quietForMs)}. Stop the service now.
                </Banner>
              ) : (
                <Banner tone="warning" role="status" title="Waiting for work to finish">
                  {s.inFlight} requests in flight on {s.connections} connections.
                </Banner>
              )
            ) : null}
            <table className="w-full text-sm tabular-nums">
              <thead>
                <tr className="text-left text-xs text-slate-500 dark:text-slate-400">
                  <th className="py-1 font-medium">Protocol</th>
                  <th className="py-1 text-right font-medium">Connections</th>
                  <th className="py-1 text-right font-medium">In flight</th>
                </tr>
              </thead>
              <tbody>
                {PROTOCOLS.map((p) => (
                  <tr key={p} className="border-t border-slate-100 dark:border-slate-800">
                    <th scope="row" className="py-1 text-left font-medium uppercase">
                      {p}
                    </th>
                    <td className="py-1 text-right">{s.protocols[p]?.connections ?? 0}</td>
                    <td className="py-1 text-right">{s.protocols[p]?.inFlight ?? 0}</td>
                  </tr>
                ))}
                <tr className="border-t border-slate-200 font-semibold dark:border-slate-700">
                  <th scope="row" className="py-1 text-left">
                    Total
                  </th>
                  <td className="py-1 text-right">{s.connections}</td>
                  <td className="py-1 text-right">{s.inFlight}</td>
                </tr>
              </tbody>
            </table>
            <div className="flex items-center gap-3">
              {s.draining ? (
                <Button
                  variant="primary"
                  disabled={denied !== null || undrain.isPending}
                  title={denied ?? undefined}
                  onClick={() => setConfirm('undrain')}
                >
                  Undrain
                </Button>
              ) : (
                <Button
                  variant="danger"
                  disabled={denied !== null || drain.isPending}
                  title={denied ?? undefined}
                  onClick={() => setConfirm('drain')}
                >
                  Drain gateway
                </Button>
              )}
              {denied ? (
                <span className="text-xs text-slate-500 dark:text-slate-400" data-testid="drain-denied">
                  Drain {denied}.
                </span>
              ) : null}
            </div>
          </div>
        )}
      </QueryPanel>
      <ConfirmDialog
        open={confirm === 'drain'}
        title="Drain this gateway?"
        confirmLabel="Drain"
        tone="danger"
        busy={drain.isPending}
        onCancel={() => setConfirm(null)}
        onConfirm={() => drain.mutate()}
      >
        NFS, S3 and SMB listeners stop accepting new connections. Clients already connected keep being served
        until they finish. Undrain to serve again.
      </ConfirmDialog>
      <ConfirmDialog
        open={confirm === 'undrain'}
        title="Undrain this gateway?"
        confirmLabel="Undrain"
        busy={undrain.isPending}
        onCancel={() => setConfirm(null)}
        onConfirm={() => undrain.mutate()}
      >
        Listeners accept new connections again.
      </ConfirmDialog>
    </Card>
  );
}

type Scope = 'all' | 'path' | 'uid';

/**
 * How the caches refill after an invalidation: the first 5-second metrics sample taken wholly
 * after it (both times the gateway's clock) that saw lookups, attributes and names apart.
 */
function HitRatioAfter({ since }: { since: number }) {
  const trpc = useTRPC();
  const history = useQuery({
    ...trpc.metrics.history.queryOptions({ window: '15m' }),
    refetchInterval: 5_000,
  });
  const sample = history.data?.points.find(
    (p) =>
      p.t - p.seconds * 1000 >= since &&
      (p.cacheHitRatio.attributes !== null || p.cacheHitRatio.entries !== null),
  );
  return (
    <Stat
      label="Hit ratio after"
      value={
        sample ? `${pct(sample.cacheHitRatio.attributes, 0)} / ${pct(sample.cacheHitRatio.entries, 0)}` : '—'
      }
      sub={
        sample
          ? `attributes / names, 5 s to ${new Date(sample.t).toLocaleTimeString()}`
          : 'waiting for the next lookups (5-s samples)'
      }
    />
  );
}

function CachePanel() {
  const trpc = useTRPC();
  const toast = useToast();
  const denied = useRoleProblem('operator');
  const [scope, setScope] = useState<Scope>('all');
  const [path, setPath] = useState('');
  const [uid, setUid] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  // The last answer only: a failure replaces a previous success instead of sitting beside it.
  const [outcome, setOutcome] = useState<
    { ok: true; result: CacheInvalidation } | { ok: false; error: string } | null
  >(null);
  const invalidate = useMutation(
    trpc.cache.invalidate.mutationOptions({
      onSuccess: (r) => {
        setOutcome({ ok: true, result: r });
        toast('success', `Cache invalidated (${r.scope}): ${r.dropped.total} entries dropped.`);
      },
      onError: (e) => {
        setOutcome({ ok: false, error: messageOf(e) });
        toast('error', `Cache invalidation failed: ${messageOf(e)}`);
      },
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (scope === 'path') {
      if (!path.startsWith('/')) return setProblem('Give an absolute namespace path, e.g. /export/projects.');
      setProblem(null);
      invalidate.mutate({ scope: 'path', path });
    } else if (scope === 'uid') {
      const n = Number(uid);
      if (uid.trim() === '' || !Number.isInteger(n) || n < 0 || n > 2 ** 31 - 2)
        return setProblem('A uid is a whole number from 0 to 2147483646.');
      setProblem(null);
      invalidate.mutate({ scope: 'uid', uid: n });
    } else {
      setProblem(null);
      invalidate.mutate({ scope: 'all' });
    }
  };
  return (
    <Card title="Cache invalidation">
      <form onSubmit={submit} className="flex flex-col gap-3" aria-label="Invalidate cache" noValidate>
        <div className="grid grid-cols-1 gap-3 sm:grid-cols-[10rem_1fr]">
          <Field id="cache-scope" label="Scope">
            <Select
              {...fieldAria('cache-scope')}
              value={scope}
              onChange={(e) => setScope(e.target.value as Scope)}
            >
              <option value="all">Everything</option>
              <option value="path">One path</option>
              <option value="uid">One owner (uid)</option>
            </Select>
          </Field>
          {scope === 'path' ? (
            <Field id="cache-path" label="Path" error={problem}>
              <Input
                {...fieldAria('cache-path', problem)}
                invalid={!!problem}
                placeholder="/export/projects/report.pdf"
                value={path}
                onChange={(e) => setPath(e.target.value)}
              />
            </Field>
          ) : scope === 'uid' ? (
            <Field id="cache-uid" label="uid" error={problem}>
              <Input
                {...fieldAria('cache-uid', problem)}
                invalid={!!problem}
                inputMode="numeric"
                placeholder="1000"
                value={uid}
                onChange={(e) => setUid(e.target.value)}
              />
            </Field>
          ) : (
            <p className="self-end pb-2 text-sm text-slate-500 dark:text-slate-400">
              Drops every cached attribute and name.
            </p>
          )}
        </div>
        <div className="flex items-center gap-3">
          <Button
            type="submit"
            variant="primary"
            disabled={denied !== null || invalidate.isPending}
            title={denied ?? undefined}
          >
            {invalidate.isPending ? 'Invalidating…' : 'Invalidate'}
          </Button>
          {denied ? (
            <span className="text-xs text-slate-500 dark:text-slate-400">Invalidation {denied}.</span>
          ) : null}
        </div>
      </form>
      {outcome?.ok === false ? (
        <Banner tone="critical" role="alert" title="Not invalidated" className="mt-4">
          <span data-testid="cache-error">{outcome.error}</span>
        </Banner>
      ) : outcome?.ok ? (
        <dl
          className="mt-4 grid grid-cols-2 gap-4 border-t border-slate-100 pt-3 sm:grid-cols-4 dark:border-slate-800"
          data-testid="cache-result"
        >
          <Stat label="Dropped" value={outcome.result.dropped.total} sub={`${outcome.result.scope}`} />
          <Stat
            label="Attributes / names / file data"
            value={`${outcome.result.dropped.attributes} / ${outcome.result.dropped.entries} / ${outcome.result.dropped.fileData}`}
          />
          <Stat
            label="Hit ratio before"
            value={pct(outcome.result.hitRatioBefore)}
            sub="since the gateway started"
          />
          <HitRatioAfter since={outcome.result.at} />
        </dl>
      ) : null}
    </Card>
  );
}

function Checklist({
  rollingRestart,
  gracefulShutdown,
}: {
  rollingRestart: string;
  gracefulShutdown: string;
}) {
  // This gateway's own health listener, as it reports it (a wildcard bind is reached on localhost).
  const trpc = useTRPC();
  const listeners = useQuery(trpc.listeners.list.queryOptions());
  const bound = listeners.data?.find((l) => l.protocol === 'ops')?.address ?? '0.0.0.0:8080';
  const healthUrl = `http://${bound.replace(/^(0\.0\.0\.0|\[::\]):/, 'localhost:')}/health`;
  const steps = [
    'Check the Overview: the gateway is healthy and no alert is firing.',
    'Drain this gateway (above) and confirm.',
    'Wait for "Safe to stop" in the Drain panel above (it appears once no request is in flight).',
    'Stop the service: systemctl stop claudefs-gateway',
    'Wait for the load balancer to remove the node from its pool.',
    'Update and start: systemctl start claudefs-gateway',
    `Verify health before continuing (curl ${healthUrl} shows "healthy").`,
    'Move on to the next gateway node.',
  ];
  const [done, setDone] = useState<boolean[]>(() => steps.map(() => false));
  return (
    <Card
      title="Rolling restart checklist"
      action={
        <span className="text-xs text-slate-500">
          {done.filter(Boolean).length}/{steps.length}
        </span>
      }
    >
      <ol className="flex flex-col gap-1.5 text-sm">
        {steps.map((step, i) => (
          <li key={step}>
            <label className="flex items-start gap-2">
              <input
                type="checkbox"
                className="mt-1"
                checked={done[i] ?? false}
                onChange={(e) => setDone((d) => d.map((v, j) => (j === i ? e.target.checked : v)))}
              />
              <span className={done[i] ? 'text-slate-400 line-through' : undefined}>
                {i + 1}. {step}
              </span>
            </label>
          </li>
        ))}
      </ol>
      {rollingRestart || gracefulShutdown ? (
        <div className="mt-4 grid grid-cols-1 gap-3 sm:grid-cols-2">
          {gracefulShutdown ? (
            <div>
              <p className="mb-1 text-xs font-medium text-slate-500">Runbook: graceful shutdown</p>
              <CodeBlock code={gracefulShutdown} />
            </div>
          ) : null}
          {rollingRestart ? (
            <div>
              <p className="mb-1 text-xs font-medium text-slate-500">Runbook: rolling restart</p>
              <CodeBlock code={rollingRestart} />
            </div>
          ) : null}
        </div>
      ) : (
        <PanelState state="empty">The runbook has no rolling-restart commands.</PanelState>
      )}
    </Card>
  );
}

export function Maintenance(props: { rollingRestart: string; gracefulShutdown: string }) {
  return (
    <>
      <PageHeader
        title="Maintenance"
        description="Drain before a restart, invalidate caches, reload the configuration, sweep S3 lifecycle rules, follow the runbook."
      />
      <div className="grid grid-cols-1 gap-4 xl:grid-cols-2">
        <DrainPanel />
        <CachePanel />
        <div className="xl:col-span-2">
          <ConfigPanel />
        </div>
        <div className="xl:col-span-2">
          <LifecyclePanel />
        </div>
        <div className="xl:col-span-2">
          <Checklist {...props} />
        </div>
      </div>
    </>
  );
}
