import { isAbsolute } from 'node:path';
import { redactUrl } from './backend-url.ts';
import { InvalidValue } from './invalid-value.ts';

/**
 * Where the control plane (users, keys, quotas, tokens, audit, nodes, cluster secrets) lives:
 * `control.db` in the state folder by default; PostgreSQL when several gateways share it. On
 * PostgreSQL its tables live in one schema (`?schema=`, default `cfs_control`), so the
 * control plane can share a database with the metadata store without sharing a namespace.
 */
export type ControlBackend =
  | { kind: 'sqlite'; url: string; path: string }
  | { kind: 'postgres'; url: string; schema: string };

export const DEFAULT_CONTROL_SCHEMA = 'cfs_control';

const EXAMPLE = 'sqlite:///var/lib/claudefs/control.db or postgres://user@db-host/claudefs';

export function controlUrlFor(stateDir: string): string {
  return `sqlite://${stateDir}/control.db`;
}

/** A PostgreSQL URL as node-postgres reads it: the `schema` parameter is ours (and Prisma's), not libpq's. */
export function pgConnectionString(url: string): string {
  const u = new URL(url);
  u.searchParams.delete('schema');
  return u.toString();
}

export function parseControlUrl(text: string): ControlBackend {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidValue(`'${redactUrl(text)}' is not a URL: write e.g. ${EXAMPLE}`);
  }
  switch (url.protocol) {
    case 'sqlite:': {
      const path = decodeURIComponent(url.pathname);
      if (url.host !== '' || !isAbsolute(path) || path === '/') {
        throw new InvalidValue(
          `'${text}' needs an absolute path after sqlite://, e.g. sqlite:///var/lib/claudefs/control.db`,
        );
      }
      return { kind: 'sqlite', url: text, path };
    }
    case 'postgres:':
    case 'postgresql:': {
      if (url.hostname === '') throw new InvalidValue(`'${redactUrl(text)}' names no database host`);
      const schema = url.searchParams.get('schema') ?? DEFAULT_CONTROL_SCHEMA;
      if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
        throw new InvalidValue(
          `schema '${schema}' in '${redactUrl(text)}' must be 1-63 letters, digits or _ (not starting with a digit)`,
        );
      }
      return { kind: 'postgres', url: text, schema };
    }
    default:
      throw new InvalidValue(
        `control URL scheme '${url.protocol.slice(0, -1)}' is not supported: use sqlite, postgres or postgresql`,
      );
  }
}
