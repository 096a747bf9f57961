export type StatusVariant = 'healthy' | 'degraded' | 'unhealthy' | 'unknown';

const VARIANT_CLASSES: Record<StatusVariant, string> = {
  healthy:
    'bg-emerald-100 text-emerald-800 ring-emerald-600/20 dark:bg-emerald-950 dark:text-emerald-300 dark:ring-emerald-400/30',
  degraded:
    'bg-amber-100 text-amber-800 ring-amber-600/20 dark:bg-amber-950 dark:text-amber-300 dark:ring-amber-400/30',
  unhealthy: 'bg-red-100 text-red-800 ring-red-600/20 dark:bg-red-950 dark:text-red-300 dark:ring-red-400/30',
  unknown:
    'bg-slate-100 text-slate-700 ring-slate-500/20 dark:bg-slate-800 dark:text-slate-300 dark:ring-slate-400/30',
};

const DOT_CLASSES: Record<StatusVariant, string> = {
  healthy: 'bg-emerald-500',
  degraded: 'bg-amber-500',
  unhealthy: 'bg-red-500',
  unknown: 'bg-slate-400',
};

/**
 * Health words map to their colour; circuit states too (closed ok, half-open degraded, open bad),
 * and a diagnostic step's verdict (pass, warn, fail).
 */
export function statusVariant(status: string): StatusVariant {
  switch (status.toLowerCase()) {
    case 'healthy':
    case 'ok':
    case 'up':
    case 'closed':
    case 'serving':
    case 'pass':
    case 'accepting':
      return 'healthy';
    case 'degraded':
    case 'warning':
    case 'half-open':
    case 'draining':
    case 'drained':
    case 'warn':
      return 'degraded';
    case 'unhealthy':
    case 'down':
    case 'error':
    case 'open':
    case 'fail':
      return 'unhealthy';
    default:
      return 'unknown';
  }
}

export interface StatusBadgeProps {
  status: string;
  /** Overrides the colour the word would get by itself (`over hard` → unhealthy). */
  variant?: StatusVariant;
  className?: string;
}

/** The status word in a pill coloured by its meaning. */
export function StatusBadge({ status, variant: given, className }: StatusBadgeProps) {
  const variant = given ?? statusVariant(status);
  return (
    <span
      data-status={variant}
      className={`inline-flex items-center gap-1.5 rounded-full px-2.5 py-0.5 text-xs font-medium ring-1 ring-inset ${VARIANT_CLASSES[variant]}${className ? ` ${className}` : ''}`}
    >
      <span aria-hidden="true" className={`h-1.5 w-1.5 rounded-full ${DOT_CLASSES[variant]}`} />
      {status}
    </span>
  );
}
