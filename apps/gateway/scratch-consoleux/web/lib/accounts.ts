/**
 * What the Users page's forms accept, checked before anything is sent. The rules are the
 * gateway's own (packages/api/src/schemas.ts: useradd-style names, ids that fit the control
 * plane's signed 32-bit columns); the gateway checks again and stays authoritative.
 */
export const ACCOUNT_NAME = /^[a-z_][a-z0-9_.-]{0,31}$/;
export const MAX_ID = 2 ** 31 - 2;
/**
 * The gateway's shortest password (apps/gateway/src/control/validate.ts; the router's
 * newPassword too). Repeated, not imported: the console's client code takes only types from
 * @claudefs/api, whose runtime is the tRPC server.
 */
export const MIN_PASSWORD_LENGTH = 8;

/** A message when `text` is not a user or group name. */
export function nameProblem(what: 'user' | 'group', text: string): string | undefined {
  if (text === '') return `${what} name: required`;
  return ACCOUNT_NAME.test(text)
    ? undefined
    : `${what} name: lowercase letters, digits, _ . - (at most 32), starting with a letter or _`;
}

/** An optional uid or gid: empty means "the next free one". */
export function parseId(what: 'uid' | 'gid', text: string): { value?: number; problem?: string } {
  const t = text.trim();
  if (t === '') return {};
  if (!/^\d+$/.test(t)) return { problem: `${what}: a whole number from 0 to ${MAX_ID}` };
  const value = Number(t);
  return value > MAX_ID ? { problem: `${what}: at most ${MAX_ID}` } : { value };
}

/** Supplementary groups typed as `eng, ops`: names, no duplicates, at most 64. */
export function parseGroups(text: string): { groups: string[]; problem?: string } {
  const groups = [
    ...new Set(
      text
        .split(/[\s,]+/)
        .map((g) => g.trim())
        .filter(Boolean),
    ),
  ];
  const bad = groups.find((g) => !ACCOUNT_NAME.test(g));
  if (bad !== undefined) return { groups, problem: `'${bad}' is not a group name (lowercase, e.g. eng)` };
  if (groups.length > 64) return { groups, problem: 'at most 64 groups' };
  return { groups };
}

/** A password being set: long enough (the gateway's rule), or why not; empty is the caller's call. */
export function passwordProblem(text: string): string | undefined {
  return text !== '' && text.length < MIN_PASSWORD_LENGTH
    ? `at least ${MIN_PASSWORD_LENGTH} characters (this one has ${text.length})`
    : undefined;
}
