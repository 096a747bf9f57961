import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Debian package(s) that provide each tool, as named in /work/shared/PEERS.md. */
export const TOOL_PACKAGES: Readonly<Record<string, readonly string[]>> = {
  smbclient: ['smbclient'],
  smbtorture: ['samba-testsuite'],
  smbd: ['samba'],
  smbpasswd: ['samba'],
  'avahi-daemon': ['avahi-daemon'],
  'avahi-browse': ['avahi-utils'],
  'dbus-daemon': ['dbus-daemon'],
  'nfs-ls': ['libnfs-utils'],
  'nfs-cp': ['libnfs-utils'],
  'nfs-cat': ['libnfs-utils'],
  rpcinfo: ['rpcbind'],
  showmount: ['nfs-common'],
  rpcbind: ['rpcbind'],
  'ganesha.nfsd': ['nfs-ganesha', 'nfs-ganesha-vfs'],
  prometheus: ['prometheus'],
  promtool: ['prometheus'],
  chromium: ['chromium'],
  initdb: ['postgresql'],
  pg_ctl: ['postgresql'],
  postgres: ['postgresql'],
  aws: ['awscli'],
  s3cmd: ['s3cmd'],
  nginx: ['nginx'],
  wrk: ['wrk'],
  hyperfine: ['hyperfine'],
  openssl: ['openssl'],
  curl: ['curl'],
  nc: ['netcat-openbsd'],
  netstat: ['net-tools'],
};

/** Tools found only at a fixed path (not searched on PATH). */
const FIXED_ONLY: Readonly<Record<string, readonly string[]>> = {
  // PATH may hold aws-cli v1 (pip); Debian's v2 is what tests are written against.
  aws: ['/usr/bin/aws'],
};

/** Fixed locations tried after PATH (sbin is often missing from a non-root PATH). */
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function postgresBinDirs(): string[] {
  try {
    return readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a))
      .map((v) => `/usr/lib/postgresql/${v}/bin`);
  } catch {
    return [];
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

const cache = new Map<string, string | undefined>();

/** Absolute path of a tool, or undefined when it is not installed. */
export function toolPath(tool: string): string | undefined {
  if (cache.has(tool)) return cache.get(tool);
  let found: string | undefined;
  const fixed = FIXED_ONLY[tool];
  if (fixed) {
    found = fixed.find(isExecutable);
  } else {
    const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
    dirs.push(...EXTRA_DIRS);
    if (['initdb', 'pg_ctl', 'postgres', 'pg_ctlcluster', 'psql'].includes(tool)) {
      dirs.push(...postgresBinDirs());
    }
    for (const dir of dirs) {
      const candidate = join(dir, tool);
      if (isExecutable(candidate)) {
        found = candidate;
        break;
      }
    }
  }
  cache.set(tool, found);
  return found;
}

/** Like toolPath but throws a message naming the Debian package when the tool is missing. */
export function mustToolPath(tool: string): string {
  const path = toolPath(tool);
  if (!path) throw new Error(`${tool} not found — ${installHint([tool])}`);
  return path;
}

function installHint(tools: string[]): string {
  const packages = new Set<string>();
  for (const tool of tools) for (const pkg of TOOL_PACKAGES[tool] ?? [tool]) packages.add(pkg);
  return `apt-get install -y ${[...packages].join(' ')}`;
}

/** True under CI (env CI set and not 0/false): tests that need a tool or root run and fail instead of skipping. */
export function ciMode(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

/**
 * Test options that skip the test when a Debian tool is missing:
 * `test('lists shares', requireTools('smbclient'), async () => { … })`.
 * Under CI (env CI set) nothing is skipped: the test runs and fails loudly.
 */
export function requireTools(...tools: string[]): { skip?: string } {
  if (ciMode()) return {};
  const missing = tools.filter((tool) => toolPath(tool) === undefined);
  if (missing.length === 0) return {};
  return { skip: `needs ${missing.join(', ')} — ${installHint(missing)}` };
}
