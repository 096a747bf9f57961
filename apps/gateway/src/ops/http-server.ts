import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ListenAddress } from '../config/types.ts';
import { closeIdleAfterPoll } from '../util/idle-close.ts';

export type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

/** How long close() lets a response that has started (a stream) go on before cutting it. */
export const CLOSE_GRACE_MS = 5000;

/** The health/metrics/admin/tRPC listener: one table of `METHOD /path` → handler. */
export class OpsHttpServer {
  readonly routes = new Map<string, Route>();
  private readonly prefixRoutes: Array<[string, string, Route]> = [];
  private readonly active = new Set<ServerResponse>();
  private closing = false;
  readonly server: Server;

  constructor(private readonly closeGraceMs = CLOSE_GRACE_MS) {
    this.server = createServer((req, res) => void this.dispatch(req, res));
    this.server.keepAliveTimeout = 5000;
    closeIdleAfterPoll(this.server);
  }

  route(method: string, path: string, handler: Route): void {
    this.routes.set(`${method} ${path}`, handler);
  }

  /** A handler for every path under `prefix` (tRPC's `/trpc/…`). */
  routePrefix(method: string, prefix: string, handler: Route): void {
    this.prefixRoutes.push([method, prefix, handler]);
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.closing) res.setHeader('connection', 'close');
    this.active.add(res);
    res.once('close', () => this.active.delete(res));
    const url = new URL(req.url ?? '/', 'http://gateway');
    const method = req.method ?? 'GET';
    let handler = this.routes.get(`${method} ${url.pathname}`);
    if (!handler && method === 'HEAD') handler = this.routes.get(`GET ${url.pathname}`);
    if (!handler) {
      for (const [m, prefix, h] of this.prefixRoutes) {
        if ((m === method || m === '*') && url.pathname.startsWith(prefix)) handler = h;
      }
    }
    try {
      if (!handler) {
        const known = [...this.routes.keys()].some((k) => k.endsWith(` ${url.pathname}`));
        sendJson(res, known ? 405 : 404, {
          error: known ? 'method not allowed' : 'not found',
          path: url.pathname,
        });
        return;
      }
      await handler(req, res, url);
    } catch (e) {
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error', message: String(e) });
      else res.destroy();
    }
  }

  listen(addr: ListenAddress): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(addr.port, addr.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  address(): string {
    const a = this.server.address();
    if (a === null || typeof a === 'string') return String(a);
    return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  }

  /**
   * Stops listening and resolves once every connection has ended. Idle keep-alive connections
   * end now; a request in flight gets its answer with `Connection: close`, so a client that
   * polls on one connection (the console does, every second) cannot keep the listener alive
   * past its last answer; a response still streaming after the grace (CLOSE_GRACE_MS) is cut.
   */
  close(): Promise<void> {
    this.closing = true;
    for (const res of this.active) if (!res.headersSent) res.setHeader('connection', 'close');
    return new Promise((resolve) => {
      const cut = setTimeout(() => this.server.closeAllConnections(), this.closeGraceMs).unref();
      this.server.close(() => {
        clearTimeout(cut);
        resolve();
      });
      this.server.closeIdleConnections();
    });
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
