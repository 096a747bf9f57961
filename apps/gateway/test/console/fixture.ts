/// <reference lib="dom" />
import { equal } from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { consoleBuildStale } from '../../../../scripts/console-build.mjs';
import { launchChromium } from '../support/chromium.ts';
import { freePorts } from '../support/ports.ts';
import { type ProcessHandle, runCommand, spawnProcess } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';

/**
 * One gateway, one console server and one headless Chromium for the console tests. The console
 * is built only when its build is missing or older than its sources.
 */
export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const CFS = join(ROOT, 'cfs');
export const WEB = join(ROOT, 'apps', 'web');
export const SHOTS = join(ROOT, 'test-output', 'console');

export const ALICE_PW = 'alice-Console-pw-1';
export const VAL_PW = 'val-Console-pw-1';
const ADMIN_PW = 'admin-Console-pw-1';

export interface ConsoleFixture {
  dir: string;
  /** The gateway's config file: `./cfs … --config` reaches this gateway. */
  config: string;
  /** Replaced when a test restarts the gateway. */
  gw: ProcessHandle;
  web: ProcessHandle;
  browser: Browser;
  /** Signed in as alice (admin). */
  ctx: BrowserContext;
  page: Page;
  /** The console's origin. */
  base: string;
  s3Endpoint: string;
  /** SMB on 127.0.0.1 (share `export`); alice logs on with ALICE_PW. */
  smbPort: number;
  aliceUid: number;
  aliceKey: { AccessKeyId: string; SecretAccessKey: string };
  /** Console errors and page errors of every watched page. */
  consoleErrors: string[];
  /** Every tRPC call a watched page makes, `GET quotas.list`. */
  trpcCalls: string[];
  watch(p: Page): void;
  signIn(p: Page, user: string, password: string): Promise<void>;
  /** `./cfs … --config <this gateway's file>`; fails the test on a non-zero exit. */
  cfs(...args: string[]): Promise<string>;
  /** Starts the gateway on the same file and ports (after a stop). */
  startGateway(): Promise<ProcessHandle>;
  newContext(options?: { width?: number; dark?: boolean }): Promise<BrowserContext>;
}

/** Held (a folder naming its holder's PID) while one test process checks and builds the console. */
const BUILD_LOCK = join(WEB, '.next.build-lock');

/** The lock's holder is gone (killed mid-build): nobody will release it. */
function lockAbandoned(): boolean {
  try {
    process.kill(Number(readFileSync(join(BUILD_LOCK, 'pid'), 'utf8')), 0);
    return false;
  } catch (e) {
    // No pid file yet (the holder is between mkdir and write) counts as held.
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Builds the console unless its build is newer than every source it comes from. Test files run
 * in parallel processes: the lock makes the second one wait for the first one's build (then find
 * it current) instead of running `next build` over the same .next folder at the same time.
 */
export async function ensureBuilt(): Promise<void> {
  for (;;) {
    try {
      mkdirSync(BUILD_LOCK);
      writeFileSync(join(BUILD_LOCK, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (lockAbandoned()) rmSync(BUILD_LOCK, { recursive: true, force: true });
      else await sleep(500);
    }
  }
  try {
    await buildIfStale();
  } finally {
    rmSync(BUILD_LOCK, { recursive: true, force: true });
  }
}

async function buildIfStale(): Promise<void> {
  if (consoleBuildStale(ROOT) === undefined) return;
  const r = await runCommand('npm', ['run', 'build'], {
    cwd: WEB,
    env: { NEXT_TELEMETRY_DISABLED: '1' },
    timeoutMs: 240_000,
  });
  if (r.code !== 0) throw new Error(`next build failed:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
}

/** The built console's server on 127.0.0.1:`port`, proxying to the gateway at `gatewayUrl`. */
export async function startNext(gatewayUrl: string, port: number): Promise<ProcessHandle> {
  const web = spawnProcess(process.execPath, ['server.mjs', '-p', String(port), '-H', '127.0.0.1'], {
    name: 'console server',
    cwd: WEB,
    env: { CFS_GATEWAY_URL: gatewayUrl, NEXT_TELEMETRY_DISABLED: '1', PORT: String(port) },
  });
  await web.waitForLine(/console ready on/, 30_000);
  return web;
}

export async function startConsole(): Promise<ConsoleFixture> {
  mkdirSync(SHOTS, { recursive: true });
  const building = ensureBuilt();
  const dir = makeTempDir('console');
  const [ops, s3, webPort, smb] = (await freePorts(4)) as [number, number, number, number];
  const config = join(dir, 'gateway.yaml');
  writeFileSync(
    config,
    `node: { state_dir: ${dir}/state }
nfs: { enabled: false }
smb: { bind: 127.0.0.1:${smb}, shares: [{ name: export, path: /export }] }
s3: { bind: 127.0.0.1:${s3}, root: /export, region: us-east-1, lifecycle_interval: 0 }
health: { bind: 127.0.0.1:${ops}, probe_interval: 1s }
`,
  );
  const startGateway = async () => {
    const gw = spawnProcess(CFS, ['gateway', 'start', '--config', config], {
      name: 'gateway',
      env: { CFS_ADMIN_PASSWORD: ADMIN_PW },
    });
    await gw.waitForLine(/gateway started/, 60_000);
    return gw;
  };
  const cfs = async (...args: string[]) => {
    const r = await runCommand(CFS, [...args, '--config', config], { timeoutMs: 60_000 });
    equal(r.code, 0, `./cfs ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const gw = await startGateway();
  const addUser = async (name: string, role: string, password: string) => {
    const r = await runCommand(
      CFS,
      ['user', 'add', name, '--role', role, '--password-stdin', '--config', config],
      { input: `${password}\n` },
    );
    equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  const aliceUid = Number(/uid (\d+)/.exec(await addUser('alice', 'admin', ALICE_PW))?.[1]);
  await addUser('val', 'viewer', VAL_PW);
  const aliceKey = JSON.parse(await cfs('user', 'key', 'create', 'alice', '--json'));

  await building;
  const base = `http://127.0.0.1:${webPort}`;
  const web = await startNext(`http://127.0.0.1:${ops}`, webPort);

  const browser = await launchChromium();
  const consoleErrors: string[] = [];
  const trpcCalls: string[] = [];
  const watch = (p: Page) => {
    p.on('console', (m) => {
      // The message's own location names the request when Chromium logs a failed load.
      if (m.type() === 'error') consoleErrors.push(`${p.url()}: ${m.text()} (at ${m.location().url || '?'})`);
    });
    p.on('pageerror', (e) => consoleErrors.push(`${p.url()}: ${e.message}`));
    p.on('request', (r) => {
      const u = new URL(r.url());
      if (u.pathname.startsWith('/api/trpc/')) trpcCalls.push(`${r.method()} ${u.pathname.slice(10)}`);
    });
  };
  const signIn = async (p: Page, user: string, password: string) => {
    await p.goto(`${base}/`);
    await p.locator('input[name="username"]').fill(user);
    await p.locator('input[type="password"]').fill(password);
    await p.locator('input[type="password"]').press('Enter');
    await p.locator('nav[aria-label="Console"]').waitFor({ timeout: 15_000 });
  };
  const newContext = ({ width = 1280, dark = false }: { width?: number; dark?: boolean } = {}) =>
    browser.newContext({ viewport: { width, height: 900 }, colorScheme: dark ? 'dark' : 'light' });
  const ctx = await newContext();
  const page = await ctx.newPage();
  watch(page);
  return {
    dir,
    config,
    gw,
    web,
    browser,
    ctx,
    page,
    base,
    s3Endpoint: `http://127.0.0.1:${s3}`,
    smbPort: smb,
    aliceUid,
    aliceKey,
    consoleErrors,
    trpcCalls,
    watch,
    signIn,
    cfs,
    startGateway,
    newContext,
  };
}

export async function stopConsole(fx: Partial<ConsoleFixture>): Promise<void> {
  await fx.browser?.close().catch(() => {});
  await fx.web?.stop();
  await fx.gw?.stop();
}
