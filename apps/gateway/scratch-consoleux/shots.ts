import { mkdirSync, readFileSync } from 'node:fs';
import { launchChromium } from '../test/support/chromium.ts';
const [, , , , , WEB] = readFileSync('/tmp/consoleux/ports', 'utf8').trim().split(/\s+/);
const base = `http://127.0.0.1:${WEB}`;
const user = process.argv[2] ?? 'alice';
const pw = process.argv[3] ?? 'Pw-alice-cux-123';
const out = process.argv[4] ?? '/tmp/consoleux/shots';
const only = process.argv[5]?.split(',');
mkdirSync(out, { recursive: true });
const PAGES = ['/', '/maintenance', '/quotas', '/metrics', '/connections', '/access', '/buckets', '/circuits', '/certificates', '/diagnostics', '/users', '/audit', '/runbook', '/cluster'];
const browser = await launchChromium();
for (const width of [1280, 390]) for (const dark of [false, true]) {
  const ctx = await browser.newContext({ viewport: { width, height: 900 }, colorScheme: dark ? 'dark' : 'light' });
  const p = await ctx.newPage();
  p.on('pageerror', (e) => console.log('pageerror', p.url(), e.message));
  p.on('console', (m) => { if (m.type() === 'error') console.log('console', p.url(), m.text()); });
  await p.goto(`${base}/`);
  await p.locator('input[name="username"]').fill(user);
  await p.locator('input[type="password"]').fill(pw);
  await p.locator('input[type="password"]').press('Enter');
  await p.locator('nav[aria-label="Console"]').waitFor({ timeout: 15000 });
  if (width === 1280 && !dark) console.log('NAV', (await p.locator('nav[aria-label="Console"]').innerText()).replace(/\n/g, ' | '));
  for (const path of PAGES) {
    if (only && !only.includes(path)) continue;
    await p.goto(`${base}${path}`);
    await p.waitForTimeout(2500);
    const name = `${path === '/' ? 'overview' : path.slice(1)}-${width}-${dark ? 'dark' : 'light'}.png`;
    await p.screenshot({ path: `${out}/${name}`, fullPage: true });
    if (width === 1280 && !dark) {
      const txt = await p.locator('main').innerText().catch(() => '(no main)');
      console.log(`===== ${path}\n${txt.slice(0, 6000)}`);
    }
    // horizontal overflow check
    const ov = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (ov > 0) console.log(`OVERFLOW ${path} ${width} ${dark ? 'dark' : 'light'} by ${ov}px`);
  }
  await ctx.close();
}
await browser.close();
