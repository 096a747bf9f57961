import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';
import { REGION, type S3Gateway } from './fixture.ts';

const bytes = (d: string | ArrayBuffer | ArrayBufferView): string | Buffer =>
  typeof d === 'string'
    ? d
    : ArrayBuffer.isView(d)
      ? Buffer.from(d.buffer, d.byteOffset, d.byteLength)
      : Buffer.from(d);

/** node:crypto in the shape @smithy/signature-v4 asks for. */
class Sha256 {
  private readonly h;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {}
}

export interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RawRequest {
  method: string;
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** A request signed with SigV4 (the reference signer), sent over plain HTTP. */
export async function signed(
  g: S3Gateway,
  key: { accessKeyId: string; secret: string },
  r: RawRequest,
): Promise<RawReply> {
  const signer = new SignatureV4({
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secret },
    region: REGION,
    service: 's3',
    sha256: Sha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const body = r.body ?? '';
  const headers: Record<string, string> = {
    host: `127.0.0.1:${g.port}`,
    'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
    ...(r.headers ?? {}),
  };
  const req = await signer.sign({
    method: r.method,
    protocol: 'http:',
    hostname: '127.0.0.1',
    port: g.port,
    path: r.path,
    query: r.query ?? {},
    headers,
    body,
  });
  const qs = new URLSearchParams(r.query ?? {}).toString().replace(/\+/g, '%20');
  return send(g.port, {
    method: r.method,
    path: qs ? `${r.path}?${qs}` : r.path,
    headers: req.headers as Record<string, string>,
    body,
  });
}

export function send(
  port: number,
  r: {
    method: string;
    path: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    /** The client's address (127.0.0.2: another machine, as far as the server can tell). */
    localAddress?: string;
  },
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: r.method,
        path: r.path,
        headers: r.headers,
        agent: false,
        localAddress: r.localAddress,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(r.body);
  });
}

/** Writes raw bytes on a fresh connection and collects everything until the server closes (or timeout). */
export function rawExchange(
  port: number,
  bytes: string | Buffer,
  opts: { endAfterWrite?: boolean; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = () => resolve(Buffer.concat(chunks).toString('latin1'));
    const timer = setTimeout(() => {
      s.destroy();
      done();
    }, opts.timeoutMs ?? 3000);
    s.on('data', (c) => chunks.push(c));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      done();
    });
    s.write(bytes, () => {
      if (opts.endAfterWrite) s.end();
    });
  });
}

/** A request head signed for UNSIGNED-PAYLOAD, to write on a raw socket. */
export async function signHead(
  g: S3Gateway,
  key: { accessKeyId: string; secret: string },
  method: string,
  path: string,
  headers: Record<string, string>,
): Promise<string> {
  const signer = new SignatureV4({
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secret },
    region: REGION,
    service: 's3',
    sha256: Sha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const h = { host: `127.0.0.1:${g.port}`, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...headers };
  const req = await signer.sign({
    method,
    protocol: 'http:',
    hostname: '127.0.0.1',
    port: g.port,
    path,
    query: {},
    headers: h,
  });
  const lines = Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`);
  return `${method} ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}

export const xmlCode = (body: string) => /<Code>([^<]+)<\/Code>/.exec(body)?.[1];
