import { realpathSync } from 'node:fs';
import { request } from 'node:http';
import { isIPv6 } from 'node:net';
import { resolve } from 'node:path';
import type { ConfigStatus } from '@claudefs/api';
import { isWildcardHost, type ListenAddress } from '../config/address.ts';
import type { LoadOptions } from '../config/load.ts';
import { locateConfig } from '../config/locate.ts';
import { formatProblem } from '../config/problems.ts';
import type { GatewayConfig } from '../config/types.ts';
import { runningGatewayPid } from '../daemon/pid-file.ts';
import { CLI_ACTOR_HEADER } from '../ops/admin/auth.ts';
import { loadConfigDespiteTls, type TlsLenientResult } from '../ops/certs/lenient-config.ts';
import { CliExit } from './context.ts';
import { cliActor } from './format/identity-context.ts';
import { stuckGateway } from './stuck-gateway.ts';

/** The same file or folder: by real path where both exist (a symlinked state folder is itself). */
export function samePath(a: string, b: string): boolean {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  return real(a) === real(b);
}

/** An admin API call that the gateway answered with an error status. */
export class AdminApiError extends CliExit {
  constructor(
    message: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(message, 1);
  }
}

/** No answer from the admin API; `plain` says so without what /proc showed of a stuck gateway. */
export class GatewayUnreachable extends CliExit {
  constructor(
    message: string,
    readonly plain: string,
  ) {
    super(message, 1);
  }
}

/** Where the CLI reaches a gateway listening on `bind`: a wildcard bind is reached on loopback. */
export function adminBaseUrl(bind: ListenAddress): string {
  const host = isWildcardHost(bind.host) ? '127.0.0.1' : bind.host;
  return `http://${isIPv6(host) ? `[${host}]` : host}:${bind.port}`;
}

/** For `.catch`: a 404 in the gateway's own words (exit 1), without the HTTP framing; others pass. */
export function notFoundInOwnWords(e: unknown): never {
  if (e instanceof AdminApiError && e.status === 404) {
    const error = (e.body as { error?: unknown } | undefined)?.error;
    throw new CliExit(typeof error === 'string' ? error : e.message, 1);
  }
  throw e;
}

export interface AdminClientOptions {
  /** Sent as `Authorization: Bearer …`; default $CFS_ADMIN_TOKEN. Unset: loopback trust. */
  token?: string;
  timeoutMs?: number;
}

/**
 * The running gateway's admin API on `health.bind`, for `./cfs` commands. Failures become
 * CliExit with the operator's next step in the message; one connection per call, so a command
 * exits as soon as it is done.
 */
export class AdminClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  /** The gateway's own account of itself, asked once before the first call (forConfig). */
  private identity: Promise<ConfigStatus> | undefined;

  constructor(
    bind: ListenAddress,
    opts: AdminClientOptions = {},
    /** The state folder the caller's file names: the gateway answering must serve it. */
    private readonly stateDir?: string,
  ) {
    this.baseUrl = adminBaseUrl(bind);
    const token = opts.token ?? process.env.CFS_ADMIN_TOKEN;
    this.token = token === '' ? undefined : token;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /**
   * The gateway the file configures: reached on its `health.bind`, and refused (exit 2) when
   * what answers there serves another state folder — a file copied from another gateway's,
   * whose drain would have drained that one.
   */
  static forConfig(config: GatewayConfig, opts: AdminClientOptions = {}): AdminClient {
    return new AdminClient(config.health.bind, opts, config.stateDir);
  }

  /** Which file, state folder and PID the gateway answering runs (GET /admin/config). */
  running(): Promise<ConfigStatus> {
    this.identity ??= this.send<ConfigStatus>('GET', '/admin/config').then((status) => {
      // (A gateway of an older build does not say: nothing to compare.)
      if (
        this.stateDir !== undefined &&
        typeof status.stateDir === 'string' &&
        !samePath(status.stateDir, this.stateDir)
      ) {
        throw new CliExit(
          `the gateway answering on ${this.baseUrl} (health.bind) serves state folder ${status.stateDir} (PID ${status.pid}, file ${status.file}), not this file's ${this.stateDir}: is health.bind in the file another gateway's? Nothing was done`,
          2,
        );
      }
      return status;
    });
    return this.identity;
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    if (this.stateDir !== undefined) await this.running();
    return this.send<T>(method, path, body);
  }

  private send<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = new URL(path, this.baseUrl);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = {
      accept: 'application/json',
      connection: 'close',
      [CLI_ACTOR_HEADER]: cliActor(),
    };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    return new Promise<T>((resolve, reject) => {
      const req = request(url, { method, headers, agent: false, timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => reject(this.unreachable(e)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text.trim() === '' ? undefined : JSON.parse(text);
          } catch {
            parsed = text;
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(parsed as T);
          else reject(this.refused(method, url, status, parsed));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (e) => reject(this.unreachable(e)));
      req.end(payload);
    });
  }

  private unreachable(e: NodeJS.ErrnoException): CliExit {
    const pid = this.stateDir === undefined ? undefined : runningGatewayPid(this.stateDir);
    if (e.code === 'ECONNREFUSED' && pid !== undefined) {
      return new CliExit(
        `the gateway on ${this.stateDir} (PID ${pid}) does not answer on ${this.baseUrl} (health.bind): was health.bind changed in the file since it started? It keeps its address until a restart; ./cfs gateway nodes lists where each node answers`,
        1,
      );
    }
    if (e.code === 'ECONNREFUSED') {
      return new CliExit(`no gateway is running: nothing answers on ${this.baseUrl} (health.bind)`, 1);
    }
    // Alive and silent: say what its event loop waits in, where this host can see it.
    const stuck = pid === undefined ? undefined : stuckGateway(pid);
    const why = stuck?.stuck
      ? `; the gateway (PID ${pid}) is stuck: ${stuck.summary} (./cfs diagnose unresponsive)`
      : '';
    const plain = `cannot reach the gateway at ${this.baseUrl} (health.bind): ${e.message}`;
    return new GatewayUnreachable(`${plain}${why}`, plain);
  }

  private refused(method: string, url: URL, status: number, body: unknown): AdminApiError {
    const error =
      typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'string'
        ? (body as { error: string }).error
        : typeof body === 'string' && body !== ''
          ? body.trim()
          : `HTTP ${status}`;
    let hint = '';
    if (status === 401) {
      hint = this.token
        ? ' (is $CFS_ADMIN_TOKEN a valid, unrevoked token?)'
        : ' (set $CFS_ADMIN_TOKEN to an admin token, or run this on the gateway host with admin.trust_loopback: true)';
    } else if (status === 403) {
      hint = " (the token's role is too low for this action)";
    }
    return new AdminApiError(`${method} ${url.pathname}: ${error}${hint}`, status, body);
  }
}

/**
 * The configuration for commands that check or call a gateway (`drain`, `cert status`,
 * `preflight`, …). Unlike loadCliConfig it loads when only the certificate files are bad:
 * those commands are how an operator finds and fixes that.
 */
export async function loadOperatorConfig(
  explicit: string | undefined,
  opts: Pick<LoadOptions, 'empty'> & {
    /**
     * The command only calls the gateway (drain, smb status, locks, …): a file with errors
     * elsewhere still says where it runs and answers, and the command goes on, saying so.
     */
    addressOnly?: boolean;
  } = {},
): Promise<TlsLenientResult & { config: GatewayConfig }> {
  let file: string;
  try {
    file = locateConfig(explicit);
  } catch (e) {
    throw new CliExit((e as Error).message, 2);
  }
  let loaded: TlsLenientResult;
  try {
    loaded = await loadConfigDespiteTls(file, { empty: opts.empty });
  } catch (e) {
    throw new CliExit((e as Error).message, 2);
  }
  if (!loaded.config && opts.addressOnly && loaded.addressing) {
    const errors = loaded.problems.filter((p) => p.severity === 'error').length;
    process.stderr.write(
      `warning: ${file} has ${errors === 1 ? '1 error' : `${errors} errors`} (./cfs gateway validate-config lists them; a reload would refuse it); its gateway is reached by node.state_dir and health.bind alone\n`,
    );
    return { ...loaded, config: loaded.addressing };
  }
  if (!loaded.config) {
    const lines = loaded.problems.filter((p) => p.severity === 'error').map(formatProblem);
    throw new CliExit(`configuration invalid:\n${lines.join('\n')}`, 2);
  }
  return { ...loaded, config: loaded.config };
}
