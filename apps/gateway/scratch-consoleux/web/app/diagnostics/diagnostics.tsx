'use client';
import type { DiagnosticRun, DiagnosticTreeDef, DiagnosticTreeId } from '@claudefs/api';
import { Banner, Button, Card, cx, Field, fieldAria, Input, PanelState } from '@claudefs/ui';
import { useMutation, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { QueryPanel } from '../../components/query-panel.tsx';
import {
  diagnoseHref,
  INPUT_LABEL,
  type InputDraft,
  type InputProblems,
  inputProblems,
  inputsFromParams,
  runbookHeading,
  runRequest,
  shouldRunOnArrival,
} from '../../lib/diagnostics.ts';
import { messageOf } from '../../lib/errors.ts';
import { slug } from '../../lib/slug.ts';
import { useTRPC } from '../../lib/trpc.ts';
import { RunResult } from './run-result.tsx';

const KIND_WORD = { check: 'check', manual: 'manual', action: 'remediation' } as const;

function TreeList({ trees, selected }: { trees: DiagnosticTreeDef[]; selected: DiagnosticTreeId | null }) {
  return (
    <nav aria-label="Wizards" className="self-start lg:sticky lg:top-6">
      <ul className="flex flex-col gap-0.5">
        {trees.map((t) => (
          <li key={t.id}>
            <Link
              href={diagnoseHref(t.id)}
              data-tree={t.id}
              aria-current={t.id === selected ? 'page' : undefined}
              className={cx(
                'block rounded-md px-2 py-1.5 text-sm focus-visible:outline-2 focus-visible:outline-sky-600',
                t.id === selected
                  ? 'bg-sky-50 font-medium text-sky-800 dark:bg-sky-950 dark:text-sky-200'
                  : 'text-slate-700 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800',
              )}
            >
              {t.title}
              <span className="block font-mono text-[0.7rem] text-slate-500 dark:text-slate-400">{t.id}</span>
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}

/** No wizard chosen yet: every tree, with what it checks. */
function TreeGrid({ trees }: { trees: DiagnosticTreeDef[] }) {
  return (
    <ul className="grid grid-cols-1 gap-3 xl:grid-cols-2" aria-label="Troubleshooting trees">
      {trees.map((t) => (
        <li key={t.id}>
          <Link
            href={diagnoseHref(t.id)}
            className="block h-full rounded-lg border border-slate-200 bg-white p-4 shadow-sm hover:border-sky-400 focus-visible:outline-2 focus-visible:outline-sky-600 dark:border-slate-700 dark:bg-slate-900 dark:hover:border-sky-600"
          >
            <span className="text-sm font-semibold">{t.title}</span>
            <span className="mt-1 block text-xs text-slate-600 dark:text-slate-300">{t.summary}</span>
            <span className="mt-2 block text-xs text-slate-500 dark:text-slate-400">
              {t.inputs.length === 0
                ? 'No input needed'
                : `Takes ${t.inputs.map((i) => `${INPUT_LABEL[i.name]}${i.required ? '' : ' (optional)'}`).join(', ')}`}
            </span>
          </Link>
        </li>
      ))}
    </ul>
  );
}

function TreeForm({
  tree,
  draft,
  problems,
  running,
  onChange,
  onSubmit,
}: {
  tree: DiagnosticTreeDef;
  draft: InputDraft;
  problems: InputProblems;
  running: boolean;
  onChange: (draft: InputDraft) => void;
  onSubmit: (e: FormEvent) => void;
}) {
  return (
    <form onSubmit={onSubmit} noValidate aria-label={`Run ${tree.title}`} className="flex flex-col gap-3">
      {tree.inputs.length > 0 ? (
        <div className="grid grid-cols-1 gap-3 sm:grid-cols-2">
          {tree.inputs.map((input) => {
            const id = `diag-${input.name}`;
            const error = problems[input.name];
            return (
              <Field
                key={input.name}
                id={id}
                label={`${INPUT_LABEL[input.name]}${input.required ? ' (required)' : ''}`}
                hint={input.help}
                error={error}
              >
                <Input
                  {...fieldAria(id, error, true)}
                  name={input.name}
                  value={draft[input.name]}
                  invalid={!!error}
                  required={input.required}
                  inputMode={input.name === 'uid' || input.name === 'gid' ? 'numeric' : undefined}
                  autoComplete="off"
                  spellCheck={false}
                  onChange={(e) => onChange({ ...draft, [input.name]: e.target.value })}
                />
              </Field>
            );
          })}
        </div>
      ) : (
        <p className="text-sm text-slate-600 dark:text-slate-300">
          This wizard needs no input: it checks the gateway as a whole.
        </p>
      )}
      {problems.form ? (
        <p id="diag-form-error" role="alert" className="text-sm text-red-700 dark:text-red-400">
          {problems.form}
        </p>
      ) : null}
      <div>
        <Button type="submit" variant="primary" disabled={running}>
          {running ? 'Running…' : 'Run'}
        </Button>
      </div>
    </form>
  );
}

/** The plan before a run: every step the tree can visit. */
function TreePlan({ tree }: { tree: DiagnosticTreeDef }) {
  return (
    <ol className="flex flex-col gap-1.5 text-sm" aria-label="Steps">
      {tree.steps.map((s) => (
        <li key={s.id} className="flex gap-2">
          <span className="w-20 shrink-0 text-xs text-slate-500 dark:text-slate-400">
            {KIND_WORD[s.kind]}
          </span>
          <span className="min-w-0">
            <span className="font-medium">{s.title}</span>
            <span className="block text-xs text-slate-600 dark:text-slate-300">{s.description}</span>
          </span>
        </li>
      ))}
    </ol>
  );
}

/** One wizard: its inputs (from the URL first), Run, and the result of the last run. */
function TreePanel({ tree }: { tree: DiagnosticTreeDef }) {
  const trpc = useTRPC();
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const [draft, setDraft] = useState<InputDraft>(() => inputsFromParams(params));
  const [touched, setTouched] = useState(false);
  const [run, setRun] = useState<DiagnosticRun | null>(null);
  const mutation = useMutation(trpc.diagnostics.run.mutationOptions({ onSuccess: setRun }));
  const problems = inputProblems(tree, draft);
  const shown = touched ? problems : {};

  const start = (d: InputDraft) => {
    const href = diagnoseHref(tree.id, d);
    // The address names what ran, so it can be shared; replace() keeps Back on the list.
    if (`${pathname}?${params.toString()}` !== href) router.replace(href, { scroll: false });
    mutation.mutate(runRequest(tree, d));
  };
  const arrived = useRef(false);
  // biome-ignore lint/correctness/useExhaustiveDependencies: only the address the wizard was opened with decides; later changes are its own
  useEffect(() => {
    if (arrived.current) return;
    arrived.current = true;
    if (shouldRunOnArrival(tree, params)) start(inputsFromParams(params));
  }, []);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (Object.keys(problems).length > 0) return;
    start(draft);
  };
  const heading = runbookHeading(tree.runbook.section);

  return (
    <div className="flex min-w-0 flex-col gap-4" data-testid="tree-panel" data-tree={tree.id}>
      <Card title={tree.title}>
        <p className="text-sm text-slate-600 dark:text-slate-300">{tree.summary}</p>
        <p className="mt-1 text-xs text-slate-500 dark:text-slate-400">
          Runbook:{' '}
          <Link href={`/runbook#${slug(heading)}`} className="text-sky-700 hover:underline dark:text-sky-400">
            {tree.runbook.section}
          </Link>
          {' · '}CLI: <code className="font-mono">./cfs diagnose {tree.id}</code>
        </p>
        <div className="mt-4">
          <TreeForm
            tree={tree}
            draft={draft}
            problems={shown}
            running={mutation.isPending}
            onChange={setDraft}
            onSubmit={submit}
          />
        </div>
      </Card>

      {mutation.isPending ? (
        <PanelState state="loading">
          Running the {tree.title.toLowerCase()} checks against the gateway (some sample for a second or two)…
        </PanelState>
      ) : null}
      {mutation.isError ? (
        <Banner tone="critical" role="alert" title="The wizard could not run">
          {messageOf(mutation.error)}
        </Banner>
      ) : null}
      {run ? (
        <RunResult tree={tree} run={run} running={mutation.isPending} onRunAgain={() => start(draft)} />
      ) : mutation.isPending || mutation.isError ? null : (
        <Card title="Steps">
          <TreePlan tree={tree} />
        </Card>
      )}
    </div>
  );
}

export function Diagnostics() {
  const trpc = useTRPC();
  const params = useSearchParams();
  const trees = useQuery({ ...trpc.diagnostics.list.queryOptions(), staleTime: Number.POSITIVE_INFINITY });
  const selectedId = params.get('tree');

  return (
    <QueryPanel
      query={trees}
      isEmpty={(t) => t.length === 0}
      empty="The gateway offers no diagnostic wizard."
    >
      {(list) => {
        const tree = list.find((t) => t.id === selectedId) ?? null;
        return (
          <div className="grid grid-cols-1 gap-6 lg:grid-cols-[12rem_minmax(0,1fr)]">
            <TreeList trees={list} selected={tree?.id ?? null} />
            {tree ? (
              <TreePanel key={tree.id} tree={tree} />
            ) : (
              <div className="flex flex-col gap-3">
                {selectedId ? (
                  <Banner tone="warning" role="alert" title={`No wizard named “${selectedId}”`}>
                    Pick one of the {list.length} below.
                  </Banner>
                ) : null}
                <TreeGrid trees={list} />
              </div>
            )}
          </div>
        );
      }}
    </QueryPanel>
  );
}
