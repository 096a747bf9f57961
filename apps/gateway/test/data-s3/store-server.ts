import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { ObjectStoreSettings } from '../../src/config/types.ts';
import { openS3DataStore, type S3DataStore } from '../../src/storage/data/s3-blobs.ts';
import { freePort } from '../support/ports.ts';
import { type ProcessHandle, spawnProcess } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';

const STORE_PROCESS = fileURLToPath(new URL('./store-process.ts', import.meta.url));
export const BUCKET = 'cfs-data';
const KiB = 1024;
const MiB = 1024 * KiB;

/** A second gateway, in its own process, serving S3 on a loopback port: the object store under test. */
export interface StoreServer {
  endpoint: string;
  pid: number;
  /** Settings for openS3DataStore, the secret in a file as an operator would keep it. */
  settings(o?: Partial<ObjectStoreSettings>): ObjectStoreSettings;
  /** A gateway configuration's `transport:` section over the bucket, under `prefix`. */
  transportYaml(prefix: string, chunkSize?: string): string;
  /** A new S3DataStore over the bucket, under `prefix`. */
  open(prefix: string, o?: Partial<ObjectStoreSettings>): Promise<S3DataStore>;
  /** A plain SDK client with the store's key, to look at the bucket from outside. */
  client(): S3Client;
  /** SIGSTOP: the process keeps its sockets but answers nothing (a hung store). */
  pause(): void;
  resume(): void;
  /** SIGKILL, waiting until the process is gone. */
  kill(): Promise<void>;
  /** A new process over the same state and port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startStoreServer(): Promise<StoreServer> {
  const dir = makeTempDir('object-store');
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  let proc: ProcessHandle = await launch(dir, port);
  const key = JSON.parse(readFileSync(join(dir, 'key.json'), 'utf8')) as {
    accessKeyId: string;
    secretAccessKey: string;
  };
  const secretFile = join(dir, 'secret');
  writeFileSync(secretFile, `${key.secretAccessKey}\n`, { mode: 0o600 });
  const client = () =>
    new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: key,
      maxAttempts: 1,
    });
  const admin = client();
  await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));
  admin.destroy();
  const settings = (o: Partial<ObjectStoreSettings> = {}): ObjectStoreSettings => ({
    endpoint,
    region: 'us-east-1',
    accessKeyId: key.accessKeyId,
    secretAccessKeyFile: secretFile,
    forcePathStyle: true,
    chunkSize: 64 * KiB,
    cacheSize: 16 * MiB,
    writeBufferSize: 16 * MiB,
    requestTimeoutMs: 10_000,
    ...o,
  });
  return {
    endpoint,
    get pid() {
      return proc.pid;
    },
    settings,
    open: (prefix, o) =>
      openS3DataStore({ kind: 's3', url: `s3://${BUCKET}/${prefix}`, bucket: BUCKET, prefix }, settings(o)),
    client,
    transportYaml: (prefix, chunkSize = '1MiB') => {
      const s = settings();
      return `transport:
  url: "s3://${BUCKET}/${prefix}"
  endpoint: "${endpoint}"
  access_key_id: "${s.accessKeyId}"
  secret_access_key_file: "${s.secretAccessKeyFile}"
  chunk_size: ${chunkSize}`;
    },
    pause: () => process.kill(proc.pid, 'SIGSTOP'),
    // After a kill (a test that failed before restarting it) there is nothing left to resume.
    resume: () => signalIfAlive(proc.pid, 'SIGCONT'),
    async kill() {
      process.kill(proc.pid, 'SIGKILL');
      await proc.exited;
    },
    async restart() {
      proc = await launch(dir, port);
    },
    async stop() {
      signalIfAlive(proc.pid, 'SIGCONT');
      await proc.stop();
    },
  };
}

function signalIfAlive(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

async function launch(dir: string, port: number): Promise<ProcessHandle> {
  const proc = spawnProcess(process.execPath, ['--import', 'tsx', STORE_PROCESS, dir, String(port)], {
    name: 'object store',
  });
  await proc.waitForLine(/^ready$/, 60_000);
  return proc;
}
