/** UNAVAILABLE: the control plane's database cannot be reached (PostgreSQL down or unreachable). */
export type ControlErrorCode = 'NOT_FOUND' | 'EXISTS' | 'INVALID' | 'MIGRATION' | 'UNAVAILABLE';

/** The one error type repositories throw for conditions an operator can fix; `code` is stable for the CLI. */
export class ControlError extends Error {
  override readonly name = 'ControlError';
  constructor(
    readonly code: ControlErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Prisma's unique-constraint violation (P2002), from any driver adapter. */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'P2002';
}

export function notFound(what: string): ControlError {
  return new ControlError('NOT_FOUND', `${what} not found`);
}

export function invalid(message: string): ControlError {
  return new ControlError('INVALID', message);
}

/**
 * What a database error says, on one line: Prisma's messages start with the call and the
 * source lines around it, and end with the driver's code and message (`SQLITE_FULL: database
 * or disk is full`).
 */
export function databaseCause(err: Error): string {
  const m = /Code: `([^`]+)`\. Message: `([^`]+)`/.exec(err.message);
  if (m) return `${m[1]}: ${m[2]}`;
  return err.message.trim().split('\n').at(-1)?.trim() || err.name;
}
