import { gatewayUrl } from '../../../gateway.ts';

// Proxies /api/trpc/* to the gateway's /trpc/* at request time: the gateway address comes from
// CFS_GATEWAY_URL when the server runs, not when it was built (rewrites() would freeze it).
export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

const PREFIX = '/api/trpc';

/** Per-hop headers (RFC 9110 §7.6.1) and ones fetch() sets itself. */
const DROP_REQUEST = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  // Ask for an identity body: fetch() would decode it anyway, leaving headers that lie.
  'accept-encoding',
  // Set below, only from what the console's server vouches for.
  'x-forwarded-for',
]);

/**
 * Set by the console's server (server.mjs), which writes X-Forwarded-For itself: the browser's
 * address. Under plain `next start` the header is whatever the browser sent, and is not passed on.
 */
const VOUCHED = Symbol.for('claudefs.console.vouches');
const DROP_RESPONSE = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'trailer',
  'upgrade',
  'content-encoding',
  'content-length',
]);

/**
 * Procedures a live gateway answers at once (its cached health report, the session): a request
 * of only these that has had no answer in ANSWER_DEADLINE_MS is a gateway that accepts
 * connections and answers nothing — stuck, not slow. Others (a diagnostic run, a drain) may
 * take minutes and get no deadline.
 */
const PROMPT = new Set(['health', 'auth.session']);
const ANSWER_DEADLINE_MS = 10_000;

/** 504 when `procedures` (a batch: `a,b`) are all prompt ones; no deadline otherwise. */
function deadlineFor(procedures: string): number | undefined {
  let names: string[];
  try {
    names = decodeURIComponent(procedures.replace(/^\//, '')).split(',');
  } catch {
    return undefined; // A malformed escape: the gateway answers it, with no deadline here.
  }
  return names.every((n) => PROMPT.has(n)) ? ANSWER_DEADLINE_MS : undefined;
}

function gatewayError(status: 502 | 504, message: string): Response {
  const code = status === 502 ? 'BAD_GATEWAY' : 'GATEWAY_TIMEOUT';
  return Response.json({ error: { message, code: -32603, data: { code, httpStatus: status } } }, { status });
}

async function proxy(request: Request): Promise<Response> {
  const incoming = new URL(request.url);
  // The raw path keeps tRPC's batching syntax (`a,b`) exactly as the client sent it.
  const rest = incoming.pathname.startsWith(PREFIX) ? incoming.pathname.slice(PREFIX.length) : '';
  const target = `${gatewayUrl()}/trpc${rest}${incoming.search}`;

  const headers = new Headers();
  request.headers.forEach((value, name) => {
    if (!DROP_REQUEST.has(name)) headers.append(name, value);
  });
  headers.set('x-forwarded-host', request.headers.get('host') ?? incoming.host);
  headers.set('x-forwarded-proto', incoming.protocol.replace(/:$/, ''));
  const browser = request.headers.get('x-forwarded-for');
  if ((globalThis as Record<symbol, unknown>)[VOUCHED] === true && browser)
    headers.set('x-forwarded-for', browser);

  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  const deadlineMs = deadlineFor(rest);
  // Until the answer's head arrives; its body is not cut short.
  const late = new AbortController();
  const timer = deadlineMs === undefined ? undefined : setTimeout(() => late.abort(), deadlineMs);
  let upstream: Response;
  try {
    upstream = await fetch(target, {
      method: request.method,
      headers,
      body: hasBody ? await request.arrayBuffer() : undefined,
      redirect: 'manual',
      cache: 'no-store',
      signal: AbortSignal.any([request.signal, late.signal]),
    });
  } catch (error) {
    if (late.signal.aborted && !request.signal.aborted) {
      return gatewayError(
        504,
        `the gateway at ${gatewayUrl()} has not answered in ${deadlineMs! / 1000} s: it is stuck, or the network drops what is sent to it (on its host, ./cfs diagnose unresponsive says which, and what it waits in)`,
      );
    }
    const reason = error instanceof Error ? error.message : String(error);
    return gatewayError(502, `gateway unreachable at ${gatewayUrl()}: ${reason}`);
  } finally {
    clearTimeout(timer);
  }

  const responseHeaders = new Headers();
  upstream.headers.forEach((value, name) => {
    if (!DROP_RESPONSE.has(name) && name !== 'set-cookie') responseHeaders.append(name, value);
  });
  for (const cookie of upstream.headers.getSetCookie()) responseHeaders.append('set-cookie', cookie);

  return new Response(request.method === 'HEAD' ? null : upstream.body, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: responseHeaders,
  });
}

export const GET = proxy;
export const POST = proxy;
export const HEAD = proxy;
