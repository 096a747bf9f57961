// The console's server: Next.js's own request handler (what `next start` runs) behind an HTTP
// server that says who the browser is. `next start` passes on an X-Forwarded-For the browser
// wrote itself; here the header names the browser's address as this server saw it, or as a
// reverse proxy listed in CFS_CONSOLE_TRUSTED_PROXIES says it saw it (client-address.mjs), and
// the gateway's sign-in throttle and audit use it.
//
//   node server.mjs [-p PORT] [-H HOST]      (PORT from the environment, else 3000; all addresses)
import { createServer } from 'node:http';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import next from 'next';
import { trustedProxies, vouchFor } from './client-address.mjs';

const started = performance.now();

function settings() {
  const { values } = parseArgs({
    options: { port: { type: 'string', short: 'p' }, hostname: { type: 'string', short: 'H' } },
  });
  const portText = values.port ?? process.env.PORT ?? '3000';
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) {
    throw new Error(`port "${portText}" is not a port number (1 to 65535)`);
  }
  return {
    port,
    hostname: values.hostname,
    trusted: trustedProxies(process.env.CFS_CONSOLE_TRUSTED_PROXIES),
  };
}

let config;
try {
  config = settings();
} catch (e) {
  console.error(`console: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(2);
}

// The tRPC proxy (app/api/trpc) passes X-Forwarded-For on only when this server wrote it.
globalThis[Symbol.for('claudefs.console.vouches')] = true;

const app = next({
  dev: false,
  dir: dirname(fileURLToPath(import.meta.url)),
  hostname: config.hostname ?? 'localhost',
  port: config.port,
});
await app.prepare();
const handle = app.getRequestHandler();

const server = createServer((req, res) => {
  vouchFor(req.headers, req.socket.remoteAddress ?? '', config.trusted);
  handle(req, res);
});
server.on('error', (e) => {
  console.error(`console: cannot listen on ${config.hostname ?? '*'}:${config.port}: ${e.message}`);
  process.exit(1);
});
server.listen(config.port, config.hostname, () => {
  const where = `http://${config.hostname ?? 'localhost'}:${config.port}`;
  console.log(`console ready on ${where} in ${Math.round(performance.now() - started)} ms`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}
