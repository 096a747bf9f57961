'use client';
import type { DiagnosticRun, DiagnosticTreeDef } from '@claudefs/api';
import { Banner, type BannerTone, Button } from '@claudefs/ui';
import { useState } from 'react';
import { bundleFileName } from '../../lib/diagnostics.ts';
import { messageOf } from '../../lib/errors.ts';
import { dateTime } from '../../lib/format.ts';
import { useTRPCClient } from '../../lib/trpc.ts';
import { useToast } from '../providers.tsx';
import { StepCard } from './step.tsx';

const TONE: Record<DiagnosticRun['conclusion']['verdict'], BannerTone> = {
  pass: 'success',
  warn: 'warning',
  fail: 'critical',
};
const VERDICT_WORD: Record<DiagnosticRun['conclusion']['verdict'], string> = {
  pass: 'No problem found',
  warn: 'Warning',
  fail: 'Problem found',
};

/** Saves a JSON document as a file, the way a link with `download` does. */
function saveJson(name: string, value: unknown): void {
  const url = URL.createObjectURL(new Blob([JSON.stringify(value, null, 2)], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function BundleButton({ run }: { run: DiagnosticRun }) {
  const client = useTRPCClient();
  const toast = useToast();
  const [busy, setBusy] = useState(false);
  const download = async () => {
    setBusy(true);
    try {
      const bundle = await client.diagnostics.bundle.query({ runId: run.id });
      saveJson(bundleFileName(run.tree, run.id), bundle);
      toast(
        'success',
        `Support bundle saved: the transcript, health, metrics, redacted config and ${bundle.logs.length} log lines.`,
      );
    } catch (e) {
      toast('error', `Support bundle not saved: ${messageOf(e)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Button size="sm" onClick={download} disabled={busy}>
      {busy ? 'Preparing…' : 'Download support bundle'}
    </Button>
  );
}

/** A finished run: the conclusion first, then every step of the path taken, in order. */
export function RunResult({
  tree,
  run,
  onRunAgain,
  running,
}: {
  tree: DiagnosticTreeDef;
  run: DiagnosticRun;
  onRunAgain: () => void;
  running: boolean;
}) {
  const titles = new Map(tree.steps.map((s) => [s.id, s.title]));
  const visited = new Set(run.steps.map((s) => s.id));
  const notVisited = tree.steps.filter((s) => !visited.has(s.id));
  const { conclusion } = run;
  return (
    <section
      aria-label="Result"
      className="flex flex-col gap-4"
      data-testid="diagnostic-result"
      data-run={run.id}
    >
      <Banner
        tone={TONE[conclusion.verdict]}
        role="status"
        title={`${VERDICT_WORD[conclusion.verdict]} (${conclusion.verdict})`}
        action={
          <div className="flex shrink-0 flex-col items-end gap-1.5">
            <Button size="sm" onClick={onRunAgain} disabled={running}>
              {running ? 'Running…' : 'Run again'}
            </Button>
            <BundleButton run={run} />
          </div>
        }
      >
        <p data-testid="diagnostic-conclusion" data-verdict={conclusion.verdict}>
          {conclusion.summary}
        </p>
        {conclusion.findings.length > 1 ? (
          <ul className="mt-1 list-disc pl-5">
            {conclusion.findings.map((f) => (
              <li key={f}>{f}</li>
            ))}
          </ul>
        ) : null}
        <p className="mt-1 text-xs opacity-80">
          Run {run.id}
          {run.ranBy ? ` by ${run.ranBy}` : ''} at {dateTime(run.startedAt)}, {run.durationMs} ms,{' '}
          {run.steps.length} of {tree.steps.length} steps.
        </p>
      </Banner>

      <div>
        <h2 className="mb-2 text-sm font-semibold">Path taken</h2>
        <ol className="flex flex-col gap-3" aria-label="Path taken">
          {run.steps.map((s, i) => (
            <StepCard
              key={s.id}
              step={s}
              index={i}
              nextTitle={s.next ? (titles.get(s.next) ?? null) : null}
              tree={run.tree}
              runId={run.id}
            />
          ))}
        </ol>
      </div>

      {notVisited.length > 0 ? (
        <p className="text-xs text-slate-500 dark:text-slate-400">
          Not visited (their branch was not taken): {notVisited.map((s) => s.title).join(' · ')}
        </p>
      ) : null}
    </section>
  );
}
