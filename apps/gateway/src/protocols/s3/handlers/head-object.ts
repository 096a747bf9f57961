import type { S3Call, S3Reply } from '../context.ts';
import { ranged } from './get-object.ts';
import { openObject } from './object-read.ts';

/** HEAD /bucket/key — GET's headers, no body; a Range answers as GET would (206 or 416). */
export async function headObject(call: S3Call): Promise<S3Reply> {
  const o = await openObject(call);
  if (o.notModified) return { status: 304, headers: o.headers };
  return { status: ranged(o, call).status, headers: o.headers };
}
