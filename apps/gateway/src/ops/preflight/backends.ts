import { randomBytes } from 'node:crypto';
import { accessSync, constants, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { GatewayConfig } from '../../config/types.ts';
import { checkObjectStore, checkPostgresMetadata } from './remote-backends.ts';
import { fail, type PreflightResult, pass } from './result.ts';

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
  return writable(dir)
    ? pass('state folder', `${dir} is writable`)
    : fail('state folder', `${dir} is not writable by this user`);
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
  try {
    writeFileSync(probe, content, { flag: 'wx', mode: 0o600 });
    if (!readFileSync(probe).equals(content))
      return fail('transport', `${t.url}: a probe file read back different bytes`);
    rmSync(probe);
    return pass('transport', `${t.url}: wrote, read back and deleted a probe file`);
  } catch (e) {
    try {
      rmSync(probe, { force: true });
    } catch {
      // The probe was never written.
    }
    return fail('transport', `${t.url}: ${(e as Error).message}`);
  }
}
