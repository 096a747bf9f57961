import { launchChromium } from './test/support/chromium.ts';
import { writeFileSync } from 'node:fs';
const BASE = 'http://127.0.0.1:3100';
const browser = await launchChromium();
const logs: string[] = [];
const tag = process.argv[2] ?? 'a';
const only = process.argv[3];
const viewports = [ { n: 'desk', w: 1280, h: 800 }, { n: 'phone', w: 390, h: 844 } ];
const schemes = ['light', 'dark'] as const;
let navItems: { text: string; href: string }[] = [];
for (const vp of viewports) for (const cs of schemes) {
  const ctx = await browser.newContext({ viewport: { width: vp.w, height: vp.h }, colorScheme: cs, isMobile: vp.n === 'phone', hasTouch: vp.n === 'phone', deviceScaleFactor: 1 });
  const page = await ctx.newPage();
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') logs.push(`[${vp.n}/${cs}] ${page.url()} console.${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => logs.push(`[${vp.n}/${cs}] ${page.url()} pageerror: ${e.message}`));
  page.on('response', (r) => { if (r.status() >= 400) logs.push(`[${vp.n}/${cs}] HTTP ${r.status()} ${r.url()}`); });
  await page.goto(BASE + '/');
  await page.screenshot({ path: `/tmp/ca/shots/${tag}-signin-${vp.n}-${cs}.png`, fullPage: true });
  await page.getByLabel(/user/i).first().fill('admin');
  await page.getByLabel(/password/i).first().fill('Audit-admin-pass-1');
  await page.getByRole('button', { name: /sign in/i }).click();
  await page.waitForTimeout(1500);
  if (navItems.length === 0) {
    navItems = await page.$$eval('nav[aria-label="Console"] a', (as) => as.map((a) => ({ text: (a.textContent ?? '').trim(), href: (a as HTMLAnchorElement).getAttribute('href') ?? '' })));
    console.log(JSON.stringify(navItems));
  }
  for (const item of navItems) {
    const slug = item.href === '/' ? 'overview' : item.href.replace(/^\//, '').replace(/\W+/g, '-');
    if (only && !only.split(',').includes(slug)) continue;
    await page.goto(BASE + item.href, { waitUntil: 'networkidle' });
    await page.waitForTimeout(1200);
    await page.screenshot({ path: `/tmp/ca/shots/${tag}-${slug}-${vp.n}-${cs}.png`, fullPage: true });
    const ov = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth }));
    if (ov.sw > ov.cw) logs.push(`[${vp.n}/${cs}] ${item.href} horizontal overflow: scrollWidth ${ov.sw} > ${ov.cw}`);
  }
  await ctx.close();
}
writeFileSync(`/tmp/ca/${tag}-logs.txt`, logs.join('\n'));
console.log(logs.join('\n'));
await browser.close();
