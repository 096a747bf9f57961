#!/usr/bin/env node
// `npm start`: the gateway on its embedded default — state in ./state of this checkout
// (SQLite metadata, a data folder, the control plane), every protocol server this build has,
// and the console on :3000 (CFS_NO_CONSOLE=1 for the gateway alone).
// Writes state/gateway.yaml on first run; edit it to change ports or exports.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIdPath, consoleBuildStale } from './console-build.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stateDir = process.env.CFS_STATE_DIR ?? join(root, 'state');
const configFile = join(stateDir, 'gateway.yaml');
const isRoot = process.getuid?.() === 0;
const smbPort = isRoot ? 445 : 4445;

if (!existsSync(configFile)) {
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(
    configFile,
    `# Written by \`npm start\` on first run: the embedded default (runbook ports).
node: { name: ${JSON.stringify(process.env.HOSTNAME ?? 'gw-1')}, state_dir: . }
log_level: info
nfs:
  enabled: true
  bind: 0.0.0.0:2049
  mount_bind: 0.0.0.0:20048
  exports:
    - { path: /export, clients: ["0.0.0.0/0"], access: rw, squash: root, anon_uid: 65534, anon_gid: 65534 }
s3:
  enabled: true
  bind: 0.0.0.0:9000
  region: us-east-1
  root: /export
smb:
  enabled: true
  bind: 0.0.0.0:${smbPort}${isRoot ? '' : '   # 445 needs root; this non-root setup uses 4445'}
  domain: CLAUDEFS
  workgroup: CLAUDEFS
  shares:
    - { name: export, path: /export, valid_groups: [], read_only: false }
health: { bind: 0.0.0.0:8080 }
`,
  );
  console.log(`wrote ${configFile} (embedded default; state in ${stateDir})`);
  if (!isRoot) console.log('SMB listens on port 4445: port 445 needs root.');
}

const children = [];
const stopAll = (sig) => {
  for (const c of children) if (c.exitCode === null) c.kill(sig);
};
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => stopAll(sig));
process.on('SIGHUP', () => gateway.kill('SIGHUP'));

const gateway = spawn(
  join(root, 'cfs'),
  ['gateway', 'start', '--config', configFile, ...process.argv.slice(2)],
  {
    stdio: 'inherit',
  },
);
children.push(gateway);
gateway.on('exit', (code, signal) => {
  stopAll('SIGTERM');
  process.exit(code ?? (signal ? 1 : 0));
});

// The console beside it: built on first start and whenever its sources are newer than the build
// (after a `git pull`: a minute or two), then its server (apps/web/server.mjs) on :3000.
const web = join(root, 'apps/web');
const consolePort = process.env.PORT ?? '3000';
const env = {
  ...process.env,
  NEXT_TELEMETRY_DISABLED: '1',
  PORT: consolePort,
  CFS_GATEWAY_URL: process.env.CFS_GATEWAY_URL ?? 'http://127.0.0.1:8080',
};
const startConsole = () => {
  const next = spawn(process.execPath, ['server.mjs', '-p', consolePort], {
    cwd: web,
    env,
    stdio: 'inherit',
  });
  children.push(next);
  console.log(`console listening on http://0.0.0.0:${consolePort} (gateway ${env.CFS_GATEWAY_URL})`);
};
const why = process.env.CFS_NO_CONSOLE ? undefined : consoleBuildStale(root);
if (process.env.CFS_NO_CONSOLE) {
  console.log('console not started (CFS_NO_CONSOLE)');
} else if (why === undefined) {
  startConsole();
} else {
  console.log(
    why === 'never built'
      ? 'building the console (first start; a minute or two)…'
      : `rebuilding the console (${why} changed since its last build; a minute or two)…`,
  );
  const build = spawn('npm', ['run', 'build', '-w', '@claudefs/web'], {
    cwd: root,
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(build);
  build.on('exit', (code) => {
    if (code === 0 && existsSync(buildIdPath(root))) startConsole();
    else console.log('the console did not build; the gateway keeps running (see the errors above)');
  });
}
