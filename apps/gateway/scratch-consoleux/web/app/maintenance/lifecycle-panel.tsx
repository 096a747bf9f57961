'use client';
import type { LifecycleSweepView, LifecycleView } from '@claudefs/api';
import {
  Banner,
  Button,
  Card,
  ConfirmDialog,
  HeadRow,
  PanelState,
  Stat,
  StatusBadge,
  Table,
  Td,
} from '@claudefs/ui';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { QueryPanel } from '../../components/query-panel.tsx';
import { messageOf } from '../../lib/errors.ts';
import { bytes, dateTime } from '../../lib/format.ts';
import { useRoleProblem } from '../../lib/session.ts';
import { useTRPC } from '../../lib/trpc.ts';
import { useToast } from '../providers.tsx';

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

function Sweep({ sweep }: { sweep: LifecycleSweepView }) {
  const problems = sweep.buckets.filter((b) => b.error !== undefined);
  return (
    <div className="flex flex-col gap-3" data-testid="lifecycle-sweep">
      <dl className="grid grid-cols-2 gap-4 sm:grid-cols-4">
        <Stat label="Objects expired" value={sweep.expired} />
        <Stat label="Freed" value={bytes(sweep.freedBytes)} />
        <Stat label="Uploads aborted" value={sweep.aborted} />
        <Stat
          label="Swept at"
          value={new Date(sweep.started).toLocaleTimeString()}
          sub={`${new Date(sweep.started).toLocaleDateString()}, in ${sweep.ms} ms`}
        />
      </dl>
      {problems.length > 0 ? (
        <Banner tone="warning" role="status" title="Some buckets were not swept to the end">
          {problems.map((b) => `${b.bucket}: ${b.error}`).join('; ')}
        </Banner>
      ) : null}
    </div>
  );
}

function Rules({ view }: { view: LifecycleView }) {
  if (view.buckets.length === 0)
    return (
      <PanelState state="empty">
        No bucket has lifecycle rules. A bucket's owner sets them over S3 (aws s3api
        put-bucket-lifecycle-configuration).
      </PanelState>
    );
  return (
    <Table caption="Lifecycle rules by bucket">
      <HeadRow columns={['Bucket', 'Rule', 'Status', 'Does']} />
      <tbody>
        {view.buckets.flatMap((b) =>
          b.rules.map((r) => (
            <tr key={`${b.bucket}/${r.id}`} data-testid="lifecycle-rule">
              <Td className="font-medium">{b.bucket}</Td>
              <Td className="font-mono text-xs">{r.id}</Td>
              <Td>
                <StatusBadge
                  status={r.enabled ? 'Enabled' : 'Disabled'}
                  variant={r.enabled ? 'healthy' : 'unknown'}
                />
              </Td>
              <Td>{r.summary}</Td>
            </tr>
          )),
        )}
      </tbody>
    </Table>
  );
}

/**
 * S3 lifecycle: every bucket's rules as the gateway reads them, what the last sweep removed, when
 * the next comes, and a sweep on demand (operator; what is due goes at once).
 */
export function LifecyclePanel() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const denied = useRoleProblem('operator');
  const [confirm, setConfirm] = useState(false);
  const view = useQuery({ ...trpc.s3.lifecycle.queryOptions(), refetchInterval: 30_000 });
  const run = useMutation(
    trpc.s3.runLifecycle.mutationOptions({
      onSuccess: (r) => {
        void queryClient.invalidateQueries({ queryKey: trpc.s3.lifecycle.queryKey() });
        toast(
          'success',
          `Lifecycle sweep done: ${plural(r.expired, 'object')} expired (${bytes(r.freedBytes)}), ${plural(r.aborted, 'upload')} aborted.`,
        );
      },
      onError: (e) => toast('error', `Lifecycle sweep failed: ${messageOf(e)}`),
      onSettled: () => setConfirm(false),
    }),
  );
  return (
    <Card title="S3 lifecycle">
      <QueryPanel query={view}>
        {(v) =>
          !v.served ? (
            <PanelState state="empty">This gateway serves no S3.</PanelState>
          ) : (
            <div className="flex flex-col gap-4" data-testid="lifecycle-panel">
              <Rules view={v} />
              {v.lastSweep ? (
                <Sweep sweep={v.lastSweep} />
              ) : (
                <p className="text-sm text-slate-500 dark:text-slate-400">
                  No sweep since the gateway started.
                </p>
              )}
              <div className="flex flex-wrap items-center gap-3">
                <Button
                  variant="danger"
                  disabled={denied !== null || run.isPending || v.buckets.length === 0}
                  title={denied ?? undefined}
                  onClick={() => setConfirm(true)}
                >
                  {run.isPending ? 'Sweeping…' : 'Sweep now'}
                </Button>
                <span className="text-xs text-slate-500 dark:text-slate-400">
                  {denied
                    ? `Sweeping ${denied}.`
                    : v.sweeping
                      ? 'A sweep is running now.'
                      : v.nextSweep
                        ? `Next scheduled sweep: ${dateTime(v.nextSweep)}.`
                        : 'No scheduled sweeps (s3.lifecycle_interval: 0): sweeps run when asked.'}
                </span>
              </div>
            </div>
          )
        }
      </QueryPanel>
      <ConfirmDialog
        open={confirm}
        title="Sweep the lifecycle rules now?"
        confirmLabel="Sweep now"
        tone="danger"
        busy={run.isPending}
        onCancel={() => setConfirm(false)}
        onConfirm={() => run.mutate()}
      >
        Objects whose rules say they are due are deleted now, over every protocol, and incomplete uploads past
        their days are aborted. Nothing else changes; the hourly sweep would do the same within the hour.
      </ConfirmDialog>
    </Card>
  );
}
