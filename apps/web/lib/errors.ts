import { TRPCClientError } from '@trpc/client';

/** The HTTP status behind a failed query or mutation; 0 when the request never got an answer. */
export function httpStatusOf(error: unknown): number {
  if (error instanceof TRPCClientError) {
    const data = error.data as { httpStatus?: number } | undefined;
    if (typeof data?.httpStatus === 'number') return data.httpStatus;
    const meta = error.meta as { response?: { status?: number } } | undefined;
    if (typeof meta?.response?.status === 'number') return meta.response.status;
    return 0;
  }
  return 0;
}

/** The console cannot reach the gateway: the proxy answered 502/503/504, or nothing answered. */
export function isGatewayDown(error: unknown): boolean {
  const s = httpStatusOf(error);
  return s === 0 || s === 502 || s === 503 || s === 504;
}

/** The gateway took the connection and did not answer in time (the proxy's 504): stuck, not gone. */
export function isGatewayStuck(error: unknown): boolean {
  return httpStatusOf(error) === 504;
}

export function isUnauthorized(error: unknown): boolean {
  return httpStatusOf(error) === 401;
}

export function messageOf(error: unknown): string {
  if (isGatewayStuck(error)) return 'The gateway does not answer.';
  if (isGatewayDown(error)) return 'The gateway cannot be reached.';
  if (error instanceof Error) return error.message;
  return String(error);
}
