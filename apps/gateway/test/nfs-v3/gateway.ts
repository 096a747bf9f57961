import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import type { Protocol } from '../../src/config/types.ts';
import { Gateway } from '../../src/daemon/gateway.ts';
import { createLogger } from '../../src/daemon/logger.ts';
import { PROTOCOL_SERVERS } from '../../src/daemon/protocols.ts';
import { startUnregistered } from '../support/gateway.ts';
import { freePorts } from '../support/ports.ts';
import { runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { toolPath } from '../support/tools.ts';

export interface ClientGateway {
  gw: Gateway;
  dir: string;
  nfsPort: number;
  mountPort: number;
  s3Port: number;
  s3: boolean;
  /** The ops plane's base URL (`/metrics`, `/health`). */
  opsUrl: string;
  /** `nfs://127.0.0.1<path>?nfsport=…&mountport=…&version=3[&extra]` for libnfs. */
  url(path: string, extra?: string): string;
  stop(): Promise<void>;
}

/**
 * A gateway serving NFS — and S3 over the same namespace when this build registers an S3
 * server — on free loopback ports, not registered with rpcbind (test files run side by side).
 */
export async function startClientGateway(
  o: { exports?: string /** More YAML: other sections. */; extraYaml?: string } = {},
): Promise<ClientGateway> {
  const dir = makeTempDir('nfs3-clients');
  const [nfs, mount, s3, smb, ops] = (await freePorts(5)) as [number, number, number, number, number];
  const withS3 = PROTOCOL_SERVERS.s3 !== undefined;
  const file = join(dir, 'gateway.yaml');
  writeFileSync(
    file,
    `node: { name: gw-nfs3, state_dir: ${dir}/state }
log_level: error
nfs: { bind: 127.0.0.1:${nfs}, mount_bind: 127.0.0.1:${mount}, exports: [${o.exports ?? '{ path: /export, squash: none }'}] }
s3: { enabled: ${withS3}, bind: 127.0.0.1:${s3}, root: /export }
smb: { enabled: false, bind: 127.0.0.1:${smb} }
health: { bind: 127.0.0.1:${ops}, probe_interval: 1h }
${o.extraYaml ?? ''}
`,
  );
  const { config, problems } = await loadConfig(file, { tls: 'warning' });
  if (!config) throw new Error(`bad test config: ${JSON.stringify(problems)}`);
  const protocols: Protocol[] = withS3 ? ['nfs', 's3'] : ['nfs'];
  const gw = new Gateway(config, protocols, createLogger('error', { pretty: false }));
  await startUnregistered(gw);
  return {
    gw,
    dir,
    nfsPort: nfs,
    mountPort: mount,
    s3Port: s3,
    s3: withS3,
    opsUrl: `http://127.0.0.1:${ops}`,
    url: (path, extra = '') =>
      `nfs://127.0.0.1${path}?nfsport=${nfs}&mountport=${mount}&version=3${extra ? `&${extra}` : ''}`,
    stop: () => gw.stop(),
  };
}

const HARNESS_SOURCE = join(import.meta.dirname, 'libnfs-harness.c');

function ciMode(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

/** Like requireTools: skips (outside CI) when gcc or libnfs-dev are missing. */
export function requireLibnfsDev(): { skip?: string } {
  if (ciMode()) return {};
  const missing = [
    toolPath('gcc') ? '' : 'gcc',
    existsSync('/usr/include/nfsc/libnfs.h') ? '' : 'libnfs-dev',
  ];
  const names = missing.filter(Boolean);
  return names.length === 0
    ? {}
    : { skip: `needs ${names.join(', ')} — apt-get install -y ${names.join(' ')}` };
}

/** Compiles test/nfs-v3/libnfs-harness.c into a temp folder; resolves with the binary's path. */
export async function compileHarness(): Promise<string> {
  const out = join(makeTempDir('libnfs-harness'), 'harness');
  const r = await runCommand('gcc', ['-O2', '-Wall', '-o', out, HARNESS_SOURCE, '-lnfs', '-lpthread']);
  if (r.code !== 0) throw new Error(`gcc failed:\n${r.output}`);
  return out;
}
