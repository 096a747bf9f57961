import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ListenAddress } from '../config/types.ts';

export type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

/** The health/metrics/admin/tRPC listener: one table of `METHOD /path` → handler. */
export class OpsHttpServer {
  readonly routes = new Map<string, Route>();
  private readonly prefixRoutes: Array<[string, string, Route]> = [];
  readonly server: Server;

  constructor() {
    this.server = createServer((req, res) => void this.dispatch(req, res));
    this.server.keepAliveTimeout = 5000;
  }

  route(method: string, path: string, handler: Route): void {
    this.routes.set(`${method} ${path}`, handler);
  }

  /** A handler for every path under `prefix` (tRPC's `/trpc/…`). */
  routePrefix(method: string, prefix: string, handler: Route): void {
    this.prefixRoutes.push([method, prefix, handler]);
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
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

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
