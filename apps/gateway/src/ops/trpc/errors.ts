import type { GatewayControl } from '@claudefs/api';
import { TRPCError } from '@trpc/server';
import { ControlError } from '../../control/index.ts';
import { isFsError } from '../../storage/errors.ts';
import { UnitError } from '../../util/units.ts';
import type { AdminResult } from '../admin/routes.ts';

/** How the admin API's HTTP statuses read as tRPC codes. */
const STATUS_CODES: Record<number, TRPCError['code']> = {
  400: 'BAD_REQUEST',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'PRECONDITION_FAILED',
  413: 'PAYLOAD_TOO_LARGE',
};

/** An admin endpoint's body, or its refusal (`{error}` with a 4xx/5xx status) as a TRPCError. */
export function unwrap<T>(result: AdminResult): T {
  const status = result.status ?? 200;
  if (status < 400) return result.body as T;
  const error = (result.body as { error?: unknown } | undefined)?.error;
  throw new TRPCError({
    code: STATUS_CODES[status] ?? 'INTERNAL_SERVER_ERROR',
    message: typeof error === 'string' ? error : `failed with HTTP status ${status}`,
  });
}

const CONTROL_CODES: Record<ControlError['code'], TRPCError['code']> = {
  NOT_FOUND: 'NOT_FOUND',
  EXISTS: 'CONFLICT',
  INVALID: 'BAD_REQUEST',
  MIGRATION: 'INTERNAL_SERVER_ERROR',
  UNAVAILABLE: 'SERVICE_UNAVAILABLE',
};

/**
 * The gateway's own error vocabulary in tRPC's: a control-plane refusal keeps its message with
 * the matching code, a unit the operator mistyped is BAD_REQUEST, a missing path NOT_FOUND;
 * anything else stays an internal error.
 */
export function asTrpcError(e: unknown): unknown {
  if (e instanceof TRPCError) return e;
  if (e instanceof ControlError)
    return new TRPCError({ code: CONTROL_CODES[e.code], message: e.message, cause: e });
  if (e instanceof UnitError) return new TRPCError({ code: 'BAD_REQUEST', message: e.message, cause: e });
  if (isFsError(e, 'ENOENT')) return new TRPCError({ code: 'NOT_FOUND', message: e.message, cause: e });
  return e;
}

/** `control` with every method's rejection translated by asTrpcError, once for all. */
export function translatingErrors(control: GatewayControl): GatewayControl {
  const wrapped = {} as Record<string, unknown>;
  for (const [name, fn] of Object.entries(control) as Array<
    [string, (...a: unknown[]) => Promise<unknown>]
  >) {
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (e) {
        throw asTrpcError(e);
      }
    };
  }
  return wrapped as unknown as GatewayControl;
}
