/// <reference lib="dom" />
// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators, whose innerText() is the rendered text the user reads
import { equal, match, ok } from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { freePorts } from '../support/ports.ts';
import { type ProcessHandle, runCommand, spawnProcess } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools, toolPath } from '../support/tools.ts';

/**
 * The web console against a real gateway, in headless Chromium: one gateway, one `next start`,
 * one browser for the file. The console is built only when its build is missing or older than
 * its sources.
 */
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CFS = join(ROOT, 'cfs');
const WEB = join(ROOT, 'apps', 'web');
const SHOTS = join(ROOT, 'test-output', 'console');
const NEXT = join(ROOT, 'node_modules', '.bin', 'next');
const PAGES = [
  ['overview', '/'],
  ['maintenance', '/maintenance'],
  ['quotas', '/quotas'],
  ['metrics', '/metrics'],
  ['connections', '/connections'],
  ['circuits', '/circuits'],
  ['certificates', '/certificates'],
  ['users', '/users'],
  ['audit', '/audit'],
  ['runbook', '/runbook'],
] as const;
/** The budget for first-load JavaScript per route, gzip. */
const JS_BUDGET = 250 * 1024;
const ALICE_PW = 'alice-Console-pw-1';
const VAL_PW = 'val-Console-pw-1';

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry === '.next' || entry.startsWith('.')) continue;
    newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

async function ensureBuilt(): Promise<void> {
  const buildId = join(WEB, '.next', 'BUILD_ID');
  const sources = Math.max(
    ...['app', 'components', 'lib', 'env.ts', 'next.config.ts', 'package.json', 'scripts'].map((p) =>
      newestMtime(join(WEB, p)),
    ),
    newestMtime(join(ROOT, 'packages', 'ui', 'src')),
    newestMtime(join(ROOT, 'packages', 'api', 'src')),
    newestMtime(join(ROOT, 'docs', 'RUNBOOK.md')),
  );
  if (existsSync(buildId) && statSync(buildId).mtimeMs > sources) return;
  const r = await runCommand('npm', ['run', 'build'], {
    cwd: WEB,
    env: { NEXT_TELEMETRY_DISABLED: '1' },
    timeoutMs: 240_000,
  });
  if (r.code !== 0) throw new Error(`next build failed:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
}

describe('web console in Chromium', requireTools('chromium'), () => {
  let dir: string;
  let config: string;
  let gw: ProcessHandle;
  let web: ProcessHandle;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  let base: string;
  let s3Endpoint: string;
  let aliceUid: number;
  let aliceKey: { AccessKeyId: string; SecretAccessKey: string };
  const consoleErrors: string[] = [];
  /** Every tRPC call the page makes, by procedure path. */
  const trpcCalls: string[] = [];

  const watch = (p: Page) => {
    p.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${p.url()}: ${m.text()}`);
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

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const building = ensureBuilt();
    dir = makeTempDir('console');
    const [ops, s3, webPort] = (await freePorts(3)) as [number, number, number];
    s3Endpoint = `http://127.0.0.1:${s3}`;
    config = join(dir, 'gateway.yaml');
    writeFileSync(
      config,
      `node: { state_dir: ${dir}/state }
nfs: { enabled: false }
smb: { enabled: false }
s3: { bind: 127.0.0.1:${s3}, root: /export, region: us-east-1 }
health: { bind: 127.0.0.1:${ops}, probe_interval: 1s }
`,
    );
    gw = spawnProcess(CFS, ['gateway', 'start', '--config', config], {
      name: 'gateway',
      env: { CFS_ADMIN_PASSWORD: 'admin-Console-pw-1' },
    });
    await gw.waitForLine(/gateway started/, 60_000);
    const added = await runCommand(
      CFS,
      ['user', 'add', 'alice', '--role', 'admin', '--password-stdin', '--config', config],
      {
        input: `${ALICE_PW}\n`,
      },
    );
    equal(added.code, 0, added.stderr);
    aliceUid = Number(/uid (\d+)/.exec(added.stdout)?.[1]);
    const viewer = await runCommand(
      CFS,
      ['user', 'add', 'val', '--role', 'viewer', '--password-stdin', '--config', config],
      {
        input: `${VAL_PW}\n`,
      },
    );
    equal(viewer.code, 0, viewer.stderr);
    const key = await runCommand(CFS, ['user', 'key', 'create', 'alice', '--json', '--config', config]);
    equal(key.code, 0, key.stderr);
    aliceKey = JSON.parse(key.stdout);

    await building;
    base = `http://127.0.0.1:${webPort}`;
    web = spawnProcess(NEXT, ['start', '-p', String(webPort), '-H', '127.0.0.1'], {
      name: 'next start',
      cwd: WEB,
      env: {
        CFS_GATEWAY_URL: `http://127.0.0.1:${ops}`,
        NEXT_TELEMETRY_DISABLED: '1',
        PORT: String(webPort),
      },
    });
    await web.waitForLine(/Ready in/, 30_000);

    browser = await chromium.launch({
      executablePath: toolPath('chromium'),
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      // launch() gives every browser a fresh temporary --user-data-dir of its own.
    });
    ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await ctx.newPage();
    watch(page);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await web?.stop();
    await gw?.stop();
  });

  test('1 an unauthenticated visit shows the sign-in form; Enter signs in and the overview shows health', async () => {
    await page.goto(`${base}/`);
    const user = page.locator('input[name="username"]');
    await user.waitFor();
    equal(await page.locator('label[for="username"]').innerText(), 'User name');
    await page.screenshot({ path: join(SHOTS, 'signin.png') });
    await signIn(page, 'alice', ALICE_PW);
    const word = page.getByTestId('health-word');
    await word.waitFor();
    match(await word.innerText(), /^(healthy|degraded)$/);
    equal(await page.getByTestId('whoami').innerText(), 'alice');
    const cookies = await ctx.cookies();
    const session = cookies.find((c) => c.name === 'cfs_session');
    ok(session, 'the gateway set the session cookie through the proxy');
    ok(session.httpOnly, 'the session cookie is httpOnly');
    equal(await page.evaluate(() => document.cookie.includes('cfs_session')), false);
  });

  test('2 bad quota input shows an inline message and sends nothing', async () => {
    await page.goto(`${base}/quotas`);
    const form = page.locator('form[aria-label="New quota"]');
    await form.waitFor();
    await form.locator('input[name="id"]').fill(String(aliceUid));
    await form.locator('input[name="soft"]').fill('30GB');
    await form.locator('input[name="hard"]').fill('10GB');
    await page.waitForTimeout(300);
    const before = trpcCalls.filter((c) => c.startsWith('POST')).length;
    await form.getByRole('button', { name: 'Create quota' }).click();
    const message = page.locator('#quota-soft-error');
    await message.waitFor();
    match(await message.innerText(), /soft limit 30GB is above hard limit 10GB/);
    equal(await page.locator('#quota-soft').getAttribute('aria-invalid'), 'true');
    await form.locator('input[name="hard"]').fill('20 parsecs');
    await form.getByRole('button', { name: 'Create quota' }).click();
    await page.locator('#quota-hard-error').waitFor();
    await page.waitForTimeout(500);
    equal(trpcCalls.filter((c) => c.startsWith('POST')).length, before, 'no mutation was sent');
    ok(!trpcCalls.some((c) => c.includes('quotas.set')), 'quotas.set was never called');
  });

  test('3 a quota created in the form refuses an S3 PUT over it', async () => {
    const s3 = new S3Client({
      endpoint: s3Endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: aliceKey.AccessKeyId, secretAccessKey: aliceKey.SecretAccessKey },
      maxAttempts: 1,
    });
    await s3.send(new CreateBucketCommand({ Bucket: 'console' }));
    await s3.send(
      new PutObjectCommand({ Bucket: 'console', Key: 'before.bin', Body: Buffer.alloc(50_000, 1) }),
    );

    await page.goto(`${base}/quotas`);
    const form = page.locator('form[aria-label="New quota"]');
    await form.locator('input[name="id"]').fill(String(aliceUid));
    await form.locator('input[name="soft"]').fill('80KB');
    await form.locator('input[name="hard"]').fill('100KB');
    await form.getByRole('button', { name: 'Create quota' }).click();
    await page.locator('[data-toast="success"]').first().waitFor();
    const row = page.locator(`[data-quota="uid=${aliceUid}"]`);
    await row.waitFor();
    match(await row.innerText(), /80KB \/ 100KB/);

    let refused: { name?: string; $metadata?: { httpStatusCode?: number } } | null = null;
    for (let i = 0; i < 20 && !refused; i++) {
      try {
        await s3.send(
          new PutObjectCommand({ Bucket: 'console', Key: `big-${i}.bin`, Body: Buffer.alloc(200_000, 2) }),
        );
        await new Promise((r) => setTimeout(r, 250));
      } catch (e) {
        refused = e as typeof refused;
      }
    }
    // TypeScript cannot see the assignment in the catch above; the cast restores the type.
    const err = refused as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
    ok(err, 'the PUT over the hard limit was refused');
    equal(err.name, 'QuotaExceeded');
    equal(err.$metadata?.httpStatusCode, 403);
    s3.destroy();
  });

  test('4 drain with confirmation shows progress and "safe to stop"; undrain serves again', async () => {
    await page.goto(`${base}/maintenance`);
    const panel = page.getByTestId('drain-panel');
    await panel.waitFor();
    equal(await panel.getAttribute('data-state'), 'serving');
    await page.getByRole('button', { name: 'Drain gateway' }).click();
    const dialog = page.getByRole('dialog', { name: 'Drain this gateway?' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Drain', exact: true }).click();
    await page.waitForFunction(() =>
      /draining|drained/.test(
        document.querySelector('[data-testid="drain-panel"]')?.getAttribute('data-state') ?? '',
      ),
    );
    await panel.getByText('Safe to stop', { exact: true }).waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: 'Undrain' }).click();
    await page
      .getByRole('dialog', { name: 'Undrain this gateway?' })
      .getByRole('button', { name: 'Undrain' })
      .click();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="drain-panel"]')?.getAttribute('data-state') === 'serving',
    );
  });

  test('5 cache invalidation shows entries dropped and the hit ratio before and after', async () => {
    await page.goto(`${base}/maintenance`);
    await page.getByRole('button', { name: 'Invalidate' }).click();
    const result = page.getByTestId('cache-result');
    await result.waitFor();
    const text = await result.innerText();
    match(text, /Dropped\s*\n?\s*\d+/);
    match(text, /Hit ratio before/);
    match(text, /Hit ratio after/);
    // By path: an invalid one is refused inline, a good one goes through.
    await page.locator('#cache-scope').selectOption('path');
    await page.locator('#cache-path').fill('relative/path');
    await page.getByRole('button', { name: 'Invalidate' }).click();
    await page.locator('#cache-path-error').waitFor();
    await page.locator('#cache-path').fill('/export/console');
    await page.getByRole('button', { name: 'Invalidate' }).click();
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="cache-result"]')?.textContent?.includes('path'),
    );
  });

  test('6 a viewer sees the Drain button disabled, with the reason', async () => {
    const viewerCtx = await browser.newContext({ viewport: { width: 1024, height: 800 } });
    const p = await viewerCtx.newPage();
    watch(p);
    await signIn(p, 'val', VAL_PW);
    await p.goto(`${base}/maintenance`);
    const drain = p.getByRole('button', { name: 'Drain gateway' });
    await drain.waitFor();
    ok(await drain.isDisabled(), 'Drain is disabled for a viewer');
    match(await p.getByTestId('drain-denied').innerText(), /needs the operator role/);
    await p.screenshot({ path: join(SHOTS, 'maintenance-viewer.png'), fullPage: true });
    await viewerCtx.close();
  });

  test('7 every page: screenshot, LCP and first-load JavaScript; no console errors', async (t) => {
    const perf: Record<string, { lcpMs: number | null; jsGzipBytes: number; jsFiles: number }> = {};
    const measure = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // The session cookie from the signed-in context, so each page loads straight to its content.
    await measure.addCookies(await ctx.cookies());
    await measure.addInitScript(() => {
      const w = window as unknown as { __lcp: number | null };
      w.__lcp = null;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) w.__lcp = e.startTime;
      }).observe({ type: 'largest-contentful-paint', buffered: true });
    });
    for (const [name, path] of PAGES) {
      const p = await measure.newPage();
      watch(p);
      await p.goto(`${base}${path}`, { waitUntil: 'networkidle' });
      await p.locator('main h1').first().waitFor();
      await p.waitForTimeout(400);
      const lcp = await p.evaluate(() => (window as unknown as { __lcp: number | null }).__lcp);
      // First-load JS as Next counts it: the scripts the route's HTML names, not later prefetches.
      const html = await (await p.request.get(`${base}${path}`)).text();
      const srcs = [...new Set([...html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)].map((m) => m[1] ?? ''))];
      const sizes = await Promise.all(
        srcs.map(async (src) => gzipSync(await (await p.request.get(new URL(src, base).href)).body()).length),
      );
      perf[name] = {
        lcpMs: lcp === null ? null : Math.round(lcp),
        jsGzipBytes: sizes.reduce((a, b) => a + b, 0),
        jsFiles: sizes.length,
      };
      await p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
      await p.close();
    }
    await measure.close();
    writeFileSync(join(SHOTS, 'perf.json'), `${JSON.stringify(perf, null, 2)}\n`);
    for (const [name, v] of Object.entries(perf)) {
      t.diagnostic(
        `${name}: LCP ${v.lcpMs} ms, first-load JS ${(v.jsGzipBytes / 1024).toFixed(1)} kB gzip in ${v.jsFiles} files`,
      );
    }
    for (const [name, v] of Object.entries(perf)) {
      ok(v.jsGzipBytes <= JS_BUDGET, `${name}: ${v.jsGzipBytes} bytes of JS (gzip) over the 250 kB budget`);
    }
    equal(consoleErrors.join('\n'), '', 'no console errors on any page');
  });
});
