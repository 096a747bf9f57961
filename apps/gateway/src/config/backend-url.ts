import { isAbsolute } from 'node:path';
import { InvalidValue } from './invalid-value.ts';

/** Metadata store ("A2"): embedded SQLite by default, PostgreSQL when scaled out. */
export type MetadataBackend =
  | { kind: 'sqlite'; url: string; path: string }
  | { kind: 'postgres'; url: string };

/** Data store ("A4 transport"): a local directory by default, an S3 bucket when scaled out. */
export type TransportBackend =
  | { kind: 'file'; url: string; path: string }
  | { kind: 's3'; url: string; bucket: string; prefix: string };

/** Passwords in database URLs never reach a message, a log line or a terminal. */
export function redactUrl(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}

function parseUrl(text: string, example: string): URL {
  try {
    return new URL(text);
  } catch {
    throw new InvalidValue(`'${redactUrl(text)}' is not a URL: write e.g. ${example}`);
  }
}

/** The URL's path with %-escapes decoded; a stray `%` is a mistake in the value, not a crash. */
function decodedPath(url: URL, text: string): string {
  try {
    return decodeURIComponent(url.pathname);
  } catch {
    throw new InvalidValue(`'${redactUrl(text)}' has a malformed %-escape in its path`);
  }
}

/** `sqlite:///abs/meta.db`: the host part must be empty so the path cannot be mistaken for one. */
function localPath(url: URL, text: string, example: string): string {
  const path = decodedPath(url, text);
  if (url.host !== '' || !isAbsolute(path) || path === '/') {
    throw new InvalidValue(`'${text}' needs an absolute path after ${url.protocol}//, e.g. ${example}`);
  }
  return path;
}

export function parseMetadataUrl(text: string): MetadataBackend {
  const example = 'sqlite:///var/lib/claudefs/meta.db or postgres://user@db-host/claudefs';
  const url = parseUrl(text, example);
  switch (url.protocol) {
    case 'sqlite:':
      return { kind: 'sqlite', url: text, path: localPath(url, text, 'sqlite:///var/lib/claudefs/meta.db') };
    case 'postgres:':
    case 'postgresql:':
      if (url.hostname === '') throw new InvalidValue(`'${redactUrl(text)}' names no database host`);
      return { kind: 'postgres', url: text };
    default:
      throw new InvalidValue(
        `metadata URL scheme '${url.protocol.slice(0, -1)}' is not supported: use sqlite, postgres or postgresql`,
      );
  }
}

export function parseTransportUrl(text: string): TransportBackend {
  const url = parseUrl(text, 'file:///var/lib/claudefs/data or s3://bucket/prefix');
  switch (url.protocol) {
    case 'file:':
      return { kind: 'file', url: text, path: localPath(url, text, 'file:///var/lib/claudefs/data') };
    case 's3:':
      if (url.hostname === '') throw new InvalidValue(`'${text}' names no bucket: write s3://bucket/prefix`);
      return {
        kind: 's3',
        url: text,
        bucket: url.hostname,
        prefix: decodedPath(url, text).replace(/^\//, ''),
      };
    default:
      throw new InvalidValue(
        `transport URL scheme '${url.protocol.slice(0, -1)}' is not supported: use file or s3`,
      );
  }
}
