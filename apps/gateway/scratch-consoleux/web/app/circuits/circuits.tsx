'use client';
import type { BackendName, CircuitView } from '@claudefs/api';
import { Button, Card, ConfirmDialog, Stat, StatusBadge } from '@claudefs/ui';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { PageHeader } from '../../components/page-header.tsx';
import { QueryPanel } from '../../components/query-panel.tsx';
import { messageOf } from '../../lib/errors.ts';
import { ago, dateTime, duration } from '../../lib/format.ts';
import { useRoleProblem } from '../../lib/session.ts';
import { useTRPC } from '../../lib/trpc.ts';
import { useToast } from '../providers.tsx';

function CircuitCard({ c, onReset, denied }: { c: CircuitView; onReset: () => void; denied: string | null }) {
  // A closed circuit with no failure counted has nothing to reset.
  const idle =
    c.state === 'closed' && c.consecutiveFailures === 0 ? 'closed, with no failure to forget' : null;
  return (
    <Card title={`Circuit to ${c.backend}`} action={<StatusBadge status={c.state} />}>
      <dl className="grid grid-cols-2 gap-4 sm:grid-cols-3">
        <Stat
          label="Consecutive failures"
          value={c.consecutiveFailures}
          tone={c.consecutiveFailures > 0 ? 'warning' : 'neutral'}
        />
        <Stat label="Failures since start" value={c.totalFailures} />
        <Stat
          label="Next probe"
          value={c.nextProbeAt ? duration(c.nextProbeAt - Date.now()).replace('expired', 'due') : '—'}
          sub={c.openedAt ? `opened ${ago(c.openedAt)}` : undefined}
        />
      </dl>
      <div className="mt-3 text-sm">
        <p className="text-xs font-medium text-slate-500 dark:text-slate-400">Last error</p>
        {c.lastError ? (
          <p className="font-mono text-xs">
            {c.lastError.message} <span className="text-slate-500">({dateTime(c.lastError.at)})</span>
          </p>
        ) : (
          <p className="text-slate-500 dark:text-slate-400">None recorded.</p>
        )}
      </div>
      <div className="mt-4 flex items-center gap-3">
        <Button
          variant={c.state === 'closed' ? 'secondary' : 'danger'}
          size="sm"
          disabled={denied !== null || idle !== null}
          title={denied ?? idle ?? undefined}
          onClick={onReset}
        >
          Reset circuit
        </Button>
        {denied ? (
          <span className="text-xs text-slate-500">Reset {denied}.</span>
        ) : idle ? (
          <span className="text-xs text-slate-500 dark:text-slate-400">Nothing to reset: {idle}.</span>
        ) : null}
      </div>
    </Card>
  );
}

export function Circuits() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const denied = useRoleProblem('operator');
  const list = useQuery({ ...trpc.circuits.list.queryOptions(), refetchInterval: 5_000 });
  const [resetting, setResetting] = useState<BackendName | null>(null);
  const reset = useMutation(
    trpc.circuits.reset.mutationOptions({
      onSuccess: (c) => {
        toast('success', `Circuit to ${c.backend} reset: ${c.state}.`);
        void queryClient.invalidateQueries({ queryKey: trpc.circuits.list.queryKey() });
      },
      onError: (e) => toast('error', `Reset failed: ${messageOf(e)}`),
      onSettled: () => setResetting(null),
    }),
  );
  return (
    <>
      <PageHeader
        title="Circuit breakers"
        description="Backends behind breakers: open means requests needing that backend are refused until a probe succeeds."
      />
      <QueryPanel
        query={list}
        isEmpty={(r) => r.circuits.length === 0}
        empty="No circuit breakers are configured."
      >
        {(r) => (
          <div className="grid grid-cols-1 gap-4 xl:grid-cols-2">
            {r.circuits.map((c) => (
              <CircuitCard key={c.backend} c={c} denied={denied} onReset={() => setResetting(c.backend)} />
            ))}
          </div>
        )}
      </QueryPanel>
      <ConfirmDialog
        open={resetting !== null}
        title={`Reset the circuit to ${resetting}?`}
        confirmLabel="Reset"
        tone="danger"
        busy={reset.isPending}
        onCancel={() => setResetting(null)}
        onConfirm={() => resetting && reset.mutate({ backend: resetting })}
      >
        The circuit closes and its failure count clears; requests go to {resetting} again at once. If the
        backend is still failing, the circuit will open again.
      </ConfirmDialog>
    </>
  );
}
