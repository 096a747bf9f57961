'use client';
import type { DiagnosticTreeId, OfferedAction, RemediationRequest } from '@claudefs/api';
import { Button, CommandLine, ConfirmDialog, Field, fieldAria, Input } from '@claudefs/ui';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { messageOf } from '../../lib/errors.ts';
import { useRoleProblem } from '../../lib/session.ts';
import { useTRPC } from '../../lib/trpc.ts';
import { useToast } from '../providers.tsx';
import { EMPTY_DRAFT, quotaProblems } from '../quotas/quota-form.ts';

type QuotaSet = Extract<RemediationRequest, { action: 'quota.set' }>;
type QuotaEdit = { soft: string; hard: string; grace: string };

const QUOTA_FIELDS: Array<{ name: keyof QuotaEdit; label: string; hint: string }> = [
  { name: 'soft', label: 'Soft limit', hint: 'e.g. 20GB; empty leaves it as it is' },
  { name: 'hard', label: 'Hard limit', hint: 'writes past it are refused' },
  { name: 'grace', label: 'Grace period', hint: 'e.g. 7d; empty leaves it as it is' },
];

/** The quota form's own checks (soft ≤ hard, sizes, durations) over the dialog's fields. */
function quotaEditProblems(request: QuotaSet, edit: QuotaEdit): Partial<Record<keyof QuotaEdit, string>> {
  const p = quotaProblems({ ...EMPTY_DRAFT, kind: request.kind, id: String(request.id), ...edit }, false);
  const out: Partial<Record<keyof QuotaEdit, string>> = {};
  for (const k of ['soft', 'hard', 'grace'] as const) if (p[k]) out[k] = p[k];
  return out;
}

function withQuotaEdit(request: QuotaSet, edit: QuotaEdit): QuotaSet {
  const { soft: _s, hard: _h, grace: _g, ...rest } = request;
  return {
    ...rest,
    ...(edit.soft.trim() ? { soft: edit.soft.trim() } : {}),
    ...(edit.hard.trim() ? { hard: edit.hard.trim() } : {}),
    ...(edit.grace.trim() ? { grace: edit.grace.trim() } : {}),
  };
}

/** `./cfs quota set-user --uid 1000 --soft 20KB --hard 20MB`, as edited. */
function quotaCli(r: QuotaSet): string {
  const verb = r.kind === 'uid' ? 'set-user' : 'set-group';
  const limits = (['soft', 'hard', 'grace'] as const).filter((k) => r[k]).map((k) => ` --${k} ${r[k]}`);
  return `./cfs quota ${verb} --${r.kind} ${r.id}${limits.join('')}`;
}

/** The quota form, prefilled with what the wizard proposes. */
export function quotaFormHref(r: QuotaSet): string {
  const params = new URLSearchParams({ kind: r.kind, id: String(r.id) });
  if (r.soft) params.set('soft', r.soft);
  if (r.hard) params.set('hard', r.hard);
  if (r.grace) params.set('grace', r.grace);
  return `/quotas?${params.toString()}`;
}

/**
 * One remediation a step offers: a button for the roles that may run it (disabled, with the
 * reason, for the others), a confirmation naming the change and its shell equivalent, a toast
 * with the outcome. The gateway audits every one.
 */
export function Remediation({
  action,
  tree,
  runId,
}: {
  action: OfferedAction;
  tree: DiagnosticTreeId;
  runId: string;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const denied = useRoleProblem(action.minRole);
  const [open, setOpen] = useState(false);
  const quota = action.request.action === 'quota.set' ? action.request : null;
  const [edit, setEdit] = useState<QuotaEdit>({
    soft: quota?.soft ?? '',
    hard: quota?.hard ?? '',
    grace: quota?.grace ?? '',
  });
  const problems: Partial<Record<keyof QuotaEdit, string>> = quota ? quotaEditProblems(quota, edit) : {};
  const invalid = Object.values(problems).some(Boolean);
  const remediate = useMutation(
    trpc.diagnostics.remediate.mutationOptions({
      onSuccess: (r) => {
        toast('success', `${action.label}: ${r.summary}`);
        void queryClient.invalidateQueries();
      },
      onError: (e) => toast('error', `${action.label} failed: ${messageOf(e)}`),
      onSettled: () => setOpen(false),
    }),
  );
  const request = quota ? withQuotaEdit(quota, edit) : action.request;
  const reasonId = `remediation-denied-${runId}-${action.label.replace(/\W+/g, '-')}`;
  return (
    <div className="flex flex-col gap-1">
      <div className="flex flex-wrap items-center gap-2">
        <Button
          size="sm"
          variant="primary"
          disabled={denied !== null}
          aria-describedby={denied ? reasonId : undefined}
          title={denied ?? undefined}
          onClick={() => setOpen(true)}
        >
          {action.label}
        </Button>
        {quota ? (
          <Link
            href={quotaFormHref(quota)}
            className="text-xs text-sky-700 hover:underline dark:text-sky-400"
          >
            Open in the quota form
          </Link>
        ) : null}
      </div>
      {denied ? (
        <p
          id={reasonId}
          data-testid="remediation-denied"
          className="text-xs text-slate-500 dark:text-slate-400"
        >
          {action.label} {denied}.
        </p>
      ) : null}
      <ConfirmDialog
        open={open}
        title={action.label}
        confirmLabel="Apply"
        busy={remediate.isPending}
        confirmDisabled={invalid}
        onCancel={() => setOpen(false)}
        onConfirm={() => remediate.mutate({ ...request, tree, runId })}
      >
        <p>{action.confirm}</p>
        {quota ? (
          <div className="mt-3 grid grid-cols-1 gap-2 sm:grid-cols-3">
            {QUOTA_FIELDS.map((f) => (
              <Field
                key={f.name}
                id={`remedy-${f.name}`}
                label={f.label}
                error={problems[f.name]}
                hint={f.hint}
              >
                <Input
                  {...fieldAria(`remedy-${f.name}`, problems[f.name], true)}
                  name={f.name}
                  value={edit[f.name]}
                  invalid={!!problems[f.name]}
                  onChange={(e) => setEdit((d) => ({ ...d, [f.name]: e.target.value }))}
                />
              </Field>
            ))}
          </div>
        ) : null}
        <p className="mt-3 text-xs text-slate-500 dark:text-slate-400">
          The same from a shell on the gateway host:
        </p>
        <div className="mt-1">
          <CommandLine command={quota ? quotaCli(request as QuotaSet) : action.cli} />
        </div>
      </ConfirmDialog>
    </div>
  );
}
