import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Role } from '../../control/index.ts';
import { type OpsHttpServer, sendJson } from '../http-server.ts';

/** Who is calling, as established once by the authenticator. */
export interface Caller {
  /** Token name, console user, or "loopback". */
  actor: string;
  role: Role;
  remoteAddress: string;
}

export interface AdminRequest {
  caller: Caller;
  url: URL;
  /** Parsed JSON body (undefined when empty). */
  body: unknown;
  params: Record<string, string>;
}

export interface AdminResult {
  status?: number;
  body: unknown;
  /** What the audit entry records instead of the request body (what the action changed). */
  auditDetail?: unknown;
}

/** What an action was done to, named as the console's audit entries name it (`gateway`, `circuit:metadata`). */
export type AuditTarget = (req: AdminRequest) => string;

/** The running gateway itself (drain, reload, log level), as the console's entries say. */
export const GATEWAY_TARGET: AuditTarget = () => 'gateway';
/** The S3 listener's certificate pair, as the console's entries say. */
export const TLS_TARGET: AuditTarget = () => 's3.tls';

export type AdminHandler = (req: AdminRequest) => Promise<AdminResult> | AdminResult;

/** Decides who the caller is: a Caller, or an HTTP refusal (401/403) — the only auth check. */
export type Authenticator = (req: IncomingMessage, minRole: Role) => Promise<Caller | Refusal>;

/** A refusal; a 403's caller proved who it is (a valid token short of the role): audited as itself. */
export interface Refusal {
  status: 401 | 403;
  error: string;
  caller?: Caller;
}

/** Records an admin action with who, what, when and the outcome. */
export type Auditor = (entry: {
  caller: Caller | undefined;
  remoteAddress: string;
  action: string;
  target: string;
  outcome: 'ok' | 'denied' | 'error';
  detail?: unknown;
}) => Promise<void> | void;

export const MAX_ADMIN_BODY = 64 * 1024;
const ROLE_RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function roleAllows(have: Role, need: Role): boolean {
  return ROLE_RANK[have] >= ROLE_RANK[need];
}

/**
 * The admin API's routes: each declares the least role it needs and the action name it is
 * audited under; authentication, body parsing and auditing happen here once for all of them.
 */
export class AdminRoutes {
  authenticate: Authenticator = async () => ({
    status: 401,
    error: 'admin API authentication is not configured',
  });
  audit: Auditor = () => {};

  constructor(private readonly server: OpsHttpServer) {}

  /**
   * `path` may end in segments like `{backend}`, matched as parameters; `target` names what the
   * audit entry is about (the request's path when absent).
   */
  add(
    method: string,
    path: string,
    minRole: Role,
    action: string,
    handler: AdminHandler,
    target?: AuditTarget,
  ): void {
    const pattern = new RegExp(`^${path.replace(/\{(\w+)\}/g, '(?<$1>[^/]+)')}$`);
    const prefix = path.split('{')[0]!;
    const route = (req: IncomingMessage, res: ServerResponse, url: URL) =>
      this.handle(req, res, url, pattern, minRole, action, handler, target);
    if (path.includes('{')) this.server.routePrefix(method, prefix, route);
    else this.server.route(method, path, route);
  }

  private async handle(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    pattern: RegExp,
    minRole: Role,
    action: string,
    handler: AdminHandler,
    targetOf: AuditTarget | undefined,
  ): Promise<void> {
    const match = pattern.exec(url.pathname);
    if (!match) return sendJson(res, 404, { error: 'not found', path: url.pathname });
    const remoteAddress = req.socket.remoteAddress ?? '';
    const target = url.pathname;
    const who = await this.authenticate(req, minRole);
    if ('status' in who) {
      await this.audit({
        caller: who.caller,
        remoteAddress,
        action,
        target,
        outcome: 'denied',
        detail: who.error,
      });
      return sendJson(res, who.status, { error: who.error });
    }
    let body: unknown;
    try {
      body = await readJsonBody(req);
    } catch (e) {
      await this.audit({
        caller: who,
        remoteAddress,
        action,
        target,
        outcome: 'error',
        detail: (e as Error).message,
      });
      return sendJson(res, (e as { status?: number }).status ?? 400, { error: (e as Error).message });
    }
    const request: AdminRequest = { caller: who, url, body, params: { ...match.groups } };
    const named = targetOf?.(request) ?? target;
    try {
      const result = await handler(request);
      const status = result.status ?? 200;
      // The audit log records changes: a read that succeeded changed nothing (refusals and
      // failures of reads are still recorded, above and below).
      if (req.method !== 'GET' || status >= 400) {
        await this.audit({
          caller: who,
          remoteAddress,
          action,
          target: named,
          outcome: status < 400 ? 'ok' : 'error',
          detail: result.auditDetail ?? body,
        });
      }
      sendJson(res, status, result.body);
    } catch (e) {
      await this.audit({
        caller: who,
        remoteAddress,
        action,
        target: named,
        outcome: 'error',
        detail: (e as Error).message,
      });
      sendJson(res, 500, { error: (e as Error).message });
    }
  }
}

/**
 * The request's JSON body; 413 past MAX_ADMIN_BODY, 400 when malformed. Not the parser's
 * message: it quotes the bytes around the fault (a key or password a script left unquoted),
 * and the refusal is stored in the audit log, which viewers read.
 */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_ADMIN_BODY)
      throw Object.assign(new Error(`body larger than ${MAX_ADMIN_BODY} bytes`), { status: 413 });
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw Object.assign(new Error('malformed JSON body: not a JSON document'), { status: 400 });
  }
}
