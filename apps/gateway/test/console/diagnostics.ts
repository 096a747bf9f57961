/// <reference lib="dom" />
// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators, whose innerText() is the rendered text the user reads
import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DIAGNOSTIC_TREE_IDS } from '@claudefs/api';
import type { Page } from 'playwright-core';
import { type ConsoleFixture, SHOTS, VAL_PW } from './fixture.ts';

/** Issue #8 in the browser: the wizards run live against the fixture's gateway. */
const TREES = DIAGNOSTIC_TREE_IDS;
const WIZARD_DEADLINE = 120_000;
const OBJECT = '/export/wizards/report.bin';

const conclusion = (p: Page) => p.getByTestId('diagnostic-conclusion');
const pathTaken = (p: Page) => p.locator('ol[aria-label="Path taken"] > li');

async function stepsTaken(p: Page): Promise<Array<{ id: string; outcome: string }>> {
  return pathTaken(p).evaluateAll((items) =>
    items.map((li) => ({
      id: li.getAttribute('data-step') ?? '',
      outcome: li.getAttribute('data-outcome') ?? '',
    })),
  );
}

/** Opens a wizard by address and waits for the conclusion of the run it starts. */
async function runByLink(p: Page, base: string, query: string): Promise<string> {
  await p.goto(`${base}/diagnostics?${query}`);
  await conclusion(p).waitFor({ timeout: WIZARD_DEADLINE });
  return conclusion(p).innerText();
}

async function auditRows(p: Page, base: string, action: string): Promise<string[]> {
  await p.goto(`${base}/audit`);
  await p.locator('#audit-action').fill(action);
  await p.locator('#audit-action').press('Enter');
  const rows = p.locator(`tr[data-audit-action="${action}"]`);
  await rows.first().waitFor();
  return rows.allInnerTexts();
}

export function diagnosticsTests(fx: ConsoleFixture): void {
  let errorsBefore = 0;

  test('8 the Diagnostics page lists the nine wizards; the quota wizard, run from its form, walks a uid over soft to its conclusion', async () => {
    const { page, base, aliceUid } = fx;
    errorsBefore = fx.consoleErrors.length;
    // The condition: alice over a soft limit, set with ./cfs, by an object written over S3.
    await fx.cfs('quota', 'set-user', '--uid', String(aliceUid), '--soft', '10KB', '--hard', '10MB');
    const s3 = new S3Client({
      endpoint: fx.s3Endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: fx.aliceKey.AccessKeyId, secretAccessKey: fx.aliceKey.SecretAccessKey },
      maxAttempts: 1,
    });
    await s3.send(new CreateBucketCommand({ Bucket: 'wizards' }));
    await s3.send(
      new PutObjectCommand({ Bucket: 'wizards', Key: 'report.bin', Body: Buffer.alloc(30_000, 3) }),
    );
    s3.destroy();

    await page.goto(`${base}/diagnostics`);
    const wizards = page.locator('nav[aria-label="Wizards"] a');
    await wizards.first().waitFor();
    deepEqual(await wizards.evaluateAll((as) => as.map((a) => a.getAttribute('data-tree'))), [...TREES]);
    match(await wizards.nth(2).innerText(), /Quota enforcement/);
    match(await page.locator('nav[aria-label="Console"]').innerText(), /Diagnostics/);

    await wizards.nth(2).click();
    const uid = page.getByLabel('uid', { exact: true });
    await uid.waitFor();
    // Bad input is refused inline and nothing is sent.
    const runsBefore = fx.trpcCalls.filter((c) => c.includes('diagnostics.run')).length;
    await uid.fill('alice');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    match(await page.locator('#diag-uid-error').innerText(), /uid must be a whole number/);
    equal(await uid.getAttribute('aria-invalid'), 'true');
    await uid.fill('');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    match(await page.locator('#diag-form-error').innerText(), /Give uid or gid/);
    await page.waitForTimeout(300);
    equal(fx.trpcCalls.filter((c) => c.includes('diagnostics.run')).length, runsBefore, 'no run was sent');

    // Keyboard: type the uid and press Enter.
    await uid.fill(String(aliceUid));
    await uid.press('Enter');
    await conclusion(page).waitFor({ timeout: WIZARD_DEADLINE });
    equal(await conclusion(page).getAttribute('data-verdict'), 'warn');
    match(
      await conclusion(page).innerText(),
      new RegExp(`uid=${aliceUid} is over its soft limit .*writes still succeed`),
    );
    const steps = await stepsTaken(page);
    deepEqual(
      steps.map((s) => s.id),
      ['subject', 'usage', 'soft-exceeded', 'log-lines'],
    );
    ok(['over soft', 'in grace'].includes(steps[1]?.outcome ?? ''), JSON.stringify(steps));
    const usage = page.locator('li[data-step="usage"]');
    match(
      await usage.getByTestId('step-branch').innerText(),
      /because usage > soft.*Next: Soft limit exceeded/s,
    );
    const measured = await usage.getByTestId('measured').innerText();
    match(measured, /usedBytes/);
    match(measured, /softBytes/);
    match(measured, /\b10000\b/);
    match(page.url(), new RegExp(`/diagnostics\\?tree=quota&uid=${aliceUid}$`));

    // The runbook's command, copied with its button.
    await fx.ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    const soft = page.locator('li[data-step="soft-exceeded"]');
    const command = await soft.locator('[data-testid="step-commands"] code').first().innerText();
    match(command, new RegExp(`^\\./cfs quota set-user --uid ${aliceUid} --soft 20KB --hard 20MB$`));
    await soft.getByRole('button', { name: `Copy ${command}` }).click();
    equal(await page.evaluate(() => navigator.clipboard.readText()), command);
    await page.screenshot({ path: join(SHOTS, 'diagnostics-quota.png'), fullPage: true });
  });

  test('9 a deep link runs its wizard; a remediation is confirmed, toasts, takes effect and is audited', async () => {
    const { page, base, aliceUid } = fx;
    match(await runByLink(page, base, `tree=quota&uid=${aliceUid}`), /over its soft limit/);
    // The quota form, prefilled with the wizard's proposal.
    await page.getByRole('link', { name: 'Open in the quota form' }).click();
    const form = page.locator('form[aria-label="Edit quota"]');
    await form.waitFor();
    equal(await form.locator('input[name="id"]').inputValue(), String(aliceUid));
    equal(await form.locator('input[name="soft"]').inputValue(), '20KB');
    equal(await form.locator('input[name="hard"]').inputValue(), '20MB');
    await page.goBack();
    await conclusion(page).waitFor({ timeout: WIZARD_DEADLINE });
    const edit = page.getByRole('button', { name: `Edit the quota of uid=${aliceUid}` });
    await edit.click();
    const dialog = page.getByRole('dialog', { name: `Edit the quota of uid=${aliceUid}` });
    await dialog.waitFor();
    equal(await dialog.getByLabel('Soft limit').inputValue(), '20KB');
    equal(await dialog.getByLabel('Hard limit').inputValue(), '20MB');
    await dialog.getByLabel('Soft limit').fill('30MB');
    match(await dialog.locator('#remedy-soft-error').innerText(), /soft limit 30MB is above hard limit 20MB/);
    ok(await dialog.getByRole('button', { name: 'Apply' }).isDisabled(), 'an invalid edit cannot be sent');
    await dialog.getByLabel('Soft limit').fill('100KB');
    await dialog.getByRole('button', { name: 'Apply' }).click();
    match(await page.locator('[data-toast="success"]').last().innerText(), /quota/i);
    match(await fx.cfs('quota', 'get', '--uid', String(aliceUid)), /soft 100KB, hard 20MB/);
    await page.getByRole('button', { name: 'Run again' }).click();
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="diagnostic-conclusion"]')?.getAttribute('data-verdict') ===
        'pass',
      undefined,
      { timeout: WIZARD_DEADLINE },
    );
    match(await conclusion(page).innerText(), /within quota/);

    // Set log level, from the unresponsive wizard, and back.
    await runByLink(page, base, 'tree=unresponsive&run=1');
    for (const [label, level] of [
      ['Switch to debug logging', 'debug'],
      ['Switch back to info', 'info'],
    ] as const) {
      await page.getByRole('button', { name: label }).click();
      await page.getByRole('dialog', { name: label }).getByRole('button', { name: 'Apply' }).click();
      await page.locator('[data-toast="success"]', { hasText: `-> ${level}` }).waitFor();
    }
    const rows = await auditRows(page, base, 'diagnostics.remediate');
    const has = (target: string) =>
      rows.some((r) => r.includes('console:alice') && r.includes(target) && r.includes('ok'));
    ok(has(`quota.set uid=${aliceUid}`), rows.join('\n'));
    ok(has('log-level.set debug'), rows.join('\n'));
    ok(has('log-level.set info'), rows.join('\n'));
  });

  test('10 a viewer may run a wizard but sees its remediations disabled, with the reason', async () => {
    const viewerCtx = await fx.newContext({ width: 1024 });
    const p = await viewerCtx.newPage();
    fx.watch(p);
    await fx.signIn(p, 'val', VAL_PW);
    await runByLink(p, fx.base, 'tree=unresponsive&run=1');
    const debug = p.getByRole('button', { name: 'Switch to debug logging' });
    ok(await debug.isDisabled(), 'a viewer cannot change the log level');
    match(
      await p.getByTestId('remediation-denied').first().innerText(),
      /needs the operator role \(you are viewer\)/,
    );
    await p.screenshot({ path: join(SHOTS, 'diagnostics-viewer.png'), fullPage: true });
    await viewerCtx.close();
  });

  test('11 "Download support bundle" saves the run’s bundle as a JSON file', async () => {
    const { page, base, aliceUid } = fx;
    await runByLink(page, base, `tree=quota&uid=${aliceUid}`);
    const runId = await page.getByTestId('diagnostic-result').getAttribute('data-run');
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 60_000 }),
      page.getByRole('button', { name: 'Download support bundle' }).click(),
    ]);
    match(download.suggestedFilename(), /^claudefs-support-quota-[\w-]+\.json$/);
    const file = join(fx.dir, download.suggestedFilename());
    await download.saveAs(file);
    const bundle = JSON.parse(readFileSync(file, 'utf8'));
    equal(bundle.format, 'claudefs-support-bundle/1');
    deepEqual(
      bundle.runs.map((r: { id: string; tree: string }) => [r.id, r.tree]),
      [[runId, 'quota']],
    );
    ok(Array.isArray(bundle.logs) && bundle.health.checks.length > 0);
    ok(!readFileSync(file, 'utf8').includes(fx.aliceKey.SecretAccessKey), 'no secret in the bundle');
    await page.locator('[data-toast="success"]', { hasText: 'Support bundle saved' }).waitFor();
  });

  test('12 every wizard runs from the page at 1024 px: a result for each, light and dark', async (t) => {
    const inputs: Record<(typeof TREES)[number], string> = {
      latency: 'run=1',
      connection: 'run=1',
      quota: `uid=${fx.aliceUid}`,
      access: `path=${OBJECT}&uid=4242&gid=4242`,
      'smb-access': 'user=alice',
      unresponsive: 'run=1',
      backend: 'run=1',
      inconsistency: `path=${OBJECT}`,
      preflight: 'run=1',
    };
    // Over soft again (test 9 raised it), so the quota wizard's pictures show the warning path.
    await fx.cfs('quota', 'set-user', '--uid', String(fx.aliceUid), '--soft', '10KB');
    for (const dark of [false, true]) {
      const c = await fx.newContext({ width: 1024, dark });
      await c.addCookies(await fx.ctx.cookies());
      const p = await c.newPage();
      fx.watch(p);
      for (const tree of dark ? (['quota', 'latency'] as const) : TREES) {
        const text = await runByLink(p, fx.base, `tree=${tree}&${inputs[tree]}`);
        const verdict = await conclusion(p).getAttribute('data-verdict');
        const steps = await stepsTaken(p);
        t.diagnostic(
          `${tree}: ${verdict} after ${steps.map((s) => `${s.id}→${s.outcome}`).join(', ')}: ${text}`,
        );
        ok(steps.length > 0, `${tree} took at least one step`);
        const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        ok(overflow <= 0, `${tree}: the page is ${overflow} px wider than the 1024 px window`);
        await p.screenshot({
          path: join(SHOTS, `diagnostics-${tree}${dark ? '-dark' : ''}.png`),
          fullPage: true,
        });
      }
      await c.close();
    }
    // The access wizard names the rule that refuses a stranger write access to alice's object.
    const c = await fx.newContext();
    await c.addCookies(await fx.ctx.cookies());
    const p = await c.newPage();
    match(
      await runByLink(p, fx.base, `tree=access&${inputs.access}`),
      /uid 4242 gid 4242 may read but not write/,
    );
    // A failing path: the SMB wizard for a user the gateway does not know stops at its first step.
    match(await runByLink(p, fx.base, 'tree=smb-access&user=mallory'), /there is no user 'mallory'/);
    equal(await conclusion(p).getAttribute('data-verdict'), 'fail');
    deepEqual(await stepsTaken(p), [{ id: 'user', outcome: 'missing' }]);
    await p.screenshot({ path: join(SHOTS, 'diagnostics-smb-access-unknown-user.png'), fullPage: true });
    await c.close();
  });

  test('13 an alert on the Overview links to its wizard, and the runbook’s troubleshooting sections link to theirs', async () => {
    const { page, base } = fx;
    // S3 errors: anonymous GETs are refused, and every refusal counts against the error rate.
    const s3 = fx.s3Endpoint;
    for (let i = 0; i < 20; i++) await fetch(`${s3}/no-such-bucket/x${i}`).then((r) => r.arrayBuffer());
    await page.goto(`${base}/`);
    const diagnose = page.locator('a[data-alert="errors-s3"]');
    await diagnose.waitFor({ timeout: 60_000 });
    equal(await diagnose.innerText(), 'Diagnose');
    equal(await diagnose.getAttribute('href'), '/diagnostics?tree=latency&run=1');
    await diagnose.click();
    await conclusion(page).waitFor({ timeout: WIZARD_DEADLINE });
    equal(await page.locator('[data-testid="tree-panel"]').getAttribute('data-tree'), 'latency');

    await page.goto(`${base}/runbook`);
    const links = page.locator('a[data-wizard]');
    await links.first().waitFor();
    // The runbook's notes are quotes set apart, not paragraphs that start with a literal ">".
    ok((await page.locator('blockquote', { hasText: 'ClaudeFS Gateway:' }).count()) > 5, 'notes are quotes');
    const literal = await page
      .locator('p')
      .evaluateAll((ps) => ps.map((p) => p.textContent ?? '').filter((t) => t.trimStart().startsWith('>')));
    deepEqual(literal, [], 'no paragraph starts with ">"');
    deepEqual(
      (await links.evaluateAll((as) => as.map((a) => a.getAttribute('data-wizard')))).sort(),
      [...TREES].sort(),
    );
    await page.locator('a[data-wizard="quota"]').click();
    await page.getByLabel('uid', { exact: true }).waitFor();
    equal(new URL(page.url()).search, '?tree=quota');
    const errors = fx.consoleErrors.slice(errorsBefore);
    deepEqual(errors, [], `console errors on the diagnostics pages:\n${errors.join('\n')}`);
  });
}
