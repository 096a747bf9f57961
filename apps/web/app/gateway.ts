/** Where the gateway's HTTP listener (health, metrics, admin, tRPC) is; read per request. */
export function gatewayUrl(): string {
  return (process.env.CFS_GATEWAY_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
}

/** The gateway's overall health word, or 'unknown' when it cannot be reached in time. */
export async function gatewayStatus(timeoutMs = 1500): Promise<string> {
  try {
    const response = await fetch(`${gatewayUrl()}/health`, {
      cache: 'no-store',
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body: unknown = await response.json();
    if (typeof body === 'object' && body !== null) {
      const { overall, status } = body as { overall?: unknown; status?: unknown };
      if (typeof overall === 'string') return overall;
      if (typeof status === 'string') return status;
    }
    return response.ok ? 'healthy' : 'unhealthy';
  } catch {
    return 'unknown';
  }
}
