/**
 * A start refused for a reason the operator fixes (another gateway on the state folder): logged
 * as its message, without a stack trace, which would only bury the reason.
 */
export class StartError extends Error {}

/** Listen errors the operator fixes in the configuration or on the host. */
const OPERATOR_CODES: ReadonlySet<string> = new Set(['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL', 'ENOTFOUND']);

/** Whether a start failure is the operator's to fix (its message says all), not a defect. */
export function isOperatorStartError(e: unknown): boolean {
  return e instanceof StartError || OPERATOR_CODES.has((e as NodeJS.ErrnoException | undefined)?.code ?? '');
}
