/// <reference lib="dom" />
// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators, whose innerText() is the rendered text the user reads
import { equal, match, ok } from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { type ConsoleFixture, SHOTS } from './fixture.ts';

/** Generous: the banner shows on the console's next 5 s poll, on a loaded 2-core machine. */
const NOTICE_DEADLINE = 60_000;

const downBanner = (p: Page) => p.getByRole('alert').filter({ hasText: 'Gateway unreachable' });

/** The overview's health word reads an answer again (healthy or degraded). */
const answeringAgain = (p: Page) =>
  p.waitForFunction(
    () =>
      /^(healthy|degraded)$/.test(document.querySelector('[data-testid="health-word"]')?.textContent ?? ''),
    undefined,
    { timeout: NOTICE_DEADLINE },
  );

const stuckBanner = (p: Page) => p.getByRole('alert').filter({ hasText: 'Gateway not answering' });

export function recoveryTests(fx: ConsoleFixture): void {
  test('13b with the gateway alive but answering nothing (SIGSTOP) the console says it is stuck and where to look; let run again, the console recovers by itself', async () => {
    const p = await fx.ctx.newPage();
    await p.goto(`${fx.base}/`);
    await p.getByTestId('health-word').waitFor();
    process.kill(fx.gw.pid, 'SIGSTOP');
    try {
      // The proxy gives health 10 s, then the console's next poll shows it.
      await stuckBanner(p).waitFor({ timeout: NOTICE_DEADLINE });
      const text = await stuckBanner(p).innerText();
      match(text, /has not answered for 10 s: it is stuck/);
      match(
        text,
        /On the gateway's host, \.\/cfs diagnose unresponsive says which, what it waits in and what to do/,
      );
      equal(await downBanner(p).count(), 0, 'not the banner of a gateway that is gone');
      equal(await p.getByTestId('health-word').innerText(), 'unreachable');
      await p.screenshot({ path: join(SHOTS, 'gateway-stuck.png') });
      // A console opened while the gateway is stuck: the banner, and it stays through the polls
      // that follow (each starts the unanswered session query over) — never the first-load spinner.
      const fresh = await fx.ctx.newPage();
      try {
        await fresh.goto(`${fx.base}/`);
        await stuckBanner(fresh).waitFor({ timeout: NOTICE_DEADLINE });
        for (let i = 0; i < 12; i++) {
          equal(await stuckBanner(fresh).count(), 1, `the banner still there after ${i} s`);
          equal(await fresh.getByText('Connecting to the gateway…').count(), 0, `no spinner after ${i} s`);
          await fresh.waitForTimeout(1000);
        }
      } finally {
        await fresh.close();
      }
    } finally {
      process.kill(fx.gw.pid, 'SIGCONT');
    }
    await stuckBanner(p).waitFor({ state: 'detached', timeout: NOTICE_DEADLINE });
    await answeringAgain(p);
    await p.close();
  });

  test('14 with the gateway stopped every page says it is unreachable; started again on the same ports, the console recovers by itself', async () => {
    const p = await fx.ctx.newPage();
    const errors: string[] = [];
    p.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    p.on('pageerror', (e) => errors.push(e.message));
    await p.goto(`${fx.base}/`);
    await p.getByTestId('health-word').waitFor();
    // Survives only while the document does: proof that recovery needed no reload.
    await p.evaluate(() => {
      (window as unknown as { sameDocument: boolean }).sameDocument = true;
    });
    const nav = p.locator('nav[aria-label="Console"]');
    const hrefs = await nav.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href') ?? ''));
    ok(hrefs.length >= 11, hrefs.join(' '));

    process.kill(fx.gw.pid, 'SIGTERM');
    await fx.gw.exited;
    await downBanner(p).waitFor({ timeout: NOTICE_DEADLINE });
    equal(await p.getByTestId('health-word').innerText(), 'unreachable');
    await p.screenshot({ path: join(SHOTS, 'gateway-down.png') });
    for (const href of hrefs) {
      await nav.locator(`a[href="${href}"]`).click();
      await p.waitForURL((u) => u.pathname === href);
      await downBanner(p).waitFor({ timeout: NOTICE_DEADLINE });
      match(await downBanner(p).innerText(), /recovers by itself/);
    }
    // A page opened while the gateway is down says so too.
    const fresh = await fx.ctx.newPage();
    await fresh.goto(`${fx.base}/quotas`);
    await downBanner(fresh).waitFor({ timeout: NOTICE_DEADLINE });

    fx.gw = await fx.startGateway();
    await nav.locator('a[href="/"]').click();
    await downBanner(p).waitFor({ state: 'detached', timeout: NOTICE_DEADLINE });
    await answeringAgain(p);
    await p.locator('[data-testid="listener-address"]').first().waitFor({ timeout: NOTICE_DEADLINE });
    await p.screenshot({ path: join(SHOTS, 'gateway-recovered.png') });
    ok(
      await p.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument === true),
      'the console recovered without reloading the page',
    );
    await fresh.locator('main h1', { hasText: 'Quotas' }).waitFor({ timeout: NOTICE_DEADLINE });
    await downBanner(fresh).waitFor({ state: 'detached', timeout: NOTICE_DEADLINE });
    await fresh.close();
    await p.close();
    // While it was down the browser logged the proxy's 502 answers; nothing else.
    const unexpected = errors.filter((e) => !/status of 502/.test(e));
    equal(unexpected.join('\n'), '', 'no console error beyond the refused requests');
  });
}
