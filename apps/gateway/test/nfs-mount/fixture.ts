import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { Gateway } from '../../src/daemon/gateway.ts';
import { createLogger, type Logger } from '../../src/daemon/logger.ts';
import type { NfsServer, NfsServerOptions } from '../../src/protocols/nfs/server.ts';
import { NfsHandles } from '../../src/protocols/nfs/v3/handle.ts';
import { startUnregistered } from '../support/gateway.ts';
import { freePorts } from '../support/ports.ts';
import { makeTempDir } from '../support/tmpdir.ts';

export interface NfsGateway {
  gw: Gateway;
  dir: string;
  nfsPort: number;
  mountPort: number;
  server: NfsServer;
  /** The NFS handles the gateway's program accepts (same key, same exports). */
  handles: NfsHandles;
  /** `nfs://127.0.0.1/<path>?nfsport=…&mountport=…&version=3` for libnfs tools. */
  url(path: string, extra?: string): string;
  stop(): Promise<void>;
}

export interface NfsStartOptions {
  /** YAML list items of `nfs.exports` (default: one export, /export, for everyone). */
  exports?: string[];
  /** Server options; registration with rpcbind is off unless `portmapper` is given. */
  server?: NfsServerOptions;
  extraYaml?: string;
  logLevel?: string;
  /** The gateway's logger (default: errors only, to stdout). */
  logger?: Logger;
}

/**
 * A gateway serving NFS only, started in this process on free 127.0.0.1 ports. By default it
 * does not touch rpcbind, so test files running side by side do not overwrite each other's
 * registrations; the rpcbind test asks for it explicitly.
 */
export async function startNfsGateway(o: NfsStartOptions = {}): Promise<NfsGateway> {
  const dir = makeTempDir('nfs');
  const [nfs, mount, s3, smb, ops] = (await freePorts(5)) as [number, number, number, number, number];
  const exportsYaml = (o.exports ?? ['{ path: /export }']).join(', ');
  const file = join(dir, 'gateway.yaml');
  writeFileSync(
    file,
    `node: { name: gw-nfs, state_dir: ${dir}/state }
log_level: ${o.logLevel ?? 'error'}
nfs: { bind: 127.0.0.1:${nfs}, mount_bind: 127.0.0.1:${mount}, exports: [${exportsYaml}] }
s3: { enabled: false, bind: 127.0.0.1:${s3} }
smb: { enabled: false, bind: 127.0.0.1:${smb} }
health: { bind: 127.0.0.1:${ops}, probe_interval: 1h }
${o.extraYaml ?? ''}
`,
  );
  const { config, problems } = await loadConfig(file, { tls: 'warning' });
  if (!config) throw new Error(`bad test config: ${JSON.stringify(problems)}`);
  const gw = new Gateway(config, ['nfs'], o.logger ?? createLogger(o.logLevel ?? 'error', { pretty: false }));
  const server = await startUnregistered(gw, o.server);
  if (!server) throw new Error('the gateway did not create its NFS server');
  const handles = new NfsHandles(gw.control.secrets.nfsHandleKey, gw.ns, config.nfs.exports);
  return {
    gw,
    dir,
    nfsPort: nfs,
    mountPort: mount,
    server,
    handles,
    url: (path, extra = '') =>
      `nfs://127.0.0.1${path}?nfsport=${nfs}&mountport=${mount}&version=3${extra ? `&${extra}` : ''}`,
    stop: () => gw.stop(),
  };
}
