import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { checkTlsPair, type TlsFinding } from '../../config/tls-check.ts';
import type { ConfiguredCertificate } from './status.ts';

/** `POST /admin/certs`: PEM text as an operator pastes it. */
export interface UploadedPair {
  cert: string;
  key: string;
}

export type InstallOutcome =
  | { installed: true; findings: TlsFinding[] }
  | { installed: false; findings: TlsFinding[] };

/** The uploaded body's shape, or why it is not one. */
export function parseUpload(body: unknown): UploadedPair | string {
  if (typeof body !== 'object' || body === null) return 'body must be JSON {"cert": "<PEM>", "key": "<PEM>"}';
  const { cert, key } = body as Record<string, unknown>;
  if (typeof cert !== 'string' || cert.trim() === '') return '"cert" must be the certificate as PEM text';
  if (typeof key !== 'string' || key.trim() === '') return '"key" must be the private key as PEM text';
  return { cert, key };
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** `path` copied to `path.previous`, with its mode (a key stays readable by its owner only). */
function keepPrevious(path: string): void {
  let text: Buffer;
  let mode: number;
  try {
    text = readFileSync(path);
    mode = statSync(path).mode & 0o777;
  } catch {
    return; // Nothing there yet.
  }
  rmSync(`${path}.previous`, { force: true });
  const fd = openSync(`${path}.previous`, 'wx', mode);
  try {
    writeFileSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Written beside `target` (same file system, so rename replaces it atomically) with its mode. */
function writeBeside(target: string, text: string, defaultMode: number): string {
  let mode = defaultMode;
  try {
    mode = statSync(target).mode & 0o777;
  } catch {
    // No file yet: the default mode.
  }
  const temp = `${target}.upload-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = openSync(temp, 'wx', mode);
  try {
    writeFileSync(fd, text.endsWith('\n') ? text : `${text}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return temp;
}

/**
 * Validates an uploaded pair with the checks `gateway start` applies and, only when none is an
 * error, puts it at the configured paths: each file is written beside its target, synced and
 * renamed over it, key first, the pair it replaces kept as `.previous`. A refused pair leaves
 * nothing behind. Warnings (no SAN, expiring soon) do not refuse it; they are returned.
 */
export function installPair(target: ConfiguredCertificate, upload: UploadedPair): InstallOutcome {
  if (target.cert === target.key) {
    const message = `${target.name}.cert and .key name one file (${target.cert}): upload needs two files`;
    return { installed: false, findings: [{ file: 'cert', severity: 'error', message }] };
  }
  const temps: string[] = [];
  try {
    const tempKey = writeBeside(target.key, upload.key, 0o600);
    temps.push(tempKey);
    const tempCert = writeBeside(target.cert, upload.cert, 0o644);
    temps.push(tempCert);
    const findings = checkTlsPair(tempCert, tempKey, target.domain ? { domain: target.domain } : {}).map(
      (f) => ({
        ...f,
        message: f.message
          .replaceAll(`private key ${tempKey}`, 'the uploaded key')
          .replaceAll(`certificate ${tempCert}`, 'the uploaded certificate')
          .replaceAll(tempKey, 'the uploaded key')
          .replaceAll(tempCert, 'the uploaded certificate'),
      }),
    );
    if (findings.some((f) => f.severity === 'error')) return { installed: false, findings };
    // The pair it replaces stays beside it (`.previous`), to go back with two `mv`s.
    keepPrevious(target.key);
    keepPrevious(target.cert);
    renameSync(tempKey, target.key);
    renameSync(tempCert, target.cert);
    temps.length = 0;
    for (const dir of new Set([dirname(target.key), dirname(target.cert)])) fsyncPath(dir);
    return { installed: true, findings };
  } finally {
    for (const t of temps) rmSync(t, { force: true });
  }
}
