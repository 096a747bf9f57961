export type StatusVariant = 'healthy' | 'degraded' | 'unhealthy' | 'unknown';

const VARIANT_CLASSES: Record<StatusVariant, string> = {
  healthy: 'bg-emerald-100 text-emerald-800 ring-emerald-600/20',
  degraded: 'bg-amber-100 text-amber-800 ring-amber-600/20',
  unhealthy: 'bg-red-100 text-red-800 ring-red-600/20',
  unknown: 'bg-slate-100 text-slate-700 ring-slate-500/20',
};

const DOT_CLASSES: Record<StatusVariant, string> = {
  healthy: 'bg-emerald-500',
  degraded: 'bg-amber-500',
  unhealthy: 'bg-red-500',
  unknown: 'bg-slate-400',
};

/** Health words map to their colour; circuit states too (closed ok, half-open degraded, open bad). */
export function statusVariant(status: string): StatusVariant {
  switch (status.toLowerCase()) {
    case 'healthy':
    case 'ok':
    case 'up':
    case 'closed':
      return 'healthy';
    case 'degraded':
    case 'warning':
    case 'half-open':
    case 'draining':
      return 'degraded';
    case 'unhealthy':
    case 'down':
    case 'error':
    case 'open':
      return 'unhealthy';
    default:
      return 'unknown';
  }
}

export interface StatusBadgeProps {
  status: string;
  className?: string;
}

/** The status word in a pill coloured by its meaning. */
export function StatusBadge({ status, className }: StatusBadgeProps) {
  const variant = statusVariant(status);
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
