import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/chromium.ts';

/** A page server on 127.0.0.1: each is its own origin (`http://127.0.0.1:PORT`). */
export async function pageServer(): Promise<{ origin: string; close(): void }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>uploader</title>');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => server.close(),
  };
}

/** What a page's `fetch` could read of an answer (CORS decides), or how it failed. */
export interface PageFetch {
  status?: number;
  etag?: string | null;
  text?: string;
  failed?: string;
}

/** Headless Chromium, launched at the first page: `fetch` run by pages of chosen origins. */
export class BrowserPages {
  private browser: Browser | undefined;

  async fetch(
    origin: string,
    url: string,
    init: { method: string; body?: string; headers?: Record<string, string> },
  ): Promise<PageFetch> {
    this.browser ??= await launchChromium();
    const page = await this.browser.newPage();
    try {
      await page.goto(origin);
      return await page.evaluate(
        async ({ url, init }) => {
          try {
            const r = await fetch(url, init);
            return { status: r.status, etag: r.headers.get('etag'), text: await r.text() };
          } catch (e) {
            return { failed: String(e) };
          }
        },
        { url, init },
      );
    } finally {
      await page.close();
    }
  }

  async close(): Promise<void> {
    await this.browser?.close();
  }
}
