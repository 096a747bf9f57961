export interface HttpResult {
  status: number;
  headers: Headers;
  body: string;
}

/** fetch() that reads the whole body as text; rejects only on network errors or timeout. */
export async function fetchText(
  url: string | URL,
  init: RequestInit & { timeoutMs?: number } = {},
): Promise<HttpResult> {
  const { timeoutMs = 10_000, ...rest } = init;
  const response = await fetch(url, { ...rest, signal: rest.signal ?? AbortSignal.timeout(timeoutMs) });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/** GET a JSON document; rejects when the status is not 2xx or the body is not JSON. */
export async function getJson<T = unknown>(
  url: string | URL,
  init: RequestInit & { timeoutMs?: number } = {},
): Promise<T> {
  const result = await fetchText(url, init);
  if (result.status < 200 || result.status > 299) {
    throw new Error(`GET ${url}: HTTP ${result.status}: ${result.body.slice(0, 500)}`);
  }
  return JSON.parse(result.body) as T;
}

/**
 * Polls `url` until it answers with a status accepted by `ok` (default: any response at all,
 * i.e. the listener is up). Rejects with the last error after `timeoutMs`.
 */
export async function waitForHttp(
  url: string | URL,
  timeoutMs = 15_000,
  ok: (status: number) => boolean = () => true,
): Promise<HttpResult> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no attempt';
  for (;;) {
    try {
      const result = await fetchText(url, {
        timeoutMs: Math.max(500, Math.min(5000, deadline - Date.now())),
      });
      if (ok(result.status)) return result;
      last = `HTTP ${result.status}`;
    } catch (error) {
      last =
        error instanceof Error
          ? `${error.message}${error.cause ? ` (${String(error.cause)})` : ''}`
          : String(error);
    }
    if (Date.now() >= deadline) throw new Error(`${url} not ready after ${timeoutMs} ms: ${last}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
