import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import { Gateway } from '../../src/daemon/gateway.ts';
import { freePorts } from '../support/ports.ts';
import { makeTempDir } from '../support/tmpdir.ts';

export interface TrpcGateway {
  gw: Gateway;
  base: string;
  dir: string;
  /** Everything the gateway logged, at debug and above, unredacted by the logger. */
  logText(): string;
  stop(): Promise<void>;
}

/**
 * A gateway in this process serving no protocol, its ops listener on a free loopback port.
 * The logger has no redaction, so a test that finds no secret in its output proves the
 * gateway never handed one to the logger. `s3Tls` enables S3 (not started) with that pair.
 */
export async function startTrpcGateway(
  opts: { s3Tls?: { cert: string; key: string } } = {},
): Promise<TrpcGateway> {
  const dir = makeTempDir('trpc');
  const [health, s3] = await freePorts(2);
  const file = join(dir, 'gateway.yaml');
  writeFileSync(
    file,
    [
      `node: { name: gw-trpc, state_dir: ${dir}/state }`,
      'log_level: debug',
      'nfs: { enabled: false }',
      'smb: { enabled: false }',
      opts.s3Tls
        ? `s3: { bind: 127.0.0.1:${s3}, tls: { cert: ${opts.s3Tls.cert}, key: ${opts.s3Tls.key} } }`
        : 's3: { enabled: false }',
      `health: { bind: 127.0.0.1:${health}, probe_interval: 200ms }`,
      '',
    ].join('\n'),
  );
  const { config, problems } = await loadConfig(file, { checkPorts: false });
  if (!config) throw new Error(`bad test config: ${JSON.stringify(problems)}`);
  // A known bootstrap password, so the gateway prints none to stdout.
  process.env.CFS_ADMIN_PASSWORD ??= 'bootstrap-Admin-pw-41';
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  const gw = new Gateway(config, [], log);
  await gw.start();
  return {
    gw,
    base: `http://127.0.0.1:${health}`,
    dir,
    logText: () => lines.join(''),
    stop: () => gw.stop(),
  };
}

export interface TrpcReply<T = unknown> {
  status: number;
  setCookies: string[];
  data: T;
  error?: { message: string; code: number; data: { code: string; httpStatus: number; path?: string } };
}

export interface CallOptions {
  cookie?: string;
  /** Send `x-cfs-csrf: 1` (default true). */
  csrf?: boolean;
  token?: string;
  /** A raw body instead of the JSON input. */
  rawBody?: string;
}

/** One tRPC call over HTTP as @trpc/client's httpLink makes it: GET ?input= for queries, POST JSON for mutations. */
export async function trpc<T = unknown>(
  base: string,
  kind: 'query' | 'mutation',
  path: string,
  input?: unknown,
  o: CallOptions = {},
): Promise<TrpcReply<T>> {
  const headers: Record<string, string> = {};
  if (o.cookie) headers.cookie = o.cookie;
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  let url = `${base}/trpc/${path}`;
  let body: string | undefined;
  if (kind === 'query') {
    if (input !== undefined) url += `?input=${encodeURIComponent(JSON.stringify(input))}`;
  } else {
    headers['content-type'] = 'application/json';
    if (o.csrf ?? true) headers['x-cfs-csrf'] = '1';
    body = o.rawBody ?? (input === undefined ? undefined : JSON.stringify(input));
  }
  const res = await fetch(url, {
    method: kind === 'query' ? 'GET' : 'POST',
    headers,
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(10_000),
  });
  const json = (await res.json()) as { result?: { data: T }; error?: TrpcReply['error'] };
  return {
    status: res.status,
    setCookies: res.headers.getSetCookie(),
    data: json.result?.data as T,
    ...(json.error ? { error: json.error } : {}),
  };
}

/** `cfs_session=<value>` from a Set-Cookie line, as a browser would send it back. */
export function cookieOf(setCookie: string | undefined): string {
  const pair = setCookie?.split(';')[0];
  if (!pair?.startsWith('cfs_session=')) throw new Error(`not a session cookie: ${setCookie}`);
  return pair;
}

export async function signIn(base: string, user: string, password: string): Promise<string> {
  const r = await trpc(base, 'mutation', 'auth.signIn', { user, password });
  if (r.status !== 200) throw new Error(`sign-in as ${user}: ${r.status} ${r.error?.message}`);
  return cookieOf(r.setCookies[0]);
}
