'use client';
import type { QuotaExplanation, QuotaKind, QuotaView, UsageView } from '@claudefs/api';
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
  StatusBadge,
  type StatusVariant,
  Table,
  Td,
  Th,
  UsageBar,
} from '@claudefs/ui';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useSearchParams } from 'next/navigation';
import { type FormEvent, Suspense, useEffect, useRef, useState } from 'react';
import { PageHeader } from '../../components/page-header.tsx';
import { QueryPanel } from '../../components/query-panel.tsx';
import { messageOf } from '../../lib/errors.ts';
import { bytes, duration } from '../../lib/format.ts';
import { useRoleProblem } from '../../lib/session.ts';
import { useTRPC } from '../../lib/trpc.ts';
import { useToast } from '../providers.tsx';
import {
  draftFromParams,
  draftOf,
  EMPTY_DRAFT,
  type QuotaDraft,
  quotaProblems,
  quotaRequest,
} from './quota-form.ts';

const STATE_VARIANT: Record<QuotaView['state'], StatusVariant> = {
  ok: 'healthy',
  'over soft': 'degraded',
  'in grace': 'degraded',
  'grace expired': 'unhealthy',
  'over hard': 'unhealthy',
};

function QuotaState({ state }: { state: QuotaView['state'] }) {
  return (
    <span data-quota-state={state}>
      <StatusBadge status={state} variant={STATE_VARIANT[state]} />
    </span>
  );
}

/** `uid=1000 (alice)`: a quota's or an owner's subject, with its account's name when it has one. */
function SubjectCell({ subject }: { subject: { kind: QuotaKind; id: number; name: string | null } }) {
  return (
    <Td>
      <span className="font-medium">
        {subject.kind}={subject.id}
      </span>
      {subject.name ? (
        <span className="ml-1 text-slate-500 dark:text-slate-400">({subject.name})</span>
      ) : null}
    </Td>
  );
}

function QuotaForm({
  editing,
  prefill,
  onDone,
}: {
  editing: QuotaView | null;
  /** Values proposed from elsewhere (a diagnostic wizard), over the quota's own. */
  prefill: Partial<QuotaDraft> | null;
  onDone: () => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [draft, setDraft] = useState<QuotaDraft>({
    ...(editing ? draftOf(editing) : EMPTY_DRAFT),
    ...prefill,
  });
  const [touched, setTouched] = useState(false);
  const [serverProblem, setServerProblem] = useState<string | null>(null);
  // A new quota for a uid or gid that has one replaces it: asked first, showing the limits it ends.
  const quotas = useQuery(trpc.quotas.list.queryOptions());
  const [replacing, setReplacing] = useState<QuotaView | null>(null);
  const problems = quotaProblems(draft, editing !== null);
  const shown = touched ? problems : {};
  const set = useMutation(
    trpc.quotas.set.mutationOptions({
      onSuccess: (q) => {
        toast('success', `Quota for ${q.kind} ${q.id}${q.name ? ` (${q.name})` : ''} saved.`);
        void queryClient.invalidateQueries({ queryKey: trpc.quotas.list.queryKey() });
        // A created quota leaves an empty form: the next one starts from nothing, not from these limits.
        if (editing === null) {
          setDraft(EMPTY_DRAFT);
          setTouched(false);
        }
        onDone();
      },
      onSettled: () => setReplacing(null),
      onError: (e) => {
        setServerProblem(messageOf(e));
        toast('error', `Quota not saved: ${messageOf(e)}`);
      },
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    setServerProblem(null);
    if (Object.keys(problems).length > 0) return;
    const existing =
      editing === null
        ? quotas.data?.find((q) => q.kind === draft.kind && String(q.id) === draft.id.trim())
        : undefined;
    if (existing) {
      setReplacing(existing);
      return;
    }
    set.mutate(quotaRequest(draft, editing !== null));
  };
  const field = (name: keyof QuotaDraft) => ({
    ...fieldAria(`quota-${name}`, shown[name], true),
    name,
    value: draft[name],
    invalid: !!shown[name],
    onChange: (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [name]: e.target.value })),
  });
  return (
    <>
      <form
        onSubmit={submit}
        noValidate
        aria-label={editing ? 'Edit quota' : 'New quota'}
        className="flex flex-col gap-3"
      >
        <div className="grid grid-cols-1 gap-3 sm:grid-cols-[10rem_1fr]">
          <Field id="quota-kind" label="For">
            <Select
              {...fieldAria('quota-kind')}
              name="kind"
              value={draft.kind}
              disabled={editing !== null}
              onChange={(e) => setDraft((d) => ({ ...d, kind: e.target.value as QuotaDraft['kind'] }))}
            >
              <option value="uid">User (uid)</option>
              <option value="gid">Group (gid)</option>
            </Select>
          </Field>
          <Field id="quota-id" label={draft.kind === 'uid' ? 'uid' : 'gid'} error={shown.id} hint="e.g. 1000">
            <Input {...field('id')} inputMode="numeric" readOnly={editing !== null} />
          </Field>
        </div>
        <div className="grid grid-cols-1 gap-3 sm:grid-cols-2">
          <Field
            id="quota-soft"
            label="Soft limit"
            error={shown.soft}
            hint="e.g. 20GB, 512MiB; empty for none"
          >
            <Input {...field('soft')} placeholder="20GB" />
          </Field>
          <Field id="quota-hard" label="Hard limit" error={shown.hard} hint="writes past it are refused">
            <Input {...field('hard')} placeholder="25GB" />
          </Field>
          <Field
            id="quota-softInodes"
            label="Soft inode limit"
            error={shown.softInodes}
            hint="files; optional"
          >
            <Input {...field('softInodes')} inputMode="numeric" />
          </Field>
          <Field
            id="quota-hardInodes"
            label="Hard inode limit"
            error={shown.hardInodes}
            hint="files; optional"
          >
            <Input {...field('hardInodes')} inputMode="numeric" />
          </Field>
          <Field
            id="quota-grace"
            label="Grace period"
            error={shown.grace}
            hint="e.g. 7d; empty for the default"
          >
            <Input {...field('grace')} placeholder="7d" />
          </Field>
        </div>
        {serverProblem ? (
          <p role="alert" className="text-sm text-red-700 dark:text-red-400">
            {serverProblem}
          </p>
        ) : null}
        <div className="flex gap-2">
          <Button type="submit" variant="primary" disabled={set.isPending}>
            {set.isPending ? 'Saving…' : editing ? 'Save quota' : 'Create quota'}
          </Button>
          {editing ? <Button onClick={onDone}>Cancel</Button> : null}
        </div>
      </form>
      <ConfirmDialog
        open={replacing !== null}
        title={`Replace the quota of ${replacing ? `${replacing.kind} ${replacing.id}` : ''}?`}
        confirmLabel="Replace quota"
        tone="danger"
        busy={set.isPending}
        onCancel={() => setReplacing(null)}
        onConfirm={() => set.mutate(quotaRequest(draft, false))}
      >
        {replacing ? (
          <>
            {replacing.kind} {replacing.id}
            {replacing.name ? ` (${replacing.name})` : ''} already has a quota: soft{' '}
            {replacing.bytes.softText ?? 'none'}, hard {replacing.bytes.hardText ?? 'none'}, grace{' '}
            {replacing.graceText}; {replacing.bytes.usedText} used. These limits replace it. To change one
            limit, use Edit on its row.
          </>
        ) : null}
      </ConfirmDialog>
    </>
  );
}

function QuotaTable({ quotas, onEdit }: { quotas: QuotaView[]; onEdit: (q: QuotaView) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const denied = useRoleProblem('admin');
  const [removing, setRemoving] = useState<QuotaView | null>(null);
  const remove = useMutation(
    trpc.quotas.remove.mutationOptions({
      onSuccess: (r) => {
        toast('success', `Quota for ${r.removed.kind} ${r.removed.id} removed.`);
        void queryClient.invalidateQueries({ queryKey: trpc.quotas.list.queryKey() });
      },
      onError: (e) => toast('error', `Quota not removed: ${messageOf(e)}`),
      onSettled: () => setRemoving(null),
    }),
  );
  return (
    <>
      <Table caption="Quotas">
        <thead>
          <tr>
            <Th>Subject</Th>
            <Th className="w-64 min-w-40">Bytes used</Th>
            <Th>Soft / hard</Th>
            <Th>Inodes</Th>
            <Th>State</Th>
            <Th>Grace left</Th>
            <Th>
              <span className="sr-only">Actions</span>
            </Th>
          </tr>
        </thead>
        <tbody>
          {quotas.map((q) => (
            <tr key={`${q.kind}${q.id}`} data-quota={`${q.kind}=${q.id}`}>
              <SubjectCell subject={q} />
              <Td>
                <UsageBar
                  label={`${q.kind} ${q.id} bytes used`}
                  used={Number(q.bytes.used)}
                  soft={q.bytes.soft === null ? null : Number(q.bytes.soft)}
                  hard={q.bytes.hard === null ? null : Number(q.bytes.hard)}
                />
                <span className="text-xs text-slate-500 tabular-nums dark:text-slate-400">
                  {bytes(q.bytes.used)}
                </span>
              </Td>
              <Td className="whitespace-nowrap tabular-nums">
                {q.bytes.softText ?? '—'} / {q.bytes.hardText ?? '—'}
              </Td>
              <Td className="tabular-nums">
                {q.inodes.used}
                {q.inodes.hard !== null || q.inodes.soft !== null
                  ? ` (${q.inodes.soft ?? '—'} / ${q.inodes.hard ?? '—'})`
                  : ''}
              </Td>
              <Td className="whitespace-nowrap">
                <QuotaState state={q.state} />
              </Td>
              <Td className="whitespace-nowrap tabular-nums">
                {q.graceRemainingMs === null ? `${q.graceText} period` : duration(q.graceRemainingMs)}
              </Td>
              <Td className="whitespace-nowrap text-right">
                <Button
                  size="sm"
                  variant="ghost"
                  disabled={denied !== null}
                  title={denied ?? undefined}
                  onClick={() => onEdit(q)}
                >
                  Edit
                </Button>
                <Button
                  size="sm"
                  variant="ghost"
                  disabled={denied !== null}
                  title={denied ?? undefined}
                  onClick={() => setRemoving(q)}
                >
                  Delete
                </Button>
              </Td>
            </tr>
          ))}
        </tbody>
      </Table>
      <ConfirmDialog
        open={removing !== null}
        title={`Delete the quota for ${removing?.kind} ${removing?.id}?`}
        confirmLabel="Delete quota"
        tone="danger"
        busy={remove.isPending}
        onCancel={() => setRemoving(null)}
        onConfirm={() =>
          removing && remove.mutate(removing.kind === 'uid' ? { uid: removing.id } : { gid: removing.id })
        }
      >
        Writes by this {removing?.kind === 'uid' ? 'user' : 'group'} will no longer be limited.
      </ConfirmDialog>
    </>
  );
}

function WhyBlocked() {
  const trpc = useTRPC();
  const [kind, setKind] = useState<'uid' | 'gid'>('uid');
  const [id, setId] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [asked, setAsked] = useState<{ uid?: number; gid?: number } | null>(null);
  const explain = useQuery({
    ...trpc.quotas.explain.queryOptions(asked ?? { uid: 0 }),
    enabled: asked !== null,
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!/^\d+$/.test(id.trim())) return setProblem(`${kind} must be a whole number`);
    setProblem(null);
    setAsked(kind === 'uid' ? { uid: Number(id) } : { gid: Number(id) });
  };
  const x: QuotaExplanation | undefined = asked ? explain.data : undefined;
  return (
    <Card title="Why was I blocked?">
      <form
        onSubmit={submit}
        noValidate
        className="flex flex-wrap items-end gap-3"
        aria-label="Explain a quota refusal"
      >
        <Field id="why-kind" label="Who">
          <Select
            {...fieldAria('why-kind')}
            value={kind}
            onChange={(e) => setKind(e.target.value as 'uid' | 'gid')}
          >
            <option value="uid">uid</option>
            <option value="gid">gid</option>
          </Select>
        </Field>
        <Field id="why-id" label="Number" error={problem} className="w-40">
          <Input
            {...fieldAria('why-id', problem)}
            invalid={!!problem}
            inputMode="numeric"
            value={id}
            onChange={(e) => setId(e.target.value)}
          />
        </Field>
        <Button type="submit">Explain</Button>
      </form>
      {asked && explain.isPending ? <p className="mt-3 text-sm text-slate-500">Asking the gateway…</p> : null}
      {asked && explain.isError ? (
        <p role="alert" className="mt-3 text-sm text-red-700 dark:text-red-400">
          {messageOf(explain.error)}
        </p>
      ) : null}
      {x ? (
        <div className="mt-3 flex flex-col gap-2" data-testid="why-result">
          <Banner
            tone={x.blocked ? 'critical' : 'success'}
            title={x.blocked ? 'Writes are refused' : 'Writes are allowed'}
          >
            {x.summary}
          </Banner>
          {x.subjects.map((s) => (
            <div
              key={`${s.kind}${s.id}`}
              className="rounded-md border border-slate-200 p-2 text-xs dark:border-slate-700"
            >
              <p className="font-medium">
                {s.kind}={s.id}
                {s.name ? ` (${s.name})` : ''}
                {s.quota ? '' : ': no quota set'}
              </p>
              {s.quota ? (
                <ul className="mt-1 list-disc pl-4 font-mono">
                  <li>{s.bytes.arithmetic}</li>
                  <li>{s.inodes.arithmetic}</li>
                </ul>
              ) : null}
            </div>
          ))}
        </div>
      ) : null}
    </Card>
  );
}

/**
 * Reads a prefill from the address (`?kind=uid&id=1000&soft=20KB`, a wizard's "edit quota")
 * once; alone inside its Suspense boundary so the rest of the page is still prerendered.
 */
/** Who uses the space: every user (or group) owning anything, most first — repquota on a page. */
function WhoUsesSpace({ onLimit }: { onLimit: (kind: QuotaKind, id: number) => void }) {
  const trpc = useTRPC();
  const denied = useRoleProblem('admin');
  const [kind, setKind] = useState<QuotaKind>('uid');
  const usage = useQuery({ ...trpc.quotas.usage.queryOptions({ kind }), refetchInterval: 10_000 });
  return (
    <Card
      title="Who uses the space"
      action={
        <div className="w-32 shrink-0">
          <Select aria-label="Owners" value={kind} onChange={(e) => setKind(e.target.value as QuotaKind)}>
            <option value="uid">Users</option>
            <option value="gid">Groups</option>
          </Select>
        </div>
      }
    >
      <QueryPanel
        query={usage}
        isEmpty={(rows) => rows.length === 0}
        empty={kind === 'uid' ? 'No user owns anything yet.' : 'No group owns anything yet.'}
      >
        {(rows: UsageView[]) => (
          <Table caption={kind === 'uid' ? 'Space by user' : 'Space by group'}>
            <thead>
              <tr>
                <Th>{kind === 'uid' ? 'User' : 'Group'}</Th>
                <Th className="text-right">Used</Th>
                <Th className="text-right">Files</Th>
                <Th>Quota (soft / hard)</Th>
                <Th>State</Th>
                <Th>
                  <span className="sr-only">Actions</span>
                </Th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={`${r.kind}${r.id}`} data-usage={`${r.kind}=${r.id}`}>
                  <SubjectCell subject={r} />
                  <Td className="text-right tabular-nums">{bytes(r.used.bytes)}</Td>
                  <Td className="text-right tabular-nums">{r.used.inodes}</Td>
                  <Td className="whitespace-nowrap tabular-nums">
                    {r.quota ? `${r.quota.bytes.softText ?? '—'} / ${r.quota.bytes.hardText ?? '—'}` : 'none'}
                  </Td>
                  <Td className="whitespace-nowrap">
                    {r.quota ? (
                      <QuotaState state={r.quota.state} />
                    ) : (
                      <span className="text-slate-500 dark:text-slate-400">no quota</span>
                    )}
                  </Td>
                  <Td className="whitespace-nowrap text-right">
                    {r.quota ? null : (
                      <Button
                        size="sm"
                        variant="ghost"
                        disabled={denied !== null}
                        title={denied ?? undefined}
                        onClick={() => onLimit(r.kind, r.id)}
                      >
                        Set quota
                      </Button>
                    )}
                  </Td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </QueryPanel>
    </Card>
  );
}

function PrefillFromAddress({ onPrefill }: { onPrefill: (draft: Partial<QuotaDraft>) => void }) {
  const params = useSearchParams();
  const read = useRef(false);
  useEffect(() => {
    if (read.current) return;
    read.current = true;
    const draft = draftFromParams(params);
    if (draft) onPrefill(draft);
  }, [params, onPrefill]);
  return null;
}

export function Quotas() {
  const trpc = useTRPC();
  const denied = useRoleProblem('admin');
  const list = useQuery({ ...trpc.quotas.list.queryOptions(), refetchInterval: 10_000 });
  const [editing, setEditing] = useState<QuotaView | null>(null);
  const [prefill, setPrefill] = useState<Partial<QuotaDraft> | null>(null);
  const [prefillTarget, setPrefillTarget] = useState<'pending' | 'ready'>('ready');
  // A prefilled subject that already has a quota opens it for editing, with the proposed values.
  useEffect(() => {
    if (prefillTarget === 'ready' || (!list.data && !list.isError)) return;
    const q = list.data?.find((x) => x.kind === prefill?.kind && String(x.id) === prefill?.id);
    if (q) setEditing(q);
    setPrefillTarget('ready');
  }, [list.data, list.isError, prefill, prefillTarget]);
  const applies =
    prefill !== null && (!editing || (editing.kind === prefill.kind && String(editing.id) === prefill.id));
  const done = () => {
    setEditing(null);
    setPrefill(null);
  };
  return (
    <>
      <PageHeader
        title="Quotas"
        description="Per-user and per-group limits on bytes and files, with a grace period past soft."
      />
      <div className="flex flex-col gap-4">
        <Card title="User and group quotas">
          <QueryPanel
            query={list}
            isEmpty={(q) => q.length === 0}
            empty="No quota is set: nothing is limited."
          >
            {(quotas) => <QuotaTable quotas={quotas} onEdit={setEditing} />}
          </QueryPanel>
        </Card>
        <WhoUsesSpace
          onLimit={(kind, id) => {
            setEditing(null);
            setPrefill({ kind, id: String(id) });
            document.getElementById('quota-form')?.scrollIntoView({ behavior: 'smooth' });
          }}
        />
        <div id="quota-form" className="grid grid-cols-1 items-start gap-4 lg:grid-cols-2">
          <Card title={editing ? `Edit ${editing.kind} ${editing.id}` : 'New quota'}>
            <Suspense fallback={null}>
              <PrefillFromAddress
                onPrefill={(p) => {
                  setPrefill(p);
                  setPrefillTarget('pending');
                }}
              />
            </Suspense>
            {denied ? (
              <p className="text-sm text-slate-500 dark:text-slate-400">Changing quotas {denied}.</p>
            ) : prefillTarget === 'pending' ? (
              <PanelState state="loading" />
            ) : (
              <QuotaForm
                key={`${editing ? `${editing.kind}${editing.id}` : 'new'}${applies ? '-prefilled' : ''}`}
                editing={editing}
                prefill={applies ? prefill : null}
                onDone={done}
              />
            )}
          </Card>
          <WhyBlocked />
        </div>
      </div>
    </>
  );
}
