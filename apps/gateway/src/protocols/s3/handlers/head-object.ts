import type { S3Call, S3Reply } from '../context.ts';
import { openObject } from './object-read.ts';

/** HEAD /bucket/key — GET's headers, no body. */
export async function headObject(call: S3Call): Promise<S3Reply> {
  const o = await openObject(call);
  if (o.notModified) return { status: 304, headers: o.headers };
  o.headers['content-length'] = String(o.size);
  return { headers: o.headers };
}
