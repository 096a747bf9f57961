/**
 * This project's own S3 gateway run as a plain object store for the S3DataStore tests, in a
 * process of its own so a test can stop it (SIGSTOP), kill it and start it again. Arguments:
 * <dir> <s3 port>. The first start makes a user and an S3 key and writes the key to
 * <dir>/key.json; later starts over the same <dir> keep them. Prints `ready` once serving.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { Gateway } from '../../src/daemon/gateway.ts';
import { createLogger } from '../../src/daemon/logger.ts';
import { freePorts } from '../support/ports.ts';

const [dir, s3Port] = process.argv.slice(2) as [string, string];
const [nfs, mount, smb, ops] = (await freePorts(4)) as [number, number, number, number];
const file = join(dir, 'store.yaml');
writeFileSync(
  file,
  `node: { name: object-store, state_dir: ${dir}/state }
log_level: error
nfs: { enabled: false, bind: 127.0.0.1:${nfs}, mount_bind: 127.0.0.1:${mount} }
s3: { bind: 127.0.0.1:${s3Port}, root: /export, region: us-east-1 }
smb: { enabled: false, bind: 127.0.0.1:${smb} }
health: { bind: 127.0.0.1:${ops}, probe_interval: 1h }
`,
);
const { config, problems } = await loadConfig(file, { tls: 'warning' });
if (!config) throw new Error(`bad store config: ${JSON.stringify(problems)}`);
const gw = new Gateway(config, ['s3'], createLogger('error', { pretty: false }));
await gw.start();
const keyFile = join(dir, 'key.json');
if (!existsSync(keyFile)) {
  await gw.control.users.add({ name: 'store', uid: 2000 });
  const k = await gw.control.s3Keys.create('store');
  writeFileSync(keyFile, JSON.stringify({ accessKeyId: k.accessKeyId, secretAccessKey: k.secret }));
}
process.stdout.write('ready\n');
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    gw.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
