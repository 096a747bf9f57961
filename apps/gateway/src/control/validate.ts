import { invalid } from './errors.ts';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function checkRole(role: string): Role {
  if (!(ROLES as readonly string[]).includes(role)) {
    throw invalid(`role must be one of ${ROLES.join(', ')} (got "${role}")`);
  }
  return role as Role;
}

const NAME = /^[a-z_][a-z0-9_.-]{0,31}$/;

/** User and group names: lowercase, as useradd accepts, so SMB's case-insensitive names stay unambiguous. */
export function checkName(kind: string, name: string): string {
  if (!NAME.test(name)) {
    throw invalid(`${kind} name "${name}" must match ${NAME.source}`);
  }
  return name;
}

/** uid/gid: stored as a 32-bit signed Int (PostgreSQL int4), so at most 2^31-2. */
export function checkId(kind: string, id: number): number {
  if (!Number.isInteger(id) || id < 0 || id > 2 ** 31 - 2) {
    throw invalid(`${kind} must be an integer from 0 to ${2 ** 31 - 2} (got ${id})`);
  }
  return id;
}

/** First id handed out automatically, as useradd's UID_MIN/GID_MIN. */
export const FIRST_AUTO_ID = 1000;

/** Retries `fn` when it loses a unique-id race to another process. */
export async function withIdRetry<T>(
  fn: () => Promise<T>,
  isRace: (err: unknown) => Promise<boolean>,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= 8 || !(await isRace(err))) throw err;
    }
  }
}

/**
 * The shortest password set for an account (console sign-in and SMB's NT hash alike; Samba's
 * default minimum is 7). The console's router checks the same number first
 * (packages/api/src/schemas.ts) to name it inline; this is the check that holds for `./cfs` too.
 * Sign-in takes any length, so an older shorter password still works until changed.
 */
export const MIN_PASSWORD_LENGTH = 8;
