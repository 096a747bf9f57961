import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { GatewayConfig } from '../../config/types.ts';
import { ControlError } from '../../control/errors.ts';
import type { ControlPlane } from '../../control/index.ts';
import { CliExit, loadCliConfig } from '../context.ts';

/**
 * What the identity and quota commands share: opening the control plane themselves (a
 * running gateway is not needed), audit entries for every change, and argument checks whose
 * messages name the argument.
 */

export const CONFIG_OPTION = [
  '--config <file>',
  'configuration file (default: $CFS_CONFIG, then /etc/claudefs/gateway.yaml)',
] as const;

/** `cli:<login name>`, or `cli:<uid>` when the environment names nobody. */
export function cliActor(): string {
  const name = process.env.USER || process.env.LOGNAME;
  if (name) return `cli:${name}`;
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return `cli:${process.getuid?.() ?? 'unknown'}`;
  }
}

/** Runs `body` on the control plane of the configured state folder, closing it afterwards. */
export async function withControlPlane<T>(
  configFile: string | undefined,
  body: (cp: ControlPlane, config: GatewayConfig) => Promise<T>,
): Promise<T> {
  const config = await loadCliConfig(configFile);
  // An empty state folder is a new installation, or a volume that is not mounted: the users,
  // keys and quotas written now would then be where the gateway never reads them.
  const fresh = config.control.kind === 'sqlite' && !existsSync(config.control.path);
  let cp: ControlPlane;
  try {
    // Loaded here, by the commands that use the control plane (Prisma and its client).
    const { openControlPlane } = await import('../../control/index.ts');
    cp = await openControlPlane({
      stateDir: config.stateDir,
      url: config.control.url,
      stateDirMustExist: config.control.kind === 'sqlite',
    });
  } catch (e) {
    const where = config.control.kind === 'sqlite' ? `in ${config.stateDir}` : 'on PostgreSQL';
    throw new CliExit(`cannot open the control plane ${where}: ${(e as Error).message}`, 2);
  }
  if (fresh && config.control.kind === 'sqlite') {
    process.stderr.write(
      `note: ${config.control.path} did not exist: a new, empty control plane was made there (node.state_dir ${config.stateDir}). If the gateway keeps its state on a volume, is it mounted?\n`,
    );
  }
  try {
    return await body(cp, config);
  } catch (e) {
    throw asCliExit(e);
  } finally {
    await cp.close();
  }
}

/** A repository's refusal becomes the operator's message: INVALID is a usage error (2), the rest 1. */
export function asCliExit(e: unknown): unknown {
  if (e instanceof ControlError) return new CliExit(e.message, e.code === 'INVALID' ? 2 : 1);
  return e;
}

/**
 * Runs a change and records it in the audit log with its outcome, failed or not. `detail`
 * must hold no secret (the audit log redacts secret-looking keys anyway).
 */
export async function audited<T>(
  cp: ControlPlane,
  action: string,
  target: string,
  change: () => Promise<T>,
  detail?: Record<string, unknown>,
): Promise<T> {
  const actor = cliActor();
  try {
    const result = await change();
    await cp.audit.record({ actor, action, target, outcome: 'ok', detail });
    return result;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    await cp.audit
      .record({ actor, action, target, outcome: 'error', detail: { ...(detail ?? {}), error: message } })
      .catch(() => {});
    throw e;
  }
}

const ID_MAX = 2 ** 31 - 2;

/** A uid or gid as typed after `flag`; exits 2 with a message naming the flag otherwise. */
export function parseId(flag: string, text: string, kind: 'uid' | 'gid'): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) > ID_MAX) {
    throw new CliExit(`${flag}: '${text}' is not a ${kind}: write a whole number from 0 to ${ID_MAX}`, 2);
  }
  return Number(text);
}

/** A non-negative whole count (inodes). */
export function parseCount(flag: string, text: string): bigint {
  if (!/^\d+$/.test(text.trim())) {
    throw new CliExit(`${flag}: '${text}' is not a count: write a whole number, e.g. 100000`, 2);
  }
  const n = BigInt(text.trim());
  if (n > 2n ** 63n - 1n) throw new CliExit(`${flag}: '${text}' is too large (at most 2^63-1)`, 2);
  return n;
}

export function printJson(value: unknown): void {
  process.stdout.write(
    `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`,
  );
}

/** Reads all of stdin as text (a password piped in), without the final line break. */
export async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Asks for a password on the terminal with echo off; Ctrl-C aborts. */
export function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let value = '';
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.removeListener('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (data: Buffer) => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
        if (ch === '\u0003') return done(new CliExit('aborted', 130));
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else value += ch;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}

/** The new password: piped on stdin, or typed twice at a terminal. */
export async function readNewPassword(): Promise<string> {
  if (!process.stdin.isTTY) return readStdinLine();
  const first = await promptHidden('New password: ');
  const second = await promptHidden('Retype new password: ');
  if (first !== second) throw new CliExit('passwords do not match; nothing changed', 1);
  return first;
}
