import type { StatementName } from './statements.ts';

/**
 * The metadata logic is written once, as generator functions ("programs") that yield the
 * statements they need and receive their results. A driver runs a program inside one
 * transaction: synchronously on SQLite (better-sqlite3), asynchronously on PostgreSQL (pg).
 * A program has no effect outside the database but its return value, so a driver may run it
 * again from the start when the database asks for a retry (a serialization failure).
 */
export interface Op {
  stmt: StatementName;
  /** get: first row or undefined; all: every row; run: no rows. */
  mode: 'get' | 'all' | 'run';
  args: readonly unknown[];
}

export type Program<T> = Generator<Op, T, unknown>;

export function* get<R>(stmt: StatementName, ...args: unknown[]): Program<R | undefined> {
  return (yield { stmt, mode: 'get', args }) as R | undefined;
}

export function* all<R>(stmt: StatementName, ...args: unknown[]): Program<R[]> {
  return (yield { stmt, mode: 'all', args }) as R[];
}

export function* run(stmt: StatementName, ...args: unknown[]): Program<void> {
  yield { stmt, mode: 'run', args };
}

/** Runs a program whose statements answer synchronously. */
export function driveSync<T>(program: Program<T>, exec: (op: Op) => unknown): T {
  let step = program.next();
  while (!step.done) step = program.next(exec(step.value));
  return step.value;
}

/** Runs a program whose statements answer asynchronously. */
export async function driveAsync<T>(program: Program<T>, exec: (op: Op) => Promise<unknown>): Promise<T> {
  let step = program.next();
  while (!step.done) step = program.next(await exec(step.value));
  return step.value;
}
