'use client';
import type { DiagnosticStepResult, DiagnosticTreeId, ManualCommands, StepKind } from '@claudefs/api';
import { CommandLine, cx, StatusBadge } from '@claudefs/ui';
import Link from 'next/link';
import { runbookHeading } from '../../lib/diagnostics.ts';
import { ms } from '../../lib/format.ts';
import { slug } from '../../lib/slug.ts';
import { useToast } from '../providers.tsx';
import { MeasuredView } from './measured.tsx';
import { Remediation } from './remediation.tsx';

const KIND_LABEL: Record<StepKind, string> = {
  check: 'automatic check',
  manual: 'manual step',
  action: 'remediation',
};

/** The verdict as the card's left rail (the dark variant too, or the card's dark border wins). */
const RAIL: Record<DiagnosticStepResult['verdict'], string> = {
  pass: 'border-l-emerald-500 dark:border-l-emerald-500',
  warn: 'border-l-amber-500 dark:border-l-amber-500',
  fail: 'border-l-red-500 dark:border-l-red-500',
  info: 'border-l-sky-500 dark:border-l-sky-500',
  skipped: 'border-l-slate-300 dark:border-l-slate-600',
};

function Commands({ commands }: { commands: ManualCommands }) {
  const toast = useToast();
  const copied = (ok: boolean) =>
    toast(ok ? 'info' : 'error', ok ? 'Copied to the clipboard.' : 'Could not copy.');
  const group = (title: string, lines: string[]) =>
    lines.length === 0 ? null : (
      <div className="flex flex-col gap-1">
        <p className="text-xs font-medium text-slate-600 dark:text-slate-300">{title}</p>
        {lines.map((c) => (
          <CommandLine key={c} command={c} onCopied={copied} />
        ))}
      </div>
    );
  return (
    <div className="flex flex-col gap-2" data-testid="step-commands">
      {group('As the runbook writes it', commands.runbook)}
      {group('On this gateway', commands.product)}
      {commands.note ? <p className="text-xs text-slate-500 dark:text-slate-400">{commands.note}</p> : null}
    </div>
  );
}

/**
 * One step as it ran: what it found, the branch it took and why, what it measured, the probe
 * output, the runbook's commands and the remediations it offers.
 */
export function StepCard({
  step,
  index,
  nextTitle,
  tree,
  runId,
}: {
  step: DiagnosticStepResult;
  index: number;
  nextTitle: string | null;
  tree: DiagnosticTreeId;
  runId: string;
}) {
  const heading = runbookHeading(step.runbook.section);
  return (
    <li
      data-step={step.id}
      data-outcome={step.outcome}
      data-verdict={step.verdict}
      className={cx(
        'rounded-lg border border-l-4 border-slate-200 bg-white p-4 shadow-sm dark:border-slate-700 dark:bg-slate-900',
        RAIL[step.verdict],
      )}
    >
      <header className="flex flex-wrap items-start justify-between gap-2">
        <div className="min-w-0">
          <h3 className="text-sm font-semibold">
            <span className="mr-1.5 text-slate-400 tabular-nums">{index + 1}.</span>
            {step.title}
          </h3>
          <p className="text-xs text-slate-500 dark:text-slate-400">
            {KIND_LABEL[step.kind]} · {ms(step.durationMs)}
          </p>
        </div>
        <StatusBadge status={step.verdict} />
      </header>

      <p className="mt-2 text-sm" data-testid="step-summary">
        {step.summary}
      </p>
      <p className="mt-1 text-sm text-slate-600 dark:text-slate-300" data-testid="step-branch">
        Took the branch <span className="font-medium">“{step.outcome}”</span> because {step.because}.{' '}
        {step.next === null ? 'The walk ends here.' : `Next: ${nextTitle ?? step.next}`}
      </p>

      {Object.keys(step.measured).length > 0 ? (
        <details open className="mt-3 rounded-md bg-slate-50 p-2 dark:bg-slate-800/60">
          <summary className="cursor-pointer text-xs font-medium text-slate-600 dark:text-slate-300">
            Measured
          </summary>
          <div className="mt-2">
            <MeasuredView measured={step.measured} />
          </div>
        </details>
      ) : null}

      {step.evidence.length > 0 ? (
        <div className="mt-3">
          <p className="text-xs font-medium text-slate-600 dark:text-slate-300">Probe output</p>
          <pre className="mt-1 overflow-x-auto rounded-md bg-slate-100 p-2 font-mono text-xs leading-relaxed break-words whitespace-pre-wrap text-slate-800 dark:bg-slate-800 dark:text-slate-200">
            {step.evidence.join('\n')}
          </pre>
        </div>
      ) : null}

      {step.commands && step.commands.runbook.length + step.commands.product.length > 0 ? (
        <div className="mt-3">
          <Commands commands={step.commands} />
        </div>
      ) : null}

      {step.actions.length > 0 ? (
        <div className="mt-3 flex flex-wrap gap-x-4 gap-y-2" data-testid="step-actions">
          {step.actions.map((a) => (
            <Remediation key={JSON.stringify(a.request)} action={a} tree={tree} runId={runId} />
          ))}
        </div>
      ) : null}

      <footer className="mt-3 border-t border-slate-100 pt-2 text-xs text-slate-500 dark:border-slate-800 dark:text-slate-400">
        Runbook:{' '}
        <Link href={`/runbook#${slug(heading)}`} className="text-sky-700 hover:underline dark:text-sky-400">
          {step.runbook.section}
        </Link>
        {step.runbook.quote ? <q className="ml-1 italic">{step.runbook.quote}</q> : null}
      </footer>
    </li>
  );
}
