import { cx } from './cx.ts';

export interface ToastItem {
  id: number;
  tone: 'success' | 'error' | 'info';
  message: string;
}

export interface ToastStackProps {
  toasts: ToastItem[];
  onDismiss: (id: number) => void;
}

const TONE: Record<ToastItem['tone'], string> = {
  success: 'border-emerald-500',
  error: 'border-red-500',
  info: 'border-sky-500',
};

/** Mutation outcomes, bottom right, announced politely (errors assertively). */
export function ToastStack({ toasts, onDismiss }: ToastStackProps) {
  return (
    <div className="pointer-events-none fixed right-4 bottom-4 z-50 flex w-96 max-w-[calc(100vw-2rem)] flex-col gap-2">
      {toasts.map((t) => (
        <div
          key={t.id}
          role={t.tone === 'error' ? 'alert' : 'status'}
          data-toast={t.tone}
          className={cx(
            'pointer-events-auto flex items-start justify-between gap-3 rounded-md border-l-4 bg-white px-3 py-2 text-sm text-slate-900 shadow-lg ring-1 ring-slate-200 dark:bg-slate-800 dark:text-slate-100 dark:ring-slate-700',
            TONE[t.tone],
          )}
        >
          <span className="min-w-0 break-words">{t.message}</span>
          <button
            type="button"
            aria-label="Dismiss"
            onClick={() => onDismiss(t.id)}
            className="rounded px-1 text-slate-500 hover:text-slate-900 focus-visible:outline-2 focus-visible:outline-sky-600 dark:hover:text-white"
          >
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
