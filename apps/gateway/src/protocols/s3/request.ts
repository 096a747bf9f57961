import { S3Error } from './deps.ts';

/** What the URL and Host say about an S3 request, before any check of bucket or key. */
export interface S3Target {
  /** Undefined for service-level requests (ListBuckets). */
  bucket: string | undefined;
  /** Decoded key; undefined when the request names no object. */
  key: string | undefined;
  /** Decoded query parameters (first value wins; S3 repeats none that matter). */
  query: Map<string, string>;
  /** Path as sent (still percent-encoded) and query string without `?`: what SigV4 signs. */
  rawPath: string;
  rawQuery: string;
  style: 'path' | 'virtual';
}

/** Largest request target accepted (a 1,024-byte key percent-encoded three times over fits). */
const MAX_URL = 8192;

/**
 * Splits a request target into bucket, key and query. Virtual-hosted style applies when the
 * Host is `<bucket>.<domain>`; otherwise the first path segment is the bucket. Malformed
 * percent-encoding is InvalidURI.
 */
export function parseTarget(url: string, host: string | undefined, domain: string | undefined): S3Target {
  if (url.length > MAX_URL) throw new S3Error('InvalidURI', 'The request URI is too long.');
  if (!url.startsWith('/')) throw new S3Error('InvalidURI', "Couldn't parse the specified URI.");
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const rawQuery = q < 0 ? '' : url.slice(q + 1);
  const query = parseQuery(rawQuery);
  const path = decode(rawPath);

  const vhost = virtualBucket(host, domain);
  if (vhost !== undefined) {
    const key = path.length > 1 ? path.slice(1) : undefined;
    return { bucket: vhost, key, query, rawPath, rawQuery, style: 'virtual' };
  }
  if (path === '/') return { bucket: undefined, key: undefined, query, rawPath, rawQuery, style: 'path' };
  const slash = path.indexOf('/', 1);
  if (slash < 0) return { bucket: path.slice(1), key: undefined, query, rawPath, rawQuery, style: 'path' };
  const bucket = path.slice(1, slash);
  const key = path.slice(slash + 1);
  return { bucket, key: key === '' ? undefined : key, query, rawPath, rawQuery, style: 'path' };
}

function decode(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    throw new S3Error('InvalidURI', "Couldn't parse the specified URI.");
  }
}

export function parseQuery(raw: string): Map<string, string> {
  const out = new Map<string, string>();
  if (raw === '') return out;
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const k = decode((eq < 0 ? pair : pair.slice(0, eq)).replaceAll('+', ' '));
    const v = eq < 0 ? '' : decode(pair.slice(eq + 1).replaceAll('+', ' '));
    if (!out.has(k)) out.set(k, v);
  }
  return out;
}

/** The bucket named by a `<bucket>.<domain>[:port]` Host, or undefined for path style. */
export function virtualBucket(host: string | undefined, domain: string | undefined): string | undefined {
  if (!domain || !host) return undefined;
  let h = host.toLowerCase();
  if (h.startsWith('[')) return undefined;
  const colon = h.lastIndexOf(':');
  if (colon >= 0) h = h.slice(0, colon);
  const d = domain.toLowerCase();
  if (h.length <= d.length + 1 || !h.endsWith(`.${d}`)) return undefined;
  return h.slice(0, h.length - d.length - 1);
}
