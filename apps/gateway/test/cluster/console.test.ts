/// <reference lib="dom" />
// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators, whose innerText() is the rendered text the user reads
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { NodeView, RollingRestartView } from '@claudefs/api';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ensureBuilt, SHOTS, startNext } from '../console/fixture.ts';
import { launchChromium } from '../support/chromium.ts';
import { freePort } from '../support/ports.ts';
import type { ProcessHandle } from '../support/proc.ts';
import { requireTools } from '../support/tools.ts';
import { trpc } from '../trpc/fixture.ts';
import {
  byName,
  type ClusterNode,
  DEADLINE_MS,
  eventually,
  OPERATOR,
  startCluster,
  type TestCluster,
  tcpConnect,
  VIEWER,
} from './fixture.ts';

/**
 * The console's cluster page and its rolling-restart walk in headless Chromium, against three
 * real gateways sharing a PostgreSQL control plane (1 s heartbeats). The console talks to gw-a.
 * The test plays the operator: when the wizard says restart, it stops the node's process by
 * PID and starts it again with the same configuration.
 */
const RESTART = 'sudo systemctl restart claudefs-gateway';
const STEP = 'ol[aria-label="Rolling restart steps"] > li';

describe('console: cluster page and rolling restart', requireTools('chromium', 'initdb', 'postgres'), () => {
  let c: TestCluster;
  let web: ProcessHandle | undefined;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  let base: string;
  const consoleErrors: string[] = [];
  let gwA: ClusterNode;
  let gwB: ClusterNode;
  let gwC: ClusterNode;

  const watch = (p: Page) => {
    p.on('console', (m) => {
      // A restart of the console's own gateway makes the proxy answer 502 for a moment: expected.
      if (m.type() === 'error' && !/502|503|Bad Gateway|Failed to load resource/.test(m.text()))
        consoleErrors.push(`${p.url()}: ${m.text()}`);
    });
    p.on('pageerror', (e) => consoleErrors.push(`${p.url()}: ${e.message}`));
  };
  const signIn = async (p: Page, user: string, password: string) => {
    await p.goto(`${base}/cluster`);
    await p.locator('input[name="username"]').fill(user);
    await p.locator('input[type="password"]').fill(password);
    await p.locator('input[type="password"]').press('Enter');
    await p.locator('nav[aria-label="Console"]').waitFor({ timeout: 15_000 });
  };
  const newContext = (dark = false) =>
    browser.newContext({ viewport: { width: 1024, height: 900 }, colorScheme: dark ? 'dark' : 'light' });

  /** The cluster page as it is now, light and dark, 1024 px wide, once `ready` is on it. */
  const shoot = async (name: string, ready: string) => {
    for (const dark of [false, true]) {
      const shotCtx = await newContext(dark);
      await shotCtx.addCookies(await ctx.cookies());
      const p = await shotCtx.newPage();
      watch(p);
      await p.goto(`${base}/cluster`);
      await p.locator(ready).first().waitFor({ timeout: 15_000 });
      await p.waitForTimeout(300);
      await p.screenshot({
        path: join(SHOTS, `${name}${dark ? '-dark' : ''}.png`),
        fullPage: true,
        timeout: 120_000,
      });
      await shotCtx.close();
    }
  };

  const row = (name: string) => page.locator(`tr[data-node="${name}"]`);
  const step = (name: string) => page.locator(`${STEP}[data-node="${name}"]`);
  const waitFor = (fn: () => boolean, timeout = DEADLINE_MS) =>
    page.waitForFunction(fn, undefined, { timeout });
  const waitPhase = (name: string, phase: string, timeout = DEADLINE_MS) =>
    page.waitForFunction(
      ([sel, p]) => document.querySelector(sel as string)?.getAttribute('data-phase') === p,
      [`${STEP}[data-node="${name}"]`, phase],
      { timeout },
    );
  const waitRow = (name: string, attr: 'health' | 'draining', value: string, timeout = DEADLINE_MS) =>
    page.waitForFunction(
      ([sel, a, v]) => document.querySelector(sel as string)?.getAttribute(`data-${a}`) === v,
      [`tr[data-node="${name}"]`, attr, value],
      { timeout },
    );
  const walkStatus = async () => {
    const r = await trpc<{ walk: RollingRestartView | null; blockers: string[] }>(
      gwB.base,
      'query',
      'rollingRestart.status',
      undefined,
      { cookie: c.cookies.admin },
    );
    assert.equal(r.status, 200, r.error?.message);
    return r.data;
  };
  /**
   * The operator's restart: the process stopped by PID, then started on the same configuration;
   * with `seenStopped`, only once the walk's step shows it saw the node stopped (a node back
   * within one look of the walk is never seen stopped).
   */
  const restartNode = async (node: ClusterNode, o: { seenStopped?: boolean } = {}) => {
    const proc = node.proc;
    const stopped = await node.stop();
    assert.equal(stopped?.code, 0, `${node.name} stopped cleanly:\n${proc?.output().slice(-3000)}`);
    if (o.seenStopped)
      await page.waitForFunction(
        (sel) => /seen (stopped|down) at/.test(document.querySelector(sel)?.textContent ?? ''),
        `${STEP}[data-node="${node.name}"] [data-testid="measured"]`,
        { timeout: DEADLINE_MS },
      );
    await node.start();
  };
  const everyNodeServing = () =>
    eventually(
      () => c.list(gwB),
      (ns: NodeView[]) => ns.every((n) => n.health === 'healthy' && !n.draining && !n.drainRequest),
      'every node healthy and not draining',
    );

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const building = ensureBuilt();
    c = await startCluster(['gw-a', 'gw-b', 'gw-c'], { heartbeat: '1s' });
    [gwA, gwB, gwC] = c.nodes as [ClusterNode, ClusterNode, ClusterNode];
    await building;
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    web = await startNext(gwA.base, port);
    browser = await launchChromium();
    ctx = await newContext();
    page = await ctx.newPage();
    watch(page);
    await everyNodeServing();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await web?.stop();
    await c?.stop();
  });

  test('1 the cluster page lists every node, live, with health as word and colour', async () => {
    await signIn(page, OPERATOR.user, OPERATOR.password);
    assert.match(await page.locator('nav[aria-label="Console"]').innerText(), /Cluster/);
    for (const name of ['gw-a', 'gw-b', 'gw-c']) await waitRow(name, 'health', 'healthy');
    const a = await row('gw-a').innerText();
    assert.match(a, /gw-a\s*this console's gateway/);
    assert.match(a, new RegExp(`127\\.0\\.0\\.1:${gwA.healthPort}`));
    assert.match(a, /healthy/);
    assert.match(await row('gw-b').getByTestId('heartbeat-age').innerText(), /^\d\.\d s ago$/);
    assert.equal(await row('gw-b').locator('[data-status]').getAttribute('data-status'), 'healthy');
    assert.match(await page.getByTestId('walk-order').innerText(), /^Order: gw-b → gw-c → gw-a/);
    await shoot('cluster', 'tr[data-node="gw-c"][data-health="healthy"]');
  });

  test('2 drain gw-c from the table: it drains at its next heartbeat, the walk will not start, undrain serves again', async () => {
    await page.getByRole('button', { name: 'Drain gw-c' }).click();
    const dialog = page.getByRole('dialog', { name: 'Drain gw-c?' });
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /at its next heartbeat \(within 1\.0 s\)/);
    await dialog.getByRole('button', { name: 'Drain', exact: true }).click();
    await waitRow('gw-c', 'draining', 'true', 10_000);
    assert.match(await row('gw-c').innerText(), /yes, for/);
    // The walk's blockers follow the registry within their own poll. A drain is all that
    // blocks it: the banner offers the undrain (confirmed as from the table), not diagnostics.
    const blockers = page.getByTestId('walk-blockers').filter({ hasText: 'gw-c is draining' });
    await blockers.waitFor({ timeout: 10_000 });
    assert.ok(await page.getByRole('button', { name: 'Start rolling restart' }).isDisabled());
    assert.equal(await blockers.getByRole('link', { name: 'Find out why with the diagnostics' }).count(), 0);
    await blockers.getByRole('button', { name: 'Undrain gw-c' }).click();
    await page
      .getByRole('dialog', { name: 'Undrain gw-c?' })
      .getByRole('button', { name: 'Undrain' })
      .click();
    await waitRow('gw-c', 'draining', 'false', 10_000);
    await page.getByRole('button', { name: 'Start rolling restart' }).waitFor();
    await waitFor(() => !(document.querySelector('button[title="a node is not serving"]') ?? null));
  });

  test('2b reload gw-c from the table: the row says what applied and what waits for its restart, or why the file was refused', async () => {
    const original = readFileSync(gwC.config, 'utf8');
    const reloadFromTable = async () => {
      await page.getByRole('button', { name: 'Reload the configuration of gw-c' }).click();
      const dialog = page.getByRole('dialog', { name: 'Reload the configuration of gw-c?' });
      assert.match(await dialog.innerText(), /at its next heartbeat \(within 1\.0 s\), as SIGHUP would/);
      await dialog.getByRole('button', { name: 'Reload', exact: true }).click();
    };
    const cell = row('gw-c').getByTestId('node-config');
    try {
      assert.equal(await cell.innerText(), 'as started');
      writeFileSync(gwC.config, `${original}cache: { ttl: 3s }\ndurability: { metadata: async }\n`);
      await reloadFromTable();
      await cell.filter({ hasText: /reloaded .*: 1 applied/ }).waitFor({ timeout: 15_000 });
      assert.match(await cell.innerText(), /1 waits for a restart: durability\.metadata/);
      assert.match(
        gwC.proc?.output() ?? '',
        new RegExp(`reloading the configuration as console:${OPERATOR.user} asked through the control plane`),
      );
      // A file with errors changes nothing, and the row says why.
      writeFileSync(gwC.config, `${original}cache: { ttl: banana }\n`);
      await reloadFromTable();
      await cell.filter({ hasText: /file refused/ }).waitFor({ timeout: 15_000 });
      assert.match(await cell.innerText(), /cache\.ttl/);
      const [refused] = await c.audit('gateway.config.reload');
      assert.deepEqual(
        [refused?.actor, refused?.target, refused?.outcome],
        [`console:${OPERATOR.user}`, 'node:gw-c', 'error'],
      );
      await shoot('cluster-reload', 'tr[data-node="gw-c"] [data-testid="node-config"]');
    } finally {
      writeFileSync(gwC.config, original);
    }
  });

  test('3 the whole rolling restart: each node drained, waited for, restarted by the operator and back healthy before the next', async (t) => {
    // Two idle S3 clients on gw-b: the wait shows them leave one by one.
    const clients = [await tcpConnect(gwB.s3Port), await tcpConnect(gwB.s3Port)];
    await page.getByRole('button', { name: 'Start rolling restart' }).click();
    const confirm = page.getByRole('dialog', { name: 'Start a rolling restart?' });
    assert.match(await confirm.innerText(), /gw-b → gw-c → gw-a/);
    await confirm.getByRole('button', { name: 'Start', exact: true }).click();

    // gw-b: drained, then waiting on its two connections.
    await waitPhase('gw-b', 'waiting', 15_000);
    const count = step('gw-b').getByTestId('walk-connections');
    await waitFor(
      () => document.querySelector('[data-testid="walk-connections"]')?.textContent === '2',
      10_000,
    );
    assert.match(
      await step('gw-b').getByTestId('walk-instruction').innerText(),
      /Waiting until its connections reach 0, or 30 s pass/,
    );
    assert.equal(await step('gw-b').getAttribute('aria-current'), 'step');
    assert.equal(await step('gw-c').getAttribute('data-phase'), 'pending', 'only one node out at a time');
    await waitRow('gw-b', 'draining', 'true');
    await shoot('cluster-walk-waiting', `${STEP}[data-node="gw-b"][data-phase="waiting"]`);
    for (const s of clients) if (s.state === 'open') s.close();
    assert.equal(clients.length, 2);
    await waitFor(
      () => document.querySelector('[data-testid="walk-connections"]')?.textContent !== '2',
      10_000,
    ).catch(() => {});
    t.diagnostic(
      `gw-b connections shown after the clients left: ${await count.innerText().catch(() => '(moved on)')}`,
    );

    // gw-b: the restart step tells the operator what to run and that the console cannot.
    await waitPhase('gw-b', 'restarting', 15_000);
    const restart = step('gw-b').getByTestId('walk-restart');
    assert.match(await restart.innerText(), /Restart gw-b now/);
    assert.match(await restart.innerText(), /The console cannot restart another machine's process/);
    assert.equal(await restart.locator('code').innerText(), RESTART);
    await restart.getByRole('button', { name: `Copy ${RESTART}` }).waitFor();
    const measuredB = await step('gw-b').getByTestId('measured').innerText();
    assert.match(measuredB, /drain took effect after\s+\d+\.\d s/);
    assert.match(measuredB, /wait ended because\s+its connections reached 0/);
    await shoot('cluster-walk-restart', `${STEP}[data-node="gw-b"][data-phase="restarting"]`);

    // The page reloads in the middle: the walk is the control plane's, so it is still here.
    await page.reload();
    await waitPhase('gw-b', 'restarting', 15_000);

    // A client of gw-c that never leaves, connected while gw-c still accepts.
    const stubborn = await tcpConnect(gwC.s3Port);
    assert.equal(stubborn.state, 'open');
    await restartNode(gwB, { seenStopped: true });
    await waitPhase('gw-b', 'done', DEADLINE_MS);
    const doneB = await step('gw-b').getByTestId('measured').innerText();
    assert.match(doneB, /seen (stopped|down) at/);
    assert.match(doneB, /start time after \(registered again\)/);
    assert.match(doneB, /back in service after the restart\s+\d+\.\d s/);

    // gw-c: its client never leaves, so the runbook's 30 s decide.
    await waitPhase('gw-c', 'waiting', 15_000);
    assert.equal(await step('gw-a').getAttribute('data-phase'), 'pending');
    await waitPhase('gw-c', 'restarting', 45_000);
    assert.match(
      await step('gw-c').getByTestId('measured').innerText(),
      /wait ended because\s+30 s passed with \d+ connections? open/,
    );
    if (stubborn.state === 'open') stubborn.close();
    await restartNode(gwC);
    await waitPhase('gw-c', 'done', DEADLINE_MS);

    // gw-a is the console's own gateway: the console loses it while it restarts, then goes on.
    await waitPhase('gw-a', 'restarting', 30_000);
    assert.match(
      await step('gw-a').getByTestId('walk-restart').innerText(),
      /This is the gateway the console talks to/,
    );
    await restartNode(gwA);
    await page
      .getByTestId('rolling-restart')
      .and(page.locator('[data-outcome="finished"]'))
      .waitFor({ timeout: DEADLINE_MS });
    assert.match(
      await page.getByTestId('walk-outcome').innerText(),
      /3 of 3 nodes restarted, each healthy and not draining again/,
    );
    for (const name of ['gw-a', 'gw-b', 'gw-c']) {
      await waitRow(name, 'health', 'healthy');
      await waitRow(name, 'draining', 'false');
    }
    const nodes = await everyNodeServing();
    assert.equal(nodes.length, 3);
    await shoot('cluster-walk-finished', '[data-testid="walk-outcome"]');

    const [started] = await c.audit('rolling-restart.start');
    const [finished] = await c.audit('rolling-restart.finish');
    assert.deepEqual([started?.actor, started?.outcome], [`console:${OPERATOR.user}`, 'ok']);
    assert.deepEqual([finished?.actor, finished?.outcome], [`console:${OPERATOR.user}`, 'ok']);
    assert.deepEqual(
      ((finished?.detail as { nodes?: Array<{ name: string; phase: string }> } | undefined)?.nodes ?? []).map(
        (n) => `${n.name}:${n.phase}`,
      ),
      ['gw-b:done', 'gw-c:done', 'gw-a:done'],
    );
    const drains = await c.audit('gateway.drain');
    assert.ok(
      drains.some((e) => e.target === 'node:gw-a' && /rolling restart #\d+/.test(e.actor)),
      'each node audited the drain it carried out for the walk',
    );
  });

  test('4 cancel: the node being drained is undrained, the walk ends, both audited', async () => {
    const held = await tcpConnect(gwB.s3Port);
    await page.getByRole('button', { name: 'Start rolling restart' }).click();
    await page
      .getByRole('dialog', { name: 'Start a rolling restart?' })
      .getByRole('button', { name: 'Start', exact: true })
      .click();
    await waitPhase('gw-b', 'waiting', 15_000);
    await waitRow('gw-b', 'draining', 'true');
    await page.getByRole('button', { name: 'Cancel rolling restart' }).click();
    const dialog = page.getByRole('dialog', { name: 'Cancel the rolling restart?' });
    assert.match(await dialog.innerText(), /gw-b is asked to undrain/);
    await dialog.getByRole('button', { name: 'Cancel the walk' }).click();
    await page.locator('[data-testid="walk-outcome"][data-outcome="cancelled"]').waitFor();
    assert.match(
      await page.getByTestId('walk-outcome').innerText(),
      /Cancelled by console:olive .* while on gw-b/,
    );
    await waitRow('gw-b', 'draining', 'false', 10_000);
    if (held.state === 'open') held.close();
    const [cancelled] = await c.audit('rolling-restart.cancel');
    assert.deepEqual([cancelled?.actor, cancelled?.outcome], [`console:${OPERATOR.user}`, 'ok']);
    const status = await walkStatus();
    assert.deepEqual([status.walk?.outcome, status.walk?.endedBy], ['cancelled', `console:${OPERATOR.user}`]);
    await everyNodeServing();
  });

  test('5 a node down: obvious at a glance, and the walk refuses to start, saying why, with the diagnostics a click away', async () => {
    await gwC.kill();
    await waitRow('gw-c', 'health', 'down', 20_000);
    assert.equal(await row('gw-c').locator('[data-status]').getAttribute('data-status'), 'unhealthy');
    assert.match(await page.getByTestId('nodes-down').innerText(), /gw-c is down \(no heartbeat for \d/);
    const blockers = page
      .getByTestId('walk-blockers')
      .filter({ hasText: /gw-c is down \(no heartbeat for \d+ s\)/ });
    await blockers.waitFor({ timeout: 10_000 });
    assert.equal(
      await blockers.getByRole('link', { name: 'Find out why with the diagnostics' }).getAttribute('href'),
      '/diagnostics',
    );
    assert.ok(await page.getByRole('button', { name: 'Start rolling restart' }).isDisabled());
    assert.ok(
      await page.getByRole('button', { name: 'Drain gw-c' }).isDisabled(),
      'a down node cannot be asked',
    );
    await shoot('cluster-node-down', 'tr[data-node="gw-c"][data-health="down"]');
    // The gateway refuses too, whatever a page shows.
    const r = await c.mutate(gwB, 'rollingRestart.start', undefined, 'operator');
    assert.equal(r.status, 412);
    assert.match(r.error?.message ?? '', /needs every other node serving: gw-c is down/);
    await gwC.start();
    await waitRow('gw-c', 'health', 'healthy');
  });

  test('6 a viewer sees the cluster but cannot drain or start a walk', async () => {
    const viewerCtx = await newContext();
    const p = await viewerCtx.newPage();
    watch(p);
    await signIn(p, VIEWER.user, VIEWER.password);
    await p.locator('tr[data-node="gw-b"]').waitFor();
    assert.ok(await p.getByRole('button', { name: 'Drain gw-b' }).isDisabled());
    assert.match(await p.getByTestId('nodes-denied').innerText(), /needs the operator role/);
    assert.match(await p.getByTestId('walk-denied').innerText(), /needs the operator role/);
    await viewerCtx.close();
    const nodes = byName(await c.list(gwB));
    assert.equal(nodes['gw-b']?.draining, false);
  });

  test('7 no console errors on any page', () => {
    assert.equal(consoleErrors.join('\n'), '');
  });
});
