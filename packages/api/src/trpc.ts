import { initTRPC, TRPCError } from '@trpc/server';
import { ZodError, z } from 'zod';
import type { Context } from './control.ts';
import type { AuditOutcome } from './types/audit.ts';
import type { Role, Session } from './types/auth.ts';

/** A procedure's raw input as the audit helpers see it: possibly malformed, never trusted. */
export type RawInput = Readonly<Record<string, unknown>>;

/** How a mutation appears in the audit log. */
export interface AuditMeta {
  /**
   * Stable action name, shared with the admin API and the CLI where they do the same thing; a
   * function when the input decides which (user.disable / user.enable).
   */
  action: string | ((input: RawInput) => string);
  /** What it acts on: `user:alice`, `uid=1000`, `circuit:metadata`. */
  target?: (input: RawInput) => string;
  /** What to record of the input; default the whole input. Must leave secrets out. */
  detail?: (input: RawInput) => unknown;
  /** What to record of a done mutation's result besides (what it changed); secrets left out. */
  result?: (output: unknown) => unknown;
  /** Who is asking when there is no session yet (sign-in): default `anonymous`. */
  actor?: (input: RawInput) => string;
}

export interface ProcedureMeta {
  audit?: AuditMeta;
}

const t = initTRPC
  .context<Context>()
  .meta<ProcedureMeta>()
  // No stack traces in error replies: the console shows messages, operators read the log.
  .create({ isDev: false });

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

const ROLE_RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** True when `role` grants at least what `minimum` grants. */
export function roleAtLeast(role: Role, minimum: Role): boolean {
  return ROLE_RANK[role] >= ROLE_RANK[minimum];
}

/** The name audit entries carry: `console:alice`, `token:ci`. */
export function actorOf(session: Session): string {
  return `${session.via ?? 'console'}:${session.user}`;
}

/** A string field of a raw input, or '' (audit targets must never throw on bad input). */
export function field(input: RawInput, name: string): string {
  const v = input[name];
  return typeof v === 'string' || typeof v === 'number' ? String(v) : '';
}

function outcomeOf(error: TRPCError): AuditOutcome {
  return error.code === 'UNAUTHORIZED' || error.code === 'FORBIDDEN' ? 'denied' : 'error';
}

/** zod's own account of bad input, readable (`✖ Invalid input … → at soft`), as BAD_REQUEST. */
function readable(error: TRPCError): TRPCError {
  if (error.code !== 'BAD_REQUEST' || !(error.cause instanceof ZodError)) return error;
  return new TRPCError({ code: 'BAD_REQUEST', message: z.prettifyError(error.cause), cause: error.cause });
}

/** The mutation's input as sent; undefined when its body was not JSON at all. */
async function rawInput(getRawInput: () => Promise<unknown>): Promise<RawInput | undefined> {
  try {
    const v = await getRawInput();
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as RawInput) : {};
  } catch {
    return undefined;
  }
}

/**
 * What the audit entry says of a failure. A body that is not JSON fails in the parser, whose
 * message quotes the bytes around the fault — a password or a key sent unquoted by a script:
 * the entry (which viewers read) says only that the body was malformed.
 */
function failureDetail(error: TRPCError, bodyRead: boolean): string {
  return error.code === 'PARSE_ERROR' || !bodyRead ? 'malformed JSON body' : error.message;
}

type Access = 'public' | Role;

/**
 * The one gate every procedure passes, in this order:
 * 1. a procedure that needs a role and has no session → UNAUTHORIZED;
 * 2. a mutation over HTTP without `x-cfs-csrf: 1` → FORBIDDEN (see Transport.csrfHeader);
 * 3. a session whose role is below the procedure's → FORBIDDEN.
 * Every mutation — refused here, failed, or done — is then recorded through
 * `control.recordAudit` with its outcome (except a rate limit's TOO_MANY_REQUESTS). Bad input becomes BAD_REQUEST with zod's message.
 */
function gate(access: Access) {
  return t.middleware(async ({ ctx, type, path, meta, getRawInput, next }) => {
    const parsed = type === 'mutation' ? await rawInput(getRawInput) : {};
    const input = parsed ?? {};
    const audit = async (outcome: AuditOutcome, extra?: Record<string, unknown>) => {
      if (type !== 'mutation') return;
      const m = meta?.audit;
      const asked = m?.detail ? m.detail(input) : Object.keys(input).length > 0 ? input : undefined;
      const detail =
        extra === undefined
          ? asked
          : { ...(typeof asked === 'object' && asked !== null ? asked : {}), ...extra };
      try {
        await ctx.control.recordAudit({
          // An unreadable body names no one: its actor is anonymous, not `console:` with no name.
          actor: ctx.session
            ? actorOf(ctx.session)
            : ((parsed !== undefined ? m?.actor?.(input) : undefined) ?? 'anonymous'),
          action: typeof m?.action === 'function' ? m.action(input) : (m?.action ?? path),
          target: m?.target?.(input) ?? '',
          outcome,
          detail,
          remoteAddress: ctx.transport?.remoteAddress ?? null,
          authenticated: ctx.session !== null,
        });
      } catch {
        // recordAudit does not reject by contract; an implementation that does must not turn a
        // done change into a reported failure.
      }
    };
    const refuse = async (code: 'UNAUTHORIZED' | 'FORBIDDEN', message: string): Promise<never> => {
      await audit('denied', { refused: message });
      throw new TRPCError({ code, message });
    };

    if (access !== 'public' && ctx.session === null) {
      await refuse('UNAUTHORIZED', ctx.transport?.authProblem ?? 'sign in first');
    }
    if (type === 'mutation' && ctx.transport && !ctx.transport.csrfHeader) {
      await refuse(
        'FORBIDDEN',
        'a change needs the request header x-cfs-csrf: 1 (cross-site requests cannot send it)',
      );
    }
    if (access !== 'public' && ctx.session && !roleAtLeast(ctx.session.role, access)) {
      await refuse('FORBIDDEN', `needs the ${access} role (you have ${ctx.session.role})`);
    }

    const result = await next();
    if (!result.ok) {
      const error = readable(result.error);
      // A rate limit's refusals are not recorded one by one: a flood of them would fill the
      // audit log. The limit logs when it starts refusing (console sign-in: SignInThrottle).
      if (error.code !== 'TOO_MANY_REQUESTS')
        await audit(outcomeOf(error), { error: failureDetail(error, parsed !== undefined) });
      throw error;
    }
    const done = meta?.audit?.result?.(result.data);
    await audit('ok', done === undefined ? undefined : { result: done });
    return result;
  });
}

/** Needs no session (health, sign-in); mutations still need the CSRF header and are audited. */
export const publicProcedure = t.procedure.use(gate('public'));

/** Needs a session with at least `minimum` role (UNAUTHORIZED / FORBIDDEN). */
export function roleProcedure(minimum: Role) {
  return t.procedure.use(gate(minimum));
}

export const viewerProcedure = roleProcedure('viewer');
export const operatorProcedure = roleProcedure('operator');
export const adminProcedure = roleProcedure('admin');
