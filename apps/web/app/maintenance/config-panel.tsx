'use client';
import type { ConfigReload, SettingChange } from '@claudefs/api';
import { Banner, Button, Card, ConfirmDialog, StatusBadge } from '@claudefs/ui';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { QueryPanel } from '../../components/query-panel.tsx';
import { messageOf } from '../../lib/errors.ts';
import { useRoleProblem } from '../../lib/session.ts';
import { useTRPC } from '../../lib/trpc.ts';
import { useToast } from '../providers.tsx';

function Changes({ title, changes, testId }: { title: string; changes: SettingChange[]; testId: string }) {
  if (changes.length === 0) return null;
  return (
    <div data-testid={testId}>
      <p className="mb-1 text-xs font-medium text-slate-500 dark:text-slate-400">{title}</p>
      <ul className="flex flex-col gap-1 text-sm">
        {changes.map((c) => (
          <li key={`${c.setting}:${c.from}:${c.to}`} className="break-words">
            <code className="font-mono text-xs">{c.setting}</code>{' '}
            <span className="text-slate-500 dark:text-slate-400">{c.from}</span> →{' '}
            <span className="font-medium">{c.to}</span>
            {c.note ? (
              <span className="block text-xs text-slate-500 dark:text-slate-400">{c.note}</span>
            ) : null}
          </li>
        ))}
      </ul>
    </div>
  );
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/**
 * The configuration file of the running gateway: which file, the last reload, what waits for a
 * restart, and Reload (as SIGHUP or `./cfs gateway reload`).
 */
export function ConfigPanel() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const denied = useRoleProblem('operator');
  const [confirming, setConfirming] = useState(false);
  const [done, setDone] = useState<ConfigReload | null>(null);
  const status = useQuery({ ...trpc.config.status.queryOptions(), refetchInterval: 15_000 });
  // Read afresh each time the dialog opens: the operator sees what this reload will do.
  const preview = useQuery({
    ...trpc.config.preview.queryOptions(),
    enabled: confirming,
    gcTime: 0,
    staleTime: 0,
  });
  const plan = confirming ? preview.data : undefined;
  const reload = useMutation(
    trpc.config.reload.mutationOptions({
      onSuccess: (r) => {
        setDone(r);
        toast(
          'success',
          r.applied.length === 0 && r.pendingRestart.length === 0
            ? 'Configuration reloaded: no setting changed.'
            : `Configuration reloaded: ${plural(r.applied.length, 'change')} applied, ${r.pendingRestart.length} waiting for a restart.`,
        );
      },
      onError: (e) => {
        setDone(null);
        toast('error', `Reload refused: ${messageOf(e).replace(/^reload refused: /, '')}`);
      },
      onSettled: () => {
        setConfirming(false);
        void queryClient.invalidateQueries({ queryKey: trpc.config.status.queryKey() });
      },
    }),
  );
  const last = status.data?.lastReload ?? null;
  const pending = last?.pendingRestart ?? [];
  return (
    <Card
      title="Configuration"
      action={
        pending.length > 0 ? (
          <StatusBadge status={`${pending.length} waiting for a restart`} variant="degraded" />
        ) : null
      }
    >
      <QueryPanel query={status}>
        {(s) => (
          <div className="flex flex-col gap-4" data-testid="config-panel">
            <p className="text-sm text-slate-600 dark:text-slate-300">
              Running <code className="font-mono text-xs">{s.file}</code> at log level {s.logLevel}. Edit the
              file on the gateway host, then reload: exports, shares, limits, caches, circuit breakers and the
              log level apply at once; listeners, stores and durability at the next restart. The same as{' '}
              <code className="font-mono text-xs">./cfs gateway reload</code> or SIGHUP.
            </p>
            {last?.problems ? (
              <Banner
                tone="critical"
                role="alert"
                title="The last reload was refused; the running configuration stayed"
              >
                <ul className="mt-1 flex flex-col gap-0.5 font-mono text-xs" data-testid="config-problems">
                  {last.problems.map((p) => (
                    <li key={p}>{p}</li>
                  ))}
                </ul>
              </Banner>
            ) : last ? (
              <p className="text-xs text-slate-500 dark:text-slate-400" data-testid="config-last-reload">
                Last reload {new Date(last.at).toLocaleString()}: {plural(last.applied.length, 'change')}{' '}
                applied, {last.pendingRestart.length} waiting for a restart.
              </p>
            ) : (
              <p className="text-xs text-slate-500 dark:text-slate-400">
                Not reloaded since the gateway started.
              </p>
            )}
            {done ? <Changes title="Applied now" changes={done.applied} testId="config-applied" /> : null}
            <Changes
              title="Waiting for a restart (the running value → the file's)"
              changes={pending}
              testId="config-pending"
            />
            <div className="flex items-center gap-3">
              <Button
                variant="primary"
                disabled={denied !== null || reload.isPending}
                title={denied ?? undefined}
                onClick={() => setConfirming(true)}
              >
                {reload.isPending ? 'Reloading…' : 'Reload configuration'}
              </Button>
              {denied ? (
                <span className="text-xs text-slate-500 dark:text-slate-400">Reload {denied}.</span>
              ) : null}
            </div>
          </div>
        )}
      </QueryPanel>
      <ConfirmDialog
        open={confirming}
        title="Reload the configuration file?"
        confirmLabel="Reload"
        busy={reload.isPending}
        confirmDisabled={!plan?.ok}
        onCancel={() => setConfirming(false)}
        onConfirm={() => reload.mutate()}
      >
        <div className="flex flex-col gap-3" data-testid="config-preview">
          <p>
            The gateway reads {status.data?.file ?? 'its file'} again. Export and share changes reach
            connected clients at once: an SMB user taken out of a share's valid_groups loses that share, an
            export made read-only refuses writes.
          </p>
          {preview.isError ? (
            <p className="text-red-700 dark:text-red-300">
              The file could not be read: {messageOf(preview.error)}
            </p>
          ) : !plan ? (
            <p className="text-slate-500 dark:text-slate-400">Reading the file…</p>
          ) : !plan.ok ? (
            <Banner tone="critical" title="The file has errors: a reload would change nothing">
              <ul className="mt-1 flex flex-col gap-0.5 font-mono text-xs">
                {plan.problems.map((p) => (
                  <li key={p}>{p}</li>
                ))}
              </ul>
            </Banner>
          ) : (
            <>
              {plan.applied.length === 0 && plan.pendingRestart.length === 0 ? (
                <p className="font-medium">The file is what the gateway runs: nothing would change.</p>
              ) : null}
              <Changes title="Applies at once" changes={plan.applied} testId="preview-applied" />
              <Changes title="Waits for a restart" changes={plan.pendingRestart} testId="preview-pending" />
              <Changes
                title="Not taken from the file: a flag given at start keeps its value (file → flag)"
                changes={plan.overridden ?? []}
                testId="preview-overridden"
              />
            </>
          )}
        </div>
      </ConfirmDialog>
    </Card>
  );
}

/**
 * On the Overview: the file's last reload was refused, or settings in it wait for a restart.
 * Nothing when the running configuration is the file's.
 */
export function ConfigNotice() {
  const trpc = useTRPC();
  const status = useQuery({ ...trpc.config.status.queryOptions(), refetchInterval: 30_000 });
  const last = status.data?.lastReload;
  if (!last || (!last.problems && last.pendingRestart.length === 0)) return null;
  const link = (
    <Link
      href="/maintenance"
      className="shrink-0 rounded-md bg-white/70 px-2.5 py-1 text-xs font-medium text-slate-900 ring-1 ring-slate-300 ring-inset hover:bg-white dark:bg-slate-900/60 dark:text-slate-100 dark:ring-slate-600"
    >
      Maintenance
    </Link>
  );
  return last.problems ? (
    <Banner tone="warning" role="status" title="The last configuration reload was refused" action={link}>
      The gateway runs its previous configuration; {status.data?.file} has{' '}
      {plural(last.problems.length, 'problem')}.
    </Banner>
  ) : (
    <Banner
      tone="info"
      role="status"
      title={
        last.pendingRestart.length === 1
          ? '1 setting waits for a restart'
          : `${last.pendingRestart.length} settings wait for a restart`
      }
      action={link}
    >
      {last.pendingRestart.map((c) => c.setting).join(', ')} changed in the file; the running values stay
      until the gateway restarts.
    </Banner>
  );
}
