import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import type { Protocol } from '../../src/config/types.ts';
import { Gateway } from '../../src/daemon/gateway.ts';
import { createLogger } from '../../src/daemon/logger.ts';
import { freePorts } from '../support/ports.ts';
import { type RunResult, runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools, toolPath } from '../support/tools.ts';

export interface SmbGateway {
  gw: Gateway;
  dir: string;
  port: number;
  opsPort: number;
  s3Port: number;
  nfsPort: number;
  mountPort: number;
  configFile: string;
  /** A user with a password (and so an NT hash). */
  user(
    name: string,
    password: string,
    opts?: { uid?: number; groups?: string[] },
  ): Promise<{ uid: number; gid: number }>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Extra share entries (YAML flow mappings), after the default `export` share on /export. */
  shares?: string[];
  requireSigning?: boolean;
  /** More keys of the smb section, as YAML flow-mapping entries ("durable_handle_timeout: 2s"). */
  smbExtra?: string;
  protocols?: Protocol[];
  /** `smb.bind` (host:port), for clients that only dial port 445; else 127.0.0.1 on a free port. */
  smbBind?: string;
  extraYaml?: string;
  logLevel?: string;
  /** `node.name` (gw-smb): what Bonjour announces, where two test files must differ. */
  nodeName?: string;
  /** The gateway's logger (a test reading its lines); else one at logLevel on stdout. */
  log?: Logger;
}

/** A gateway serving SMB (and optionally S3/NFS), started in this process on free 127.0.0.1 ports. */
export async function startSmbGateway(o: StartOptions = {}): Promise<SmbGateway> {
  const dir = makeTempDir('smb');
  const [nfs, mount, s3, smb, ops] = (await freePorts(5)) as [number, number, number, number, number];
  const protocols = o.protocols ?? ['smb'];
  const shares = ['{ name: export, path: /export }', ...(o.shares ?? [])].join(', ');
  const file = join(dir, 'gateway.yaml');
  writeFileSync(
    file,
    `node: { name: ${o.nodeName ?? 'gw-smb'}, state_dir: ${dir}/state }
log_level: ${o.logLevel ?? 'error'}
nfs: { enabled: ${protocols.includes('nfs')}, bind: 127.0.0.1:${nfs}, mount_bind: 127.0.0.1:${mount}, exports: [{ path: /export }] }
s3: { enabled: ${protocols.includes('s3')}, bind: 127.0.0.1:${s3}, root: /export }
smb: { bind: ${o.smbBind ?? `127.0.0.1:${smb}`}, domain: CLAUDEFS, workgroup: CLAUDEFS, require_signing: ${o.requireSigning ?? false}, shares: [${shares}]${o.smbExtra ? `, ${o.smbExtra}` : ''} }
health: { bind: 127.0.0.1:${ops}, probe_interval: 1h }
${o.extraYaml ?? ''}
`,
  );
  const { config, problems } = await loadConfig(file, { tls: 'warning' });
  if (!config) throw new Error(`bad test config: ${JSON.stringify(problems)}`);
  const gw = new Gateway(
    config,
    protocols,
    o.log ?? createLogger((o.logLevel ?? 'error') as 'error', { pretty: false }),
  );
  await gw.start();
  let nextUid = 3000;
  return {
    gw,
    dir,
    port: o.smbBind ? Number(o.smbBind.split(':').pop()) : smb,
    opsPort: ops,
    s3Port: s3,
    nfsPort: nfs,
    mountPort: mount,
    configFile: file,
    async user(name, password, opts = {}) {
      const u = await gw.control.users.add({
        name,
        password,
        uid: opts.uid ?? nextUid++,
        groups: opts.groups,
      });
      return { uid: u.uid, gid: u.gid };
    },
    stop: () => gw.stop(),
  };
}

/** Writes the gateway's file anew and reloads it, as SIGHUP would; a file with problems throws. */
export async function reloadWith(g: SmbGateway, text: string): Promise<void> {
  writeFileSync(g.configFile, text);
  const { config, problems } = await loadConfig(g.configFile, { tls: 'warning' });
  if (!config) throw new Error(`the reloaded file has problems: ${JSON.stringify(problems)}`);
  await g.gw.reload(config);
}

/** An AWS SDK S3 client of the gateway, with a new key of `user` (path-style, no retries). */
export async function s3ClientOf(g: SmbGateway, user: string): Promise<S3Client> {
  const key = await g.gw.control.s3Keys.create(user);
  return new S3Client({
    endpoint: `http://127.0.0.1:${g.s3Port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secret },
    maxAttempts: 1,
  });
}

/** smbclient against the gateway: `-c` commands, extra options, the exit status and output. */
export async function smbclient(
  g: SmbGateway,
  auth: string,
  args: { share?: string; commands?: string; options?: string[]; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const bin = toolPath('smbclient') ?? 'smbclient';
  const target = args.share === undefined ? ['-L', '//127.0.0.1'] : [`//127.0.0.1/${args.share}`];
  const cmd = args.commands === undefined ? [] : ['-c', args.commands];
  return runCommand(bin, ['-p', String(g.port), ...target, '-U', auth, ...(args.options ?? []), ...cmd], {
    cwd: args.cwd,
    timeoutMs: args.timeoutMs ?? 60_000,
    env: { HOME: args.cwd ?? g.dir },
  });
}

/**
 * Samba's smbcquotas and smbcacls dial port 445 (or 139) and nothing else: their tests run a
 * gateway on 445, which takes root — CI runs as root; elsewhere they are skipped.
 */
export function requirePort445(...tools: string[]): { skip?: string } {
  if (process.getuid?.() !== 0)
    return {
      skip: 'Samba’s smbcquotas and smbcacls dial port 445 only: binding it takes root (CI runs as root)',
    };
  return requireTools(...tools);
}

export interface Port445Gateway extends SmbGateway {
  work: string;
  /** A Samba tool against //address/share (`export`): `args` follow the UNC path; as `auth` (user%password). */
  samba(tool: string, auth: string, args: readonly string[], share?: string): Promise<RunResult>;
}

/**
 * A gateway listening on `address`:445 — a loopback address each test file keeps to itself, so
 * files run side by side — and a blank smb.conf for Samba's tools.
 */
export async function startPort445Gateway(address: string, o: StartOptions = {}): Promise<Port445Gateway> {
  const g = await startSmbGateway({ ...o, smbBind: `${address}:445` });
  const work = makeTempDir('smb-445');
  const conf = join(work, 'smb.conf');
  writeFileSync(conf, '[global]\n');
  return {
    ...g,
    work,
    samba: (tool, auth, args, share = 'export') =>
      runCommand(toolPath(tool) ?? tool, [`//${address}/${share}`, ...args, '-s', conf, '-U', auth], {
        cwd: work,
        env: { HOME: work },
        timeoutMs: 60_000,
      }),
  };
}
