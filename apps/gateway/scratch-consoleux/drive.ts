// Usage: node --import tsx drive.ts CTXNAME SNIPPET.js   — runs snippet body with (page, base, shot, log) in a persistent context
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
const [ctxName, file] = process.argv.slice(2);
const cdp = readFileSync(`/tmp/consoleux/cdp-${ctxName}.port`, 'utf8').trim();
const [, , , , , WEB] = readFileSync('/tmp/consoleux/ports', 'utf8').trim().split(/\s+/);
const base = `http://127.0.0.1:${WEB}`;
const browser = await chromium.connectOverCDP(`http://127.0.0.1:${cdp}`);
const ctx = browser.contexts()[0]!;
const page = ctx.pages()[0] ?? (await ctx.newPage());
const w = Number(process.env.W ?? 1280); await page.setViewportSize({ width: w, height: 900 }); await page.emulateMedia({ colorScheme: process.env.DARK ? 'dark' : 'light' });
page.on('pageerror', (e) => console.log('PAGEERROR', e.message));
page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') console.log('CONSOLE', m.type(), m.text().slice(0, 300)); });
page.on('dialog', (d) => { console.log('NATIVE DIALOG', d.type(), d.message()); void d.dismiss(); });
const shot = async (name: string, full = true) => { await page.screenshot({ path: `/tmp/consoleux/${name}.png`, fullPage: full }); console.log('shot', `/tmp/consoleux/${name}.png`); };
const log = console.log;
const signIn = async (user: string, pw: string) => {
  await page.goto(`${base}/`);
  await page.locator('input[name="username"]').fill(user);
  await page.locator('input[type="password"]').fill(pw);
  await page.locator('input[type="password"]').press('Enter');
  await page.locator('nav[aria-label="Console"]').waitFor({ timeout: 15000 });
};
const text = async (sel = 'main') => (await page.locator(sel).first().innerText()).replace(/\n{2,}/g, '\n');
const toasts = async () => page.locator('[data-toast]').allInnerTexts();
const body = readFileSync(file!, 'utf8');
const fn = new Function('page', 'base', 'shot', 'log', 'signIn', 'text', 'toasts', `return (async () => {${body}\n})();`);
try { await fn(page, base, shot, log, signIn, text, toasts); } catch (e) { console.log('SNIPPET ERROR', (e as Error).message.slice(0, 1500)); }
process.exit(0);
