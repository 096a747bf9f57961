import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import { Gateway } from '../../src/daemon/gateway.ts';
import { createLogger } from '../../src/daemon/logger.ts';
import type { S3Env } from '../../src/protocols/s3/context.ts';
import { DirectoryListings } from '../../src/protocols/s3/listing.ts';
import { UploadStore } from '../../src/protocols/s3/multipart/store.ts';
import { VersionStore } from '../../src/protocols/s3/versioning/store.ts';
import { ROOT } from '../../src/storage/types.ts';
import { freePorts } from '../support/ports.ts';
import { type RunResult, runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { toolPath } from '../support/tools.ts';

export const REGION = 'us-east-1';

export interface S3Gateway {
  gw: Gateway;
  dir: string;
  port: number;
  opsPort: number;
  /** http(s)://127.0.0.1:PORT */
  endpoint: string;
  certFile?: string;
  /** A new user with one S3 key. */
  user(
    name: string,
    opts?: { uid?: number },
  ): Promise<{ accessKeyId: string; secret: string; uid: number; gid: number }>;
  stop(): Promise<void>;
}

export interface StartOptions {
  tls?: boolean;
  publicRead?: string[];
  domain?: string;
  /** s3.cors_origins */
  corsOrigins?: string[];
  /** More keys of the s3 section, as YAML flow-mapping entries ("stale_uploads_expiry: 2s"). */
  s3Extra?: string;
  extraYaml?: string;
  maxConnections?: number;
  /** The gateway's logger (a test reading its lines); else errors only, on stdout. */
  log?: Logger;
}

/** A self-signed certificate for 127.0.0.1 / localhost (openssl). */
export function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

/** A gateway serving S3 only, started in this process on free 127.0.0.1 ports. */
export async function startS3Gateway(o: StartOptions = {}): Promise<S3Gateway> {
  const dir = makeTempDir('s3');
  const [nfs, mount, s3, smb, ops] = (await freePorts(5)) as [number, number, number, number, number];
  const tls = o.tls ? selfSignedCert(dir) : undefined;
  const s3yaml = [
    `bind: 127.0.0.1:${s3}`,
    'root: /export',
    `region: ${REGION}`,
    o.publicRead ? `public_read_buckets: [${o.publicRead.join(', ')}]` : '',
    o.domain ? `domain: ${o.domain}` : '',
    o.corsOrigins ? `cors_origins: [${o.corsOrigins.map((c) => `"${c}"`).join(', ')}]` : '',
    tls ? `tls: { cert: ${tls.cert}, key: ${tls.key} }` : '',
    o.s3Extra ?? '',
  ]
    .filter(Boolean)
    .join(', ');
  const file = join(dir, 'gateway.yaml');
  writeFileSync(
    file,
    `node: { name: gw-s3, state_dir: ${dir}/state }
log_level: ${o.log ? 'info' : 'error'}
nfs: { enabled: false, bind: 127.0.0.1:${nfs}, mount_bind: 127.0.0.1:${mount} }
s3: { ${s3yaml} }
smb: { enabled: false, bind: 127.0.0.1:${smb} }
health: { bind: 127.0.0.1:${ops}, probe_interval: 1h }
${o.maxConnections ? `limits: { max_connections: ${o.maxConnections} }\n` : ''}${o.extraYaml ?? ''}
`,
  );
  const { config, problems } = await loadConfig(file, { tls: 'warning' });
  if (!config) throw new Error(`bad test config: ${JSON.stringify(problems)}`);
  const gw = new Gateway(config, ['s3'], o.log ?? createLogger('error', { pretty: false }));
  await gw.start();
  let nextUid = 2000;
  return {
    gw,
    dir,
    port: s3,
    opsPort: ops,
    endpoint: `${tls ? 'https' : 'http'}://127.0.0.1:${s3}`,
    certFile: tls?.cert,
    async user(name, opts = {}) {
      const uid = opts.uid ?? nextUid++;
      const u = await gw.control.users.add({ name, uid });
      const k = await gw.control.s3Keys.create(name);
      return { accessKeyId: k.accessKeyId, secret: k.secret, uid: u.uid, gid: u.gid };
    },
    stop: () => gw.stop(),
  };
}

export function sdkClient(
  g: S3Gateway,
  key: { accessKeyId: string; secret: string },
  extra: Record<string, unknown> = {},
): S3Client {
  return new S3Client({
    endpoint: g.endpoint,
    region: REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secret },
    maxAttempts: 1,
    ...extra,
  });
}

/**
 * Debian's aws CLI v2 with an empty HOME, the key in the environment, and our endpoint: each
 * call answers what the command printed and its exit status (a failure is the test's to judge).
 */
export function awsCliRun(g: S3Gateway, key: { accessKeyId: string; secret: string }, home: string) {
  const tls = g.certFile ? ['--ca-bundle', g.certFile] : [];
  return (...args: string[]): Promise<RunResult> =>
    runCommand(
      toolPath('aws') ?? '/usr/bin/aws',
      ['--endpoint-url', g.endpoint, ...tls, '--no-cli-pager', ...args],
      {
        env: {
          HOME: home,
          AWS_EC2_METADATA_DISABLED: 'true',
          AWS_ACCESS_KEY_ID: key.accessKeyId,
          AWS_SECRET_ACCESS_KEY: key.secret,
          AWS_DEFAULT_REGION: REGION,
          AWS_CONFIG_FILE: join(home, 'none'),
          AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'),
        },
        timeoutMs: 120_000,
      },
    );
}

/** The aws CLI as awsCliRun, throwing unless it exits 0; answers its standard output. */
export function awsCli(g: S3Gateway, key: { accessKeyId: string; secret: string }, home: string) {
  const run = awsCliRun(g, key, home);
  return async (...args: string[]): Promise<string> => {
    const r = await run(...args);
    if (r.code !== 0) throw new Error(`aws ${args.join(' ')} exited ${r.code}: ${r.output.slice(-2000)}`);
    return r.stdout;
  };
}

/** s3cmd as the given key, path style over plain HTTP, no config file; every exit status is the caller's. */
export function s3cmdRunner(g: S3Gateway, k: { accessKeyId: string; secret: string }, home: string) {
  const host = `127.0.0.1:${g.port}`;
  return (...args: string[]) =>
    runCommand(
      toolPath('s3cmd') ?? 's3cmd',
      [
        `--access_key=${k.accessKeyId}`,
        `--secret_key=${k.secret}`,
        `--host=${host}`,
        `--host-bucket=${host}`,
        '--no-ssl',
        '-c',
        '/dev/null',
        ...args,
      ],
      { env: { HOME: home }, timeoutMs: 60_000 },
    );
}

/** The running gateway's S3 namespace as a lifecycle sweeper (on another clock) sees it. */
export async function s3EnvOf(g: S3Gateway): Promise<S3Env> {
  const { ns } = g.gw;
  return {
    ns,
    config: g.gw.config.s3,
    log: g.gw.log,
    rootIno: (await ns.resolvePath(ROOT, '/export')).ino,
    uploads: await UploadStore.open(ns),
    versions: await VersionStore.open(ns),
    listings: new DirectoryListings(ns),
  };
}

/** The S3 error a call fails with (its code, status and message); throws if it succeeds. */
export async function s3Error(
  p: Promise<unknown>,
): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await p;
  } catch (e) {
    // The SDK's modelled errors are S3ServiceExceptions; an operation's unmodelled ones (an
    // AccessDenied of PutObjectAcl) are its protocol's base exception: both carry $metadata.
    if (e instanceof S3ServiceException || (e instanceof Error && '$metadata' in e)) {
      const m = (e as { $metadata?: { httpStatusCode?: number } }).$metadata;
      return { name: e.name, status: m?.httpStatusCode, message: e.message };
    }
    throw e;
  }
  throw new Error('expected an S3 error');
}
