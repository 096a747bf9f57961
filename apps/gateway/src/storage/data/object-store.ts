import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { mapLimit } from '../../util/map-limit.ts';

/**
 * A failed object-store request, as the transport circuit breaker sees it: any error that is
 * not an FsError counts as a backend failure (circuit-breaker.ts backendFailure), and `code`
 * is an errno-style name so it maps like LocalBlobStore's errors do. Messages name the
 * operation and key, never credentials.
 */
export class ObjectStoreError extends Error {
  override readonly name = 'ObjectStoreError';
  constructor(
    message: string,
    readonly code: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Bytes of an object at a range, and the object's whole size (from Content-Range). */
export interface RangeRead {
  data: Buffer;
  objectSize: number;
}

export interface ListedObject {
  key: string;
  size: number;
}

/** S3's limit on keys per DeleteObjects request. */
const DELETE_BATCH = 1000;

/**
 * The few S3 requests the data store makes, each bounded by `timeoutMs` (the SDK's own retries
 * included) so a hung store fails calls instead of holding them, and each counted per HTTP
 * attempt by command name (a middleware on the client) for metrics and tests.
 */
export class ObjectStore {
  /** HTTP requests sent, by SDK command name (`GetObjectCommand`, `UploadPartCopyCommand`, …). */
  readonly requests = new Map<string, number>();

  constructor(
    readonly client: S3Client,
    readonly bucket: string,
    private readonly timeoutMs: number,
  ) {
    client.middlewareStack.add(
      (next, context) => (args) => {
        const name = context.commandName ?? 'unknown';
        this.requests.set(name, (this.requests.get(name) ?? 0) + 1);
        return next(args);
      },
      // The deserialize step runs inside the retry middleware: once per attempt.
      { step: 'deserialize', name: 'cfsRequestCount', priority: 'low' },
    );
  }

  /**
   * Bytes [start, end) of `key`. Undefined when the object does not exist (a hole, not an
   * error); an empty read when the object ends at or before `start`.
   */
  async getRange(key: string, start: number, end: number): Promise<RangeRead | undefined> {
    return this.request('GET', key, async (abortSignal) => {
      try {
        const r = await this.client.send(
          new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${start}-${end - 1}` }),
          { abortSignal },
        );
        const bytes = r.Body ? await r.Body.transformToByteArray() : new Uint8Array(0);
        const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        return { data, objectSize: objectSizeOf(r.ContentRange, start + data.length) };
      } catch (e) {
        const status = statusOf(e);
        if (status === 404) return undefined;
        // Range Not Satisfiable: the object exists and ends at or before `start`.
        if (status === 416) return { data: Buffer.alloc(0), objectSize: start };
        throw e;
      }
    });
  }

  async put(key: string, body: Buffer): Promise<void> {
    await this.request('PUT', key, (abortSignal) =>
      this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body }), { abortSignal }),
    );
  }

  async delete(key: string): Promise<void> {
    await this.request('DELETE', key, (abortSignal) =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal }),
    );
  }

  /** DeleteObjects in batches of at most 1000 keys; a key that was already gone is no error. */
  async deleteKeys(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      const first = batch[0]!;
      const r = await this.request('DELETE', `${first} (+${batch.length - 1} more)`, (abortSignal) =>
        this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
          { abortSignal },
        ),
      );
      const failed = r.Errors?.find((e) => e.Code !== 'NoSuchKey');
      if (failed) {
        throw new ObjectStoreError(
          `object store: DELETE ${failed.Key ?? '?'} failed: ${failed.Code ?? 'error'} ${failed.Message ?? ''}`.trim(),
          'EIO',
        );
      }
    }
  }

  /**
   * Pages of ListObjectsV2 under `prefix`: objects and, with a delimiter, common prefixes.
   * `maxKeys` stops after that many entries in all.
   */
  async *list(
    prefix: string,
    o: { startAfter?: string; delimiter?: string; maxKeys?: number } = {},
  ): AsyncIterable<{ objects: ListedObject[]; prefixes: string[] }> {
    let token: string | undefined;
    let left = o.maxKeys ?? Number.POSITIVE_INFINITY;
    do {
      const r = await this.request('LIST', prefix, (abortSignal) =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            Delimiter: o.delimiter,
            StartAfter: token === undefined ? o.startAfter : undefined,
            ContinuationToken: token,
            MaxKeys: Math.min(1000, left),
          }),
          { abortSignal },
        ),
      );
      const objects = (r.Contents ?? []).map((c) => ({ key: c.Key ?? '', size: c.Size ?? 0 }));
      const prefixes = (r.CommonPrefixes ?? []).map((p) => p.Prefix ?? '');
      left -= objects.length + prefixes.length;
      yield { objects, prefixes };
      token = r.IsTruncated && left > 0 ? r.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /**
   * One object assembled server-side from parts: each part is either bytes to upload or a
   * range of an existing object to copy (UploadPartCopy), made when its turn comes so at most
   * `concurrency` parts are in memory. Parts other than the last must be at least 5 MiB (S3's
   * rule). A failure aborts the upload, so no parts are left behind.
   */
  async multipart(
    key: string,
    parts: ReadonlyArray<() => Promise<MultipartPiece>>,
    concurrency: number,
  ): Promise<void> {
    const created = await this.request('PUT', key, (abortSignal) =>
      this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key }), { abortSignal }),
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw new ObjectStoreError(`object store: PUT ${key}: no upload id returned`, 'EIO');
    try {
      const etags = await mapLimit(parts, concurrency, async (piece, i) =>
        this.part(key, uploadId, i + 1, await piece()),
      );
      await this.request('PUT', key, (abortSignal) =>
        this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
          }),
          { abortSignal },
        ),
      );
    } catch (e) {
      await this.request('DELETE', key, (abortSignal) =>
        this.client.send(
          new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }),
          { abortSignal },
        ),
      ).catch(() => {});
      throw e;
    }
  }

  private async part(key: string, uploadId: string, n: number, piece: MultipartPiece): Promise<string> {
    const base = { Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: n };
    const etag = await this.request('PUT', key, async (abortSignal) => {
      if ('data' in piece) {
        return (await this.client.send(new UploadPartCommand({ ...base, Body: piece.data }), { abortSignal }))
          .ETag;
      }
      const r = await this.client.send(
        new UploadPartCopyCommand({
          ...base,
          CopySource: `${this.bucket}/${piece.copyFrom.split('/').map(encodeURIComponent).join('/')}`,
          CopySourceRange: `bytes=${piece.start}-${piece.end - 1}`,
        }),
        { abortSignal },
      );
      return r.CopyPartResult?.ETag;
    });
    if (!etag) throw new ObjectStoreError(`object store: PUT ${key} part ${n}: no ETag returned`, 'EIO');
    return etag;
  }

  /** Runs one request (with the SDK's retries) under the timeout; errors become ObjectStoreErrors. */
  private async request<T>(op: string, key: string, send: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    // Aborting stops the socket; the race also ends a body read an abort would not reach.
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort.abort();
        reject(
          new ObjectStoreError(
            `object store: ${op} ${key}: no answer within ${this.timeoutMs} ms`,
            'ETIMEDOUT',
          ),
        );
      }, this.timeoutMs);
    });
    timedOut.catch(() => {});
    try {
      return await Promise.race([send(abort.signal), timedOut]);
    } catch (e) {
      if (e instanceof ObjectStoreError) throw e;
      if (abort.signal.aborted) {
        throw new ObjectStoreError(
          `object store: ${op} ${key}: no answer within ${this.timeoutMs} ms`,
          'ETIMEDOUT',
        );
      }
      throw storeError(op, key, e);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A multipart part: bytes to upload, or bytes [start, end) of an existing object to copy. */
export type MultipartPiece = { data: Buffer } | { copyFrom: string; start: number; end: number };

function statusOf(e: unknown): number | undefined {
  return e instanceof S3ServiceException ? e.$metadata.httpStatusCode : undefined;
}

/** `bytes a-b/total` → total; `fallback` when the store sent no usable Content-Range. */
function objectSizeOf(contentRange: string | undefined, fallback: number): number {
  const m = contentRange ? /\/(\d+)\s*$/.exec(contentRange) : null;
  return m ? Number(m[1]) : fallback;
}

function storeError(op: string, key: string, e: unknown): ObjectStoreError {
  if (e instanceof S3ServiceException) {
    const status = e.$metadata.httpStatusCode;
    return new ObjectStoreError(
      `object store: ${op} ${key} failed: ${e.name}${status ? ` (HTTP ${status})` : ''}: ${e.message}`,
      'EIO',
      status,
    );
  }
  const code = (e as { code?: unknown }).code;
  const message = e instanceof Error ? e.message : String(e);
  return new ObjectStoreError(
    `object store: ${op} ${key} failed: ${message}`,
    typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : 'EIO',
  );
}
