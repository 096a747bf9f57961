import type { IncomingHttpHeaders } from 'node:http';
import { S3Error } from './deps.ts';

export interface Validators {
  /** Unquoted. */
  etag: string;
  mtimeNs: bigint;
}

export type ConditionOutcome = 'proceed' | 'not-modified' | 'failed';

/** HTTP dates carry seconds; Last-Modified is compared at that resolution. */
const seconds = (ns: bigint) => Number(ns / 1_000_000_000n);

/** Whether an If-Match / If-None-Match list (quoted, weak or `*`) names the ETag (unquoted). */
export function etagMatches(list: string, etag: string): boolean {
  for (const raw of list.split(',')) {
    const t = raw.trim().replace(/^W\//, '');
    if (t === '*' || t.replace(/^"|"$/g, '') === etag) return true;
  }
  return false;
}

function date(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.floor(t / 1000);
}

/**
 * RFC 9110 §13.2.2 order, as S3 applies it: If-Match, else If-Unmodified-Since (412); then
 * If-None-Match, else If-Modified-Since (304 for GET/HEAD). Unparseable dates are ignored.
 */
export function evaluate(
  v: Validators,
  c: { ifMatch?: string; ifNoneMatch?: string; ifModifiedSince?: string; ifUnmodifiedSince?: string },
): ConditionOutcome {
  const mtime = seconds(v.mtimeNs);
  if (c.ifMatch !== undefined) {
    if (!etagMatches(c.ifMatch, v.etag)) return 'failed';
  } else {
    const ius = date(c.ifUnmodifiedSince);
    if (ius !== undefined && mtime > ius) return 'failed';
  }
  if (c.ifNoneMatch !== undefined) {
    if (etagMatches(c.ifNoneMatch, v.etag)) return 'not-modified';
  } else {
    const ims = date(c.ifModifiedSince);
    if (ims !== undefined && mtime <= ims) return 'not-modified';
  }
  return 'proceed';
}

const one = (h: IncomingHttpHeaders, n: string) => {
  const v = h[n];
  return Array.isArray(v) ? v.join(',') : v;
};

export function requestConditions(h: IncomingHttpHeaders) {
  return {
    ifMatch: one(h, 'if-match'),
    ifNoneMatch: one(h, 'if-none-match'),
    ifModifiedSince: one(h, 'if-modified-since'),
    ifUnmodifiedSince: one(h, 'if-unmodified-since'),
  };
}

/** x-amz-copy-source-if-*: every failure is 412 for a copy. */
export function checkCopySourceConditions(h: IncomingHttpHeaders, v: Validators): void {
  const outcome = evaluate(v, {
    ifMatch: one(h, 'x-amz-copy-source-if-match'),
    ifNoneMatch: one(h, 'x-amz-copy-source-if-none-match'),
    ifModifiedSince: one(h, 'x-amz-copy-source-if-modified-since'),
    ifUnmodifiedSince: one(h, 'x-amz-copy-source-if-unmodified-since'),
  });
  if (outcome !== 'proceed') throw preconditionFailed('x-amz-copy-source-If-*');
}

export function preconditionFailed(condition: string): S3Error {
  return new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
    Condition: condition,
  });
}
