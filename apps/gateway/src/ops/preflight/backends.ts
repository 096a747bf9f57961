import { randomBytes } from 'node:crypto';
import { accessSync, constants, statSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { GatewayConfig } from '../../config/types.ts';
import { runningGatewayPid } from '../../daemon/pid-file.ts';
import { checkObjectStore, checkPostgresMetadata } from './remote-backends.ts';
import { fail, type PreflightResult, pass } from './result.ts';

/** How long the data folder's probe may take before it counts as not answering. */
const DISK_DEADLINE_MS = 5000;

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** For a path the gateway creates at first start: the nearest existing folder, and whether it may. */
function creatable(path: string): { ok: boolean; ancestor: string } {
  let ancestor = dirname(path);
  while (!exists(ancestor) && dirname(ancestor) !== ancestor) ancestor = dirname(ancestor);
  try {
    accessSync(ancestor, constants.W_OK | constants.X_OK);
    return { ok: true, ancestor };
  } catch {
    return { ok: false, ancestor };
  }
}

function notYet(item: string, what: string, path: string): PreflightResult {
  const c = creatable(path);
  return c.ok
    ? pass(
        item,
        `${what} ${path} does not exist yet; the gateway creates it at first start (${c.ancestor} is writable)`,
      )
    : fail(
        item,
        `${what} ${path} does not exist and cannot be created: ${c.ancestor} is not writable by this user`,
      );
}

const writable = (path: string) => {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
};

/** The state folder: gateway.pid and control.db live there. */
export function checkStateDir(config: GatewayConfig): PreflightResult {
  const dir = config.stateDir;
  if (!exists(dir)) return notYet('state folder', 'state folder', dir);
  if (!statSync(dir).isDirectory()) return fail('state folder', `${dir} is not a folder`);
  if (!writable(dir)) return fail('state folder', `${dir} is not writable by this user`);
  // Next to a running gateway (the runbook's re-check): what a start would meet is that one.
  const running = runningGatewayPid(dir);
  return pass(
    'state folder',
    running === undefined
      ? `${dir} is writable`
      : `${dir} is writable, and held by the gateway running on it (PID ${running}): another start on it is refused until that one stops`,
  );
}

/**
 * Metadata ("A2"): the SQLite file opens and answers a read (the gateway will need to write it
 * too); PostgreSQL answers as the gateway would connect (remote-backends.ts).
 */
export async function checkMetadata(config: GatewayConfig): Promise<PreflightResult> {
  const m = config.metadata;
  if (m.kind === 'postgres') return checkPostgresMetadata(m);
  if (!exists(m.path)) return notYet('metadata', 'database', m.path);
  let db: Database.Database | undefined;
  try {
    db = new Database(m.path, { readonly: true, fileMustExist: true });
    const { n } = db.prepare('SELECT count(*) AS n FROM sqlite_master').get() as { n: number };
    if (!writable(m.path) || !writable(dirname(m.path))) {
      return fail(
        'metadata',
        `${m.url}: readable, but the gateway needs write access to ${m.path} and its folder`,
      );
    }
    return pass('metadata', `${m.url}: opened and read (${n} schema objects)`);
  } catch (e) {
    return fail('metadata', `${m.url}: ${(e as Error).message}`);
  } finally {
    db?.close();
  }
}

/**
 * Data ("A4 transport"): a probe file is written, read back and deleted in the data folder — or
 * a probe object in the object store (remote-backends.ts).
 */
export async function checkTransport(config: GatewayConfig): Promise<PreflightResult> {
  const t = config.transport;
  if (t.kind === 's3') return checkObjectStore(config, t);
  if (!exists(t.path)) return notYet('transport', 'data folder', t.path);
  if (!statSync(t.path).isDirectory()) return fail('transport', `${t.url}: ${t.path} is not a folder`);
  const probe = join(t.path, `.cfs-preflight-${process.pid}-${randomBytes(4).toString('hex')}`);
  const content = randomBytes(64);
  // Off the event loop, with a deadline: a data disk that has stopped answering holds the call
  // in the kernel, and this runs in the gateway itself too (./cfs diagnose backend).
  const roundTrip = async () => {
    await writeFile(probe, content, { flag: 'wx', mode: 0o600 });
    const back = await readFile(probe);
    await rm(probe);
    return back.equals(content);
  };
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), DISK_DEADLINE_MS);
  });
  try {
    const same = await Promise.race([roundTrip(), late]);
    if (same === 'late')
      return fail(
        'transport',
        `${t.url}: no answer within ${DISK_DEADLINE_MS / 1000} s: the file system under ${t.path} is not answering (a hung disk or network file system?)`,
      );
    if (!same) return fail('transport', `${t.url}: a probe file read back different bytes`);
    return pass('transport', `${t.url}: wrote, read back and deleted a probe file`);
  } catch (e) {
    await rm(probe, { force: true }).catch(() => {});
    return fail('transport', `${t.url}: ${(e as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}
