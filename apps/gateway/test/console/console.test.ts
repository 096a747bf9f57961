/// <reference lib="dom" />
// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators, whose innerText() is the rendered text the user reads
import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { readFileSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCorsCommand,
  DeleteBucketPolicyCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutBucketCorsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLockConfigurationCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CMD } from '../../src/protocols/smb/constants.ts';
import { send } from '../s3/raw.ts';
import { connectedClient, createBody, createContexts, fileIdOf, lockBody, readBody } from '../smb/client.ts';
import { requireTools } from '../support/tools.ts';
import { diagnosticsTests } from './diagnostics.ts';
import { ALICE_PW, type ConsoleFixture, SHOTS, startConsole, stopConsole, VAL_PW } from './fixture.ts';
import { recoveryTests } from './recovery.ts';
import { usersTests } from './users.ts';

/**
 * The web console against a real gateway, in headless Chromium: one gateway, one console server,
 * one browser for the file (fixture.ts). The gateway-down test comes last: it stops the gateway.
 */
const PAGES = [
  ['overview', '/'],
  ['maintenance', '/maintenance'],
  ['quotas', '/quotas'],
  ['metrics', '/metrics'],
  ['connections', '/connections'],
  ['access', '/access'],
  ['buckets', '/buckets'],
  ['circuits', '/circuits'],
  ['certificates', '/certificates'],
  ['diagnostics', '/diagnostics'],
  ['users', '/users'],
  ['audit', '/audit'],
  ['runbook', '/runbook'],
] as const;
/**
 * A GET from the test's side (Playwright's request context, not the page), asked again when the
 * connection is reset: that client keeps sockets to the console server alive between pages, and a
 * screenshot that takes longer than the server's 5 s keep-alive can leave it sending on a socket
 * the server is closing just then (CI's one failure at 6b5199a, `read ECONNRESET`).
 */
async function getIdempotent(p: Page, url: string): Promise<Buffer> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await p.request.get(url);
      equal(res.status(), 200, `GET ${url}`);
      return await res.body();
    } catch (err) {
      if (attempt >= 3 || !/ECONNRESET|socket hang up/.test(String(err))) throw err;
    }
  }
}

/** The budget for first-load JavaScript per route, gzip. */
const JS_BUDGET = 250 * 1024;

describe('web console in Chromium', requireTools('chromium'), () => {
  const fx = {} as ConsoleFixture;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  let base: string;
  let s3Endpoint: string;
  let aliceUid: number;
  let aliceKey: ConsoleFixture['aliceKey'];
  let consoleErrors: string[];
  let trpcCalls: string[];
  let watch: ConsoleFixture['watch'];
  let signIn: ConsoleFixture['signIn'];

  before(async () => {
    Object.assign(fx, await startConsole());
    ({ browser, ctx, page, base, s3Endpoint, aliceUid, aliceKey, consoleErrors, trpcCalls, watch, signIn } =
      fx);
  });

  after(() => stopConsole(fx));

  /** An S3 client with alice's key (she owns the bucket `console`). */
  const aliceS3 = () =>
    new S3Client({
      endpoint: s3Endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: aliceKey.AccessKeyId, secretAccessKey: aliceKey.SecretAccessKey },
      maxAttempts: 1,
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
    // The gateway's durability.metadata, where an operator who set async can see it in force.
    const durability = page.getByTestId('metadata-durability');
    await durability.waitFor();
    equal(await durability.innerText(), 'sync');
    // The backends' disks (meta.db's folder and the data folder, one file system here), as
    // statfs reads them: df's Avail over its Size.
    const disks = page.getByTestId('disks');
    await disks.waitFor();
    const text = await disks.innerText();
    const shown = /Metadata disk\s+(\d+(?:\.\d)?)% free/.exec(text);
    ok(shown, text);
    match(text, /Data disk\s+\d+(\.\d)?% free/);
    const fs = statfsSync(join(fx.dir, 'state'));
    const free = (fs.bavail / fs.blocks) * 100;
    ok(Math.abs(Number(shown[1]) - free) < 1, `${shown[1]}% shown, ${free.toFixed(1)}% free by statfs`);
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
    const s3 = aliceS3();
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
    // The form is empty again: the next quota does not start from these limits.
    equal(await form.locator('input[name="id"]').inputValue(), '');
    equal(await form.locator('input[name="hard"]').inputValue(), '');

    // A second "Create quota" for the same uid asks before replacing, naming the limits it ends;
    // cancelled, nothing changed.
    const sets = () => trpcCalls.filter((c) => c.includes('quotas.set')).length;
    const setsBefore = sets();
    await form.locator('input[name="id"]').fill(String(aliceUid));
    await form.locator('input[name="hard"]').fill('2GiB');
    await form.getByRole('button', { name: 'Create quota' }).click();
    const replace = page.getByRole('dialog', { name: `Replace the quota of uid ${aliceUid}?` });
    await replace.waitFor();
    match(await replace.innerText(), /already has a quota: soft 80KB, hard 100KB/);
    await replace.getByRole('button', { name: 'Cancel' }).click();
    await page.waitForTimeout(300);
    match(await row.innerText(), /80KB \/ 100KB/);
    equal(sets(), setsBefore, 'nothing sent');

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

  test('3b who uses the space: owners by usage with their quota; "Set quota" fills the form; groups too', async () => {
    await page.goto(`${base}/quotas`);
    const alice = page.locator(`[data-usage="uid=${aliceUid}"]`);
    await alice.waitFor();
    const text = await alice.innerText();
    match(text, /80KB \/ 100KB/);
    match(text, /over hard|over soft|in grace|ok/);
    const root = page.locator('[data-usage="uid=0"]');
    match(await root.innerText(), /no quota/);
    await root.getByRole('button', { name: 'Set quota' }).click();
    const form = page.locator('form[aria-label="New quota"]');
    await page.waitForFunction(
      () =>
        document.querySelector<HTMLInputElement>('form[aria-label="New quota"] input[name="id"]')?.value ===
        '0',
    );
    equal(await form.locator('input[name="hard"]').inputValue(), '');
    await page.screenshot({ path: join(SHOTS, 'quotas-usage.png'), fullPage: true });
    await page.getByLabel('Owners').selectOption('gid');
    await page.locator('[data-usage^="gid="]').first().waitFor();
  });

  test('4 drain with confirmation shows progress and "safe to stop"; undrain serves again', async () => {
    await page.goto(`${base}/maintenance`);
    const panel = page.getByTestId('drain-panel');
    await panel.waitFor();
    equal(await panel.getAttribute('data-state'), 'serving');
    // The checklist's health check is this gateway's own listener, not the runbook's default port.
    const healthBind = /health: \{ bind: ([\d.]+:\d+)/.exec(readFileSync(fx.config, 'utf8'))?.[1];
    ok(healthBind, 'the fixture names its health listener');
    await page
      .getByText(`curl http://${healthBind}/health shows "healthy"`, { exact: false })
      .waitFor({ timeout: 10_000 });
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
    // A planned drain reads "draining" in amber everywhere, not as an outage: /health says 503
    // for the load balancers, the console says why.
    const pill = page.locator('nav[aria-label="Console"] [data-status]').first();
    await page.waitForFunction(
      () => document.querySelector('nav[aria-label="Console"] [data-status]')?.textContent === 'draining',
      undefined,
      { timeout: 5_000 },
    );
    equal(await pill.getAttribute('data-status'), 'degraded');
    await page.getByRole('link', { name: 'Overview' }).click();
    const banner = page.getByTestId('health-banner');
    await page.getByTestId('drain-note').waitFor();
    equal(await page.getByTestId('health-word').innerText(), 'draining');
    equal(await banner.getAttribute('data-draining'), 'true');
    const checkWords = await page
      .locator('[data-check] [data-status]')
      .evaluateAll((els) => els.map((e) => e.textContent));
    ok(checkWords.includes('draining'), JSON.stringify(checkWords));
    ok(!checkWords.includes('unhealthy'), `no check reads unhealthy: ${JSON.stringify(checkWords)}`);
    await page.screenshot({ path: join(SHOTS, 'overview-draining.png') });
    await page.getByRole('link', { name: 'Undrain on Maintenance' }).click();
    await panel.waitFor();
    await page.getByRole('button', { name: 'Undrain' }).click();
    await page
      .getByRole('dialog', { name: 'Undrain this gateway?' })
      .getByRole('button', { name: 'Undrain' })
      .click();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="drain-panel"]')?.getAttribute('data-state') === 'serving',
    );
    // The undrain's answer comes after fresh probes: the sidebar reads healthy with no
    // "degraded" moment in between.
    await page.waitForFunction(
      () => document.querySelector('nav[aria-label="Console"] [data-status]')?.textContent === 'healthy',
      undefined,
      { timeout: 3_000 },
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
    // A failure replaces the last success: nothing on the card says "Dropped" any more.
    await page.locator('#cache-path').fill('/no/such/path');
    await page.getByRole('button', { name: 'Invalidate' }).click();
    await page.getByTestId('cache-error').filter({ hasText: 'no such path: /no/such/path' }).waitFor();
    equal(await page.getByTestId('cache-result').count(), 0);
    // Chromium logs every 4xx answer as a console error; this one is the refusal asked for.
    const expected = consoleErrors.findIndex((e) => /404 .*cache\.invalidate/.test(e));
    ok(expected >= 0, 'the refusal was a 404');
    consoleErrors.splice(expected, 1);
  });

  test('5b Reload configuration: live changes applied, a bind waits for a restart, a broken file is refused', async () => {
    const original = readFileSync(fx.config, 'utf8');
    const s3Bind = /s3: { bind: (127\.0\.0\.1:\d+)/.exec(original)![1]!;
    const reloadFromPage = async () => {
      await page.getByRole('button', { name: 'Reload configuration' }).click();
      const dialog = page.getByRole('dialog', { name: 'Reload the configuration file?' });
      // The dialog lists what this reload will do before it is confirmed.
      await dialog.getByTestId('preview-applied').waitFor();
      await dialog.getByRole('button', { name: 'Reload', exact: true }).click();
      await dialog.waitFor({ state: 'hidden' });
    };
    try {
      await page.goto(`${base}/maintenance`);
      await page.getByTestId('config-panel').waitFor();
      match(
        await page.getByTestId('config-panel').innerText(),
        new RegExp(`Running ${fx.config.replaceAll('/', '\\/')}`),
      );
      writeFileSync(fx.config, `${original.replace(s3Bind, '127.0.0.1:1')}cache: { ttl: 3s }\n`);
      await reloadFromPage();
      const applied = await page.getByTestId('config-applied').innerText();
      match(applied, /cache\.ttl\s+1s\s+→\s+3s/);
      const pending = await page.getByTestId('config-pending').innerText();
      match(pending, new RegExp(`s3\\.bind\\s+${s3Bind.replaceAll('.', '\\.')}\\s+→\\s+127\\.0\\.0\\.1:1`));
      await page.getByText('1 waiting for a restart', { exact: true }).waitFor();
      // The running S3 listener is untouched.
      match(await (await fetch(`${s3Endpoint}/`)).text(), /<Error>|<ListAllMyBucketsResult/);
      await page.screenshot({ path: join(SHOTS, 'maintenance-reload.png'), fullPage: true });
      // The Overview says so too, and leads to Maintenance.
      await page.goto(`${base}/`);
      const notice = page.getByRole('status').filter({ hasText: '1 setting waits for a restart' });
      await notice.waitFor();
      match(await notice.innerText(), /s3\.bind changed in the file/);
      await notice.getByRole('link', { name: 'Maintenance' }).click();
      await page.getByTestId('config-panel').waitFor();

      // A broken file: the dialog shows its problems and will not reload.
      writeFileSync(fx.config, `${original}log_level: chatty\n`);
      await page.getByRole('button', { name: 'Reload configuration' }).click();
      const dialog = page.getByRole('dialog', { name: 'Reload the configuration file?' });
      await dialog.getByText('The file has errors: a reload would change nothing').waitFor();
      match(await dialog.getByTestId('config-preview').innerText(), /gateway\.yaml:\d+:\d+ log_level: /);
      ok(await dialog.getByRole('button', { name: 'Reload', exact: true }).isDisabled());
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      // Reloaded anyway from the host (SIGHUP): refused, and the page and the Overview say so.
      process.kill(fx.gw.pid, 'SIGHUP');
      await fx.gw.waitForLine(/reload refused; keeping the running configuration/, 10_000);
      await page.reload();
      const problems = page.getByTestId('config-problems');
      await problems.waitFor({ timeout: 30_000 });
      match(await problems.innerText(), /gateway\.yaml:\d+:\d+ log_level: /);
      await page.goto(`${base}/`);
      await page
        .getByRole('status')
        .filter({ hasText: 'The last configuration reload was refused' })
        .waitFor();
      await page.goto(`${base}/maintenance`);
    } finally {
      writeFileSync(fx.config, original);
    }
    // The file as it was: the preview lists what goes back, and the reload clears the notices.
    await page.getByRole('button', { name: 'Reload configuration' }).click();
    const dialog = page.getByRole('dialog', { name: 'Reload the configuration file?' });
    await dialog.getByTestId('preview-applied').waitFor();
    match(await dialog.getByTestId('preview-applied').innerText(), /cache\.ttl\s+3s\s+→\s+1s/);
    await page.screenshot({ path: join(SHOTS, 'maintenance-reload-dialog.png') });
    await dialog.getByRole('button', { name: 'Reload', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByTestId('config-last-reload').waitFor();
    match(await page.getByTestId('config-last-reload').innerText(), /0 waiting for a restart/);
  });

  test('5c Access: what the configuration lets in, with the notes worth a look; a reload shows at once', async () => {
    const original = readFileSync(fx.config, 'utf8');
    try {
      await page.goto(`${base}/access`);
      await page.getByRole('heading', { name: 'Access', level: 1 }).waitFor();
      const notes = page.getByRole('region', { name: 'Worth a look' });
      await notes.getByText('S3 is served over plain HTTP').waitFor();
      equal(await notes.getByText('Anyone may read').count(), 0);
      match(
        await page
          .locator('section', { has: page.getByRole('heading', { name: 'NFS exports', exact: true }) })
          .innerText(),
        /not served[\s\S]*Not served by this gateway/,
      );
      writeFileSync(
        fx.config,
        original
          .replace(
            'region: us-east-1',
            'region: us-east-1, public_read_buckets: [pictures], cors_origins: ["*"]',
          )
          .replace(
            '{ name: export, path: /export }',
            '{ name: export, path: /export }, { name: tm, path: /tm, apple_extensions: true, time_machine: true }',
          ),
      );
      await fx.cfs('gateway', 'reload');
      await page.reload();
      await notes.getByText('Anyone may read pictures without a key.').waitFor();
      await notes.getByText('Any web page may call S3 from a browser').waitFor();
      const s3Card = await page
        .locator('section', { has: page.getByRole('heading', { name: 'S3', exact: true }) })
        .innerText();
      match(s3Card, /plain HTTP/);
      match(s3Card, /Readable without a key\s+pictures/);
      await notes.getByText('Time Machine share tm has no size limit').waitFor();
      const smbRows = page.getByRole('table', { name: 'SMB shares' }).getByRole('row');
      match(await smbRows.filter({ hasText: '/tm' }).innerText(), /\bTime Machine\b/);
      match(await smbRows.filter({ hasText: '/export' }).innerText(), /—$/);
      await page.screenshot({ path: join(SHOTS, 'access-notes.png'), fullPage: true });
    } finally {
      writeFileSync(fx.config, original);
      await fx.cfs('gateway', 'reload');
    }
  });

  test('5d S3 lifecycle: each bucket\'s rules, and "Sweep now" removes what is due, with what it freed', async () => {
    const s3 = aliceS3();
    const today = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000);
    for (const key of ['tmp/1.log', 'tmp/2.log'])
      await s3.send(new PutObjectCommand({ Bucket: 'console', Key: key, Body: Buffer.alloc(1000, 3) }));
    await s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: 'console',
        LifecycleConfiguration: {
          Rules: [
            { ID: 'expire-tmp', Filter: { Prefix: 'tmp/' }, Status: 'Enabled', Expiration: { Date: today } },
            { ID: 'later', Filter: { Prefix: 'logs/' }, Status: 'Disabled', Expiration: { Days: 30 } },
          ],
        },
      }),
    );
    const listed = async () =>
      ((await s3.send(new ListObjectsV2Command({ Bucket: 'console' }))).Contents ?? []).map((o) => o.Key);
    const before = await listed();
    ok(before.includes('tmp/1.log') && before.includes('before.bin'), before.join(' '));

    await page.goto(`${base}/maintenance`);
    await page.getByTestId('lifecycle-panel').waitFor();
    const rules = await page.getByTestId('lifecycle-rule').allInnerTexts();
    match(
      rules[0] ?? '',
      /console\s+expire-tmp\s+Enabled\s+expire from \d{4}-\d{2}-\d{2} — keys under "tmp\/"/,
    );
    match(rules[1] ?? '', /console\s+later\s+Disabled/);
    // The fixture sweeps only when asked (s3.lifecycle_interval: 0), so this sweep is the one that acts.
    await page.getByText('No scheduled sweeps (s3.lifecycle_interval: 0)', { exact: false }).waitFor();
    await page.getByRole('button', { name: 'Sweep now' }).click();
    const dialog = page.getByRole('dialog', { name: 'Sweep the lifecycle rules now?' });
    await dialog.getByRole('button', { name: 'Sweep now' }).click();
    await page.locator('[data-toast="success"]', { hasText: 'Lifecycle sweep done' }).waitFor();
    const sweep = page.getByTestId('lifecycle-sweep');
    await sweep.waitFor();
    match(await sweep.innerText(), /Objects expired\s+2\s+Freed\s+2\.0 KB/);
    deepEqual(
      await listed(),
      before.filter((k) => !k?.startsWith('tmp/')),
    );
    await page.screenshot({ path: join(SHOTS, 'maintenance-lifecycle.png'), fullPage: true });
    s3.destroy();
  });

  test('5e Buckets: each bucket with its owner, policy, CORS rules, versioning, object lock and lifecycle rules; Count walks it for objects, old versions and bytes', async () => {
    // Versioned, and before.bin written again: its first version is kept.
    const s3 = aliceS3();
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: 'console', VersioningConfiguration: { Status: 'Enabled' } }),
    );
    await s3.send(
      new PutObjectCommand({ Bucket: 'console', Key: 'before.bin', Body: Buffer.alloc(50_000, 4) }),
    );
    // Object Lock on, with no default retention: nothing written later is locked unless asked.
    await s3.send(
      new PutObjectLockConfigurationCommand({
        Bucket: 'console',
        ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' },
      }),
    );
    // A policy that lets anyone read under public/ (deleted at the end of this test).
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: 'console',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: '*',
              Action: 's3:GetObject',
              Resource: 'arn:aws:s3:::console/public/*',
            },
          ],
        }),
      }),
    );
    // Its own CORS rule: pages of one origin may read it (deleted at the end of this test).
    await s3.send(
      new PutBucketCorsCommand({
        Bucket: 'console',
        CORSConfiguration: {
          CORSRules: [{ AllowedOrigins: ['https://gallery.example.com'], AllowedMethods: ['GET', 'HEAD'] }],
        },
      }),
    );
    s3.destroy();
    await page.goto(`${base}/buckets`);
    const row = page.locator('tr[data-bucket="console"]');
    await row.waitFor();
    const text = await row.innerText();
    match(text, /console\s+alice\s/);
    match(
      text,
      /anyone may read\s+policy: 1 statement\s+browsers from https:\/\/gallery\.example\.com\s+versioned\s+object lock\s+no default retention/,
    );
    match(text, /expire-tmp: expire from \d{4}-\d\d-\d\d — keys under "tmp\/"/);
    match(text, /later: \(disabled\) expire 30 days after last write/);
    await row.getByRole('button', { name: 'Count the objects of console' }).click();
    // Test 5d's sweep left before.bin alone (50,000 bytes).
    await page.getByTestId('usage-console').filter({ hasText: '1 object, 50.0 KB' }).waitFor();
    await page.getByTestId('usage-console').filter({ hasText: '+ 1 old version, 50.0 KB' }).waitFor();
    await page.screenshot({ path: join(SHOTS, 'buckets-usage.png'), fullPage: true });
    // The Access page says the same: what anyone may read is the buckets' policies too, not
    // only the file's list; and a bucket's own CORS rule.
    await page.goto(`${base}/access`);
    await page.getByText('console (its policy)').waitFor();
    await page.getByText('console: https://gallery.example.com').waitFor();
    await page.getByText('Anyone may read console without a key: its bucket policy allows it').waitFor();
    // The old version counts against alice's quota (test 3's): deleted, the space is hers again.
    const again = aliceS3();
    await again.send(new DeleteObjectCommand({ Bucket: 'console', Key: 'before.bin', VersionId: 'null' }));
    await again.send(new DeleteBucketPolicyCommand({ Bucket: 'console' }));
    await again.send(new DeleteBucketCorsCommand({ Bucket: 'console' }));
    again.destroy();
  });

  test('5f Buckets: an incomplete upload is listed with its owner and size; Abort (confirmed) frees it', async () => {
    const s3 = aliceS3();
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'console', Key: 'video/raw.mov' }),
    );
    await s3.send(
      new UploadPartCommand({
        Bucket: 'console',
        Key: 'video/raw.mov',
        UploadId,
        PartNumber: 1,
        Body: Buffer.alloc(10_000, 5),
      }),
    );
    await page.goto(`${base}/buckets`);
    const row = page.locator(`tr[data-upload="${UploadId}"]`);
    await row.waitFor();
    match(await row.innerText(), /console\/video\/raw\.mov[\s\S]*alice[\s\S]*\b1\s+10\.0 KB/);
    await row.getByRole('button', { name: 'Abort' }).click();
    const dialog = page.getByRole('dialog', { name: 'Abort the upload of console/video/raw.mov?' });
    match(
      await dialog.innerText(),
      /Its parts are deleted — 1 part, 10\.0 KB — and the space goes back to alice/,
    );
    await page.screenshot({ path: join(SHOTS, 'buckets-abort-upload.png'), fullPage: true });
    await dialog.getByRole('button', { name: 'Abort upload' }).click();
    await page
      .locator('[data-toast="success"]', { hasText: 'Upload of console/video/raw.mov aborted' })
      .waitFor();
    await row.waitFor({ state: 'detached' });
    equal((await s3.send(new ListMultipartUploadsCommand({ Bucket: 'console' }))).Uploads, undefined);
    s3.destroy();
  });

  test("5g Connections: an SMB client's open file is listed with the lease it holds, and its byte-range lock by holder and range; Close (confirmed) ends both", async () => {
    const smb = await connectedClient(fx.smbPort, 'alice', ALICE_PW, { dialects: [0x0300] });
    try {
      const lease = Buffer.alloc(52);
      lease.fill(0x5a, 0, 16);
      lease.writeUInt32LE(7, 16);
      const r = await smb.request({
        command: CMD.CREATE,
        body: createBody('console\\held.txt', {
          oplock: 0xff,
          contexts: createContexts([{ name: 'RqLs', data: lease }]),
        }),
      });
      equal(r.status, 0, `CREATE: 0x${r.status.toString(16)}`);
      await page.goto(`${base}/connections`);
      const table = page.getByRole('table', { name: 'SMB open files' });
      await table.waitFor();
      const row = table.locator('tr', { hasText: 'held.txt' });
      await row.waitFor();
      match(
        await row.innerText(),
        /alice@127\.0\.0\.1:\d+[\s\S]*export\\console\\held\.txt[\s\S]*file[\s\S]*lease RWH/,
      );
      // An exclusive lock on bytes 0–9, failing at once rather than waiting (flags 0x12).
      const locked = await smb.request({
        command: CMD.LOCK,
        body: lockBody(fileIdOf(r), [{ offset: 0n, length: 10n, flags: 0x12 }]),
      });
      equal(locked.status, 0, `LOCK: 0x${locked.status.toString(16)}`);
      const locks = page.getByRole('table', { name: 'Byte-range locks' });
      const lockRow = locks.locator('tr', { hasText: 'held.txt' });
      await lockRow.waitFor();
      match(
        await lockRow.innerText(),
        /SMB[\s\S]*alice@127\.0\.0\.1:\d+[\s\S]*export\\console\\held\.txt[\s\S]*bytes 0–9[\s\S]*exclusive \(write\)/,
      );
      equal(
        await lockRow.getByRole('button', { name: 'Release' }).count(),
        0,
        'SMB locks end with their opens',
      );
      await page.screenshot({ path: join(SHOTS, 'connections-smb.png'), fullPage: true });

      // An operator closes the open (Windows' "Close Open File"): its lock goes with it.
      await row.getByRole('button', { name: 'Close' }).click();
      const dialog = page.getByRole('dialog', {
        name: /^Close export\\console\\held\.txt for alice@127\.0\.0\.1:\d+\?$/,
      });
      match(await dialog.innerText(), /what it had not yet written back is lost/);
      await dialog.getByRole('button', { name: 'Close file' }).click();
      await page.locator('[data-toast="success"]', { hasText: 'Closed export\\console\\held.txt' }).waitFor();
      await row.waitFor({ state: 'detached' });
      await lockRow.waitFor({ state: 'detached' });
      const stale = await smb.request({ command: CMD.READ, body: readBody(fileIdOf(r), 0n, 10) });
      equal(stale.status, 0xc0000128, "the client's handle is closed (STATUS_FILE_CLOSED)");
    } finally {
      smb.close();
    }
  });

  test("5h Connections: End session on an SMB client's row (confirmed) closes its open file and disconnects it, audited", async () => {
    const smb = await connectedClient(fx.smbPort, 'alice', ALICE_PW, { dialects: [0x0300] });
    try {
      const r = await smb.request({ command: CMD.CREATE, body: createBody('session-kept.txt', {}) });
      equal(r.status, 0, `CREATE: 0x${r.status.toString(16)}`);
      await page.goto(`${base}/connections`);
      const files = page.getByRole('table', { name: 'SMB open files' });
      const fileRow = files.locator('tr', { hasText: 'session-kept.txt' });
      await fileRow.waitFor();
      const client = (await fileRow.locator('td').first().innerText()).replace(/^alice@/, '');
      const row = page.getByRole('table', { name: 'Connections' }).locator('tr', { hasText: client });
      await row.getByRole('button', { name: 'End session' }).click();
      const dialog = page.getByRole('dialog', { name: `End the SMB session of alice from ${client}?` });
      match(await dialog.innerText(), /The files it has open close at once[\s\S]*must sign in again/);
      await page.screenshot({ path: join(SHOTS, 'connections-end-session.png'), fullPage: true });
      await dialog.getByRole('button', { name: 'End session' }).click();
      await page
        .locator('[data-toast="success"]', {
          hasText: `Ended the SMB session of alice from ${client} (1 open file closed).`,
        })
        .waitFor();
      await fileRow.waitFor({ state: 'detached' });
      await row.waitFor({ state: 'detached' });
      await smb.closedPromise;
      await page.goto(`${base}/audit`);
      const entry = page
        .getByRole('table', { name: 'Audit entries' })
        .locator('tr', { hasText: 'smb.end-session' });
      match(await entry.first().innerText(), /alice[\s\S]*smb\.end-session[\s\S]*connection:\d+/);
    } finally {
      smb.close();
    }
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
    ok(await p.getByRole('button', { name: 'Sweep now' }).isDisabled(), 'Sweep now is disabled for a viewer');
    await p.getByText(/^Sweeping needs the operator role/).waitFor();
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
      const html = (await getIdempotent(p, `${base}${path}`)).toString();
      const srcs = [...new Set([...html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)].map((m) => m[1] ?? ''))];
      const sizes = await Promise.all(
        srcs.map(async (src) => gzipSync(await getIdempotent(p, new URL(src, base).href)).length),
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
    deepEqual(consoleErrors, [], `console errors on a page:\n${consoleErrors.join('\n')}`);
  });

  test('7b a phone (390 px): the sections fold behind Menu and no page is wider than the screen', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 } });
    await phone.addCookies(await ctx.cookies());
    const p = await phone.newPage();
    watch(p);
    await p.goto(`${base}/`);
    await p.locator('main h1').first().waitFor();
    const menu = p.getByRole('button', { name: 'Menu' });
    ok(await p.getByRole('link', { name: 'Quotas' }).isHidden(), 'the sections are folded');
    await p.screenshot({ path: join(SHOTS, 'phone-overview.png') });
    await menu.click();
    await p.getByRole('link', { name: 'Quotas' }).click();
    await p.waitForURL(`${base}/quotas`);
    ok(await p.getByRole('link', { name: 'Users and groups' }).isHidden(), 'the menu closes on navigation');
    for (const [name, path] of PAGES) {
      await p.goto(`${base}${path}`, { waitUntil: 'networkidle' });
      await p.locator('main h1').first().waitFor();
      await p.waitForTimeout(300);
      // Wide tables scroll inside their card; the page itself never scrolls sideways.
      const { width, wide } = await p.evaluate(() => ({
        width: document.documentElement.scrollWidth,
        // The outermost elements reaching past the screen, to name in a failure.
        wide: Array.from(document.querySelectorAll('main *'))
          .filter(
            (e) =>
              e.getBoundingClientRect().right > 391 &&
              (e.parentElement?.getBoundingClientRect().right ?? 0) <= 391,
          )
          .slice(0, 4)
          .map((e) => `${e.tagName.toLowerCase()}.${e.className} "${(e.textContent ?? '').slice(0, 30)}"`),
      }));
      ok(width <= 390, `${name} is ${width} px wide on a 390 px screen:\n${wide.join('\n')}`);
      await p.screenshot({ path: join(SHOTS, `phone-${name}.png`), fullPage: true });
    }
    await phone.close();
  });

  /** A call to the console's tRPC proxy from a browser at `from` (a loopback address of its own). */
  const fromBrowserAt = async (
    from: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const json = body === undefined ? undefined : JSON.stringify(body);
    const r = await send(Number(new URL(base).port), {
      method: json === undefined ? 'GET' : 'POST',
      path: `/api/trpc/${path}`,
      headers: {
        ...headers,
        ...(json === undefined ? {} : { 'content-type': 'application/json', 'x-cfs-csrf': '1' }),
      },
      body: json,
      localAddress: from,
    });
    const cookies = [r.headers['set-cookie'] ?? []].flat();
    return {
      status: r.status,
      cookie: cookies.map((c) => c.split(';')[0]).join('; '),
      json: JSON.parse(r.body || '{}') as { result: { data: unknown } },
    };
  };

  test('7c sign-ins are told apart by the browser’s address: a stranger’s wrong passwords do not slow the operator down, and the audit names each address, not the console’s', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    // A stranger at 127.0.0.2 guesses val's password, claiming to be somewhere else.
    const spoof = { 'x-forwarded-for': '198.51.100.7' };
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await fromBrowserAt(
        '127.0.0.2',
        'auth.signIn',
        { user: 'val', password: `guess-${i}-xxxx` },
        spoof,
      );
      statuses.push(r.status);
    }
    deepEqual(statuses, [401, 401, 401, 401, 401, 429], 'the sixth wrong password from there waits');
    // val herself, at 127.0.0.3, signs in at once.
    const val = await fromBrowserAt('127.0.0.3', 'auth.signIn', { user: 'val', password: VAL_PW });
    equal(val.status, 200, JSON.stringify(val.json));
    const input = encodeURIComponent(
      JSON.stringify({ action: 'console.signin', actor: 'console:val', since, limit: 20 }),
    );
    const audit = await fromBrowserAt('127.0.0.3', `audit.list?input=${input}`, undefined, {
      cookie: val.cookie,
    });
    equal(audit.status, 200);
    const { entries } = audit.json.result.data as {
      entries: Array<{ outcome: string; remoteAddr: string }>;
    };
    deepEqual(
      entries.map((e) => `${e.outcome} from ${e.remoteAddr}`),
      ['ok from 127.0.0.3', ...Array(5).fill('denied from 127.0.0.2')],
    );
  });

  diagnosticsTests(fx);
  usersTests(fx);
  // Last: it stops the gateway and starts it again.
  recoveryTests(fx);
});
