'use client';
import type { DiagnosticStepResult, DiagnosticTreeId, ManualCommands, StepKind } from '@claudefs/api';
import { CommandLine, MeasuredDetails, StatusBadge, WizardStep } from '@claudefs/ui';
import Link from 'next/link';
import { runbookHeading } from '../../lib/diagnostics.ts';
import { ms } from '../../lib/format.ts';
import { slug } from '../../lib/slug.ts';
import { useToast } from '../providers.tsx';
import { Remediation } from './remediation.tsx';

const KIND_LABEL: Record<StepKind, string> = {
  check: 'automatic check',
  manual: 'manual step',
  action: 'remediation',
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
    <WizardStep
      index={index}
      title={step.title}
      meta={`${KIND_LABEL[step.kind]} · ${ms(step.durationMs)}`}
      verdict={step.verdict}
      badge={<StatusBadge status={step.verdict} />}
      data={{ step: step.id, outcome: step.outcome, verdict: step.verdict }}
      footer={
        <>
          Runbook:{' '}
          <Link href={`/runbook#${slug(heading)}`} className="text-sky-700 hover:underline dark:text-sky-400">
            {step.runbook.section}
          </Link>
          {step.runbook.quote ? <q className="ml-1 italic">{step.runbook.quote}</q> : null}
        </>
      }
    >
      <p className="mt-2 text-sm" data-testid="step-summary">
        {step.summary}
      </p>
      <p className="mt-1 text-sm text-slate-600 dark:text-slate-300" data-testid="step-branch">
        {/* A manual step's "done" means nothing was done: the step is the operator's. */}
        {step.outcome !== 'done' ? (
          <>
            Took the branch <span className="font-medium">“{step.outcome}”</span> because {step.because}.{' '}
          </>
        ) : step.kind === 'action' ? (
          'Nothing is changed until you choose below. '
        ) : (
          'Yours to do: the gateway cannot do it on its own. '
        )}
        {step.next === null ? 'The walk ends here.' : `Next: ${nextTitle ?? step.next}`}
      </p>

      <MeasuredDetails measured={step.measured} />

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
    </WizardStep>
  );
}
