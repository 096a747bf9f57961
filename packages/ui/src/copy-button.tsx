'use client';
import { useEffect, useState } from 'react';
import { cx } from './cx.ts';

/**
 * The Clipboard API exists only in secure contexts (https, localhost); a console reached over
 * plain http on another host falls back to a selected textarea and the legacy copy command.
 */
async function copyText(text: string): Promise<boolean> {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // Permission refused: try the fallback.
    }
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.append(area);
  area.select();
  try {
    return document.execCommand('copy');
  } finally {
    area.remove();
  }
}

export interface CopyButtonProps {
  text: string;
  /** What is copied, for assistive technology: `Copy command`. */
  label?: string;
  onCopied?: (ok: boolean) => void;
  /** `onDark`: drawn on a dark code block. */
  tone?: 'plain' | 'onDark';
}

/** Copies `text` and says so for two seconds. */
export function CopyButton({ text, label = 'Copy', onCopied, tone = 'plain' }: CopyButtonProps) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const t = setTimeout(() => setState('idle'), 2000);
    return () => clearTimeout(t);
  }, [state]);
  return (
    <button
      type="button"
      aria-label={label}
      className={cx(
        'shrink-0 rounded px-2 py-1 text-xs font-medium focus-visible:outline-2 focus-visible:outline-offset-1 focus-visible:outline-sky-500',
        tone === 'onDark'
          ? 'text-slate-300 hover:bg-slate-700 hover:text-white'
          : 'text-sky-700 hover:bg-slate-100 dark:text-sky-400 dark:hover:bg-slate-800',
      )}
      onClick={async () => {
        const ok = await copyText(text);
        setState(ok ? 'copied' : 'failed');
        onCopied?.(ok);
      }}
    >
      <span aria-live="polite">
        {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed' : 'Copy'}
      </span>
    </button>
  );
}

export interface CommandLineProps {
  command: string;
  onCopied?: (ok: boolean) => void;
}

/** One shell command in a code line, with its copy button. */
export function CommandLine({ command, onCopied }: CommandLineProps) {
  return (
    <div className="flex items-start gap-2 rounded-md bg-slate-900 py-1 pr-1 pl-3 text-slate-100 dark:bg-black/40">
      <code className="min-w-0 flex-1 py-1 font-mono text-xs leading-relaxed break-all whitespace-pre-wrap">
        {command}
      </code>
      <CopyButton
        text={command}
        tone="onDark"
        label={`Copy ${command.length > 60 ? `${command.slice(0, 57)}…` : command}`}
        {...(onCopied ? { onCopied } : {})}
      />
    </div>
  );
}
