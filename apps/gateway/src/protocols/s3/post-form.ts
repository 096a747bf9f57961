import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { Busboy } from '@fastify/busboy';
import { S3Error } from './errors.ts';

/** S3 caps a POST form's fields (everything but the file) at 20 KB. */
export const MAX_FORM_FIELD_BYTES = 20 * 1024;

export interface PostForm {
  /** The fields before the file, names lower-cased (form field names are case-insensitive). */
  fields: Map<string, string>;
  /** The file part's name as the browser gave it (for `${filename}` in the key). */
  filename: string;
  /** Its Content-Type as the browser gave it; a `Content-Type` field overrides it. */
  fileType: string;
  /** The file's bytes, streamed as they arrive. */
  file: Readable;
}

const invalid = (message: string) => new S3Error('InvalidArgument', message);

export function isMultipartForm(contentType: string | undefined): boolean {
  return contentType !== undefined && /^multipart\/form-data\s*;/i.test(contentType);
}

/**
 * Reads a multipart/form-data POST up to its file (which S3 requires to be the last field)
 * and resolves with the fields and the file as a stream; fields after the file are ignored,
 * as S3 ignores them. A form without a file, with more than 20 KB of fields, or that is not
 * multipart at all is InvalidArgument (MalformedPOSTRequest in S3's words).
 */
export function readPostForm(req: IncomingMessage): Promise<PostForm> {
  return new Promise((resolve, reject) => {
    let bb: ReturnType<typeof Busboy>;
    try {
      bb = Busboy({
        headers: req.headers as Parameters<typeof Busboy>[0]['headers'],
        limits: { files: 1, fieldSize: MAX_FORM_FIELD_BYTES, fields: 200, parts: 210 },
      });
    } catch (e) {
      reject(
        invalid(
          `The body of your POST request is not well-formed multipart/form-data: ${(e as Error).message}`,
        ),
      );
      return;
    }
    const fields = new Map<string, string>();
    let fieldBytes = 0;
    let settled = false;
    const fail = (e: S3Error) => {
      if (settled) return;
      settled = true;
      req.unpipe(bb);
      req.resume();
      reject(e);
    };
    bb.on('field', (name, value, _nameTruncated, valueTruncated) => {
      if (settled) return;
      fieldBytes += name.length + value.length;
      if (valueTruncated || fieldBytes > MAX_FORM_FIELD_BYTES)
        return fail(new S3Error('MaxMessageLengthExceeded', 'Your POST form fields exceed 20 KB.'));
      const key = name.toLowerCase();
      if (key === 'file') return;
      fields.set(key, value);
    });
    bb.on('file', (name, stream, filename, _encoding, mimeType) => {
      if (settled || name.toLowerCase() !== 'file') {
        stream.resume();
        return;
      }
      settled = true;
      // A body cut short, or framing broken inside the file, fails the file's reader.
      const cut = (why: string) => {
        if (!stream.readableEnded) stream.destroy(new S3Error('IncompleteBody', why));
      };
      req.once('close', () => {
        if (!req.complete) cut('The request body ended before the form did.');
      });
      bb.on('error', (e: Error) => cut(`The form broke off: ${e.message}`));
      resolve({ fields, filename: filename ?? '', fileType: mimeType, file: stream });
    });
    bb.on('error', (e: Error) =>
      fail(invalid(`The body of your POST request is not well-formed multipart/form-data: ${e.message}`)),
    );
    bb.on('finish', () => fail(invalid('POST requires exactly one file upload per request.')));
    req.pipe(bb);
  });
}
