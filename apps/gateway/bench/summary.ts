// The end of `npm run bench`: every suite's rows from this run (bench-output/<suite>.json
// written after CFS_BENCH_STARTED) in one table — suite, workload, gateway, peer, ratio,
// target, met/missed — plus bench-output/summary.json and a chart, bench-output/summary.png
// (rendered by headless Chromium; without it, the SVG is kept as summary.svg and said so).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { toolPath } from '../test/support/tools.ts';
import { type BenchRow, printTable } from './table.ts';

const outDir = fileURLToPath(new URL('../../../bench-output/', import.meta.url));
const started = Number(process.env.CFS_BENCH_STARTED ?? 0);

interface SummaryRow extends BenchRow {
  suite: string;
  ratio?: number;
}

function rowsOfThisRun(): SummaryRow[] {
  if (!existsSync(outDir)) return [];
  const rows: SummaryRow[] = [];
  for (const f of readdirSync(outDir).sort()) {
    if (!f.endsWith('.json') || f === 'summary.json') continue;
    const path = join(outDir, f);
    if (statSync(path).mtimeMs < started) continue;
    const suite = f.replace(/\.json$/, '');
    for (const r of JSON.parse(readFileSync(path, 'utf8')) as BenchRow[]) {
      rows.push({ suite, ...r, ratio: r.peer ? r.gateway / r.peer : undefined });
    }
  }
  return rows;
}

/** Horizontal bars: the gateway/peer ratio of each compared workload, its target drawn as a tick. */
function chartSvg(rows: SummaryRow[]): string {
  const compared = rows.filter((r) => r.ratio !== undefined && Number.isFinite(r.ratio));
  const labelW = 430;
  const barW = 420;
  const rowH = 26;
  const top = 48;
  const max = Math.max(2, ...compared.map((r) => r.ratio!));
  const x = (v: number) => labelW + (Math.min(v, max) / max) * barW;
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const bars = compared.map((r, i) => {
    const y = top + i * rowH;
    const want = /([\d.]+)×/.exec(r.target)?.[1];
    const tick = want
      ? `<line x1="${x(Number(want))}" x2="${x(Number(want))}" y1="${y - 2}" y2="${y + 18}" stroke="#111" stroke-width="2"/>`
      : '';
    return `<text x="${labelW - 8}" y="${y + 13}" text-anchor="end">${esc(`${r.suite}: ${r.workload}`)}</text>
<rect x="${labelW}" y="${y}" width="${x(r.ratio!) - labelW}" height="16" fill="${r.met ? '#16a34a' : '#dc2626'}"/>
${tick}<text x="${x(r.ratio!) + 6}" y="${y + 13}">${r.ratio!.toFixed(2)}×</text>`;
  });
  const height = top + compared.length * rowH + 30;
  const axis = [0, 0.5, 1, 1.5, 2, max]
    .filter((v, i, a) => v <= max && a.indexOf(v) === i)
    .map(
      (v) =>
        `<line x1="${x(v)}" x2="${x(v)}" y1="${top - 6}" y2="${height - 24}" stroke="#ddd"/><text x="${x(v)}" y="${height - 8}" text-anchor="middle">${v.toFixed(1)}×</text>`,
    );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + barW + 80}" height="${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#fff"/>
<text x="12" y="22" font-size="15" font-weight="bold">ClaudeFS Gateway vs peers — ratio gateway/peer (green met, red missed; black tick: target)</text>
${axis.join('\n')}
${bars.join('\n')}
</svg>`;
}

async function renderPng(svg: string, file: string): Promise<boolean> {
  const executablePath = toolPath('chromium');
  if (!executablePath) return false;
  const browser = await chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
  });
  try {
    const page = await browser.newPage();
    await page.setContent(`<html><body style="margin:0">${svg}</body></html>`);
    await page.locator('svg').screenshot({ path: file });
    return true;
  } finally {
    await browser.close();
  }
}

const rows = rowsOfThisRun();
if (rows.length === 0) {
  console.log('\nNo benchmark results from this run.');
} else {
  printTable(
    'All suites of this run (gateway vs peers)',
    rows.map((r) => ({ ...r, workload: `${r.suite}: ${r.workload}` })),
  );
  const targets = rows.filter((r) => r.target !== '(info)');
  console.log(`\n${targets.filter((r) => r.met).length} of ${targets.length} targets met.`);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    join(outDir, 'summary.json'),
    `${JSON.stringify({ at: new Date().toISOString(), rows }, null, 2)}\n`,
  );
  const svg = chartSvg(rows);
  const png = join(outDir, 'summary.png');
  if (await renderPng(svg, png)) {
    rmSync(join(outDir, 'summary.svg'), { force: true });
    console.log(`Table: bench-output/summary.json; chart: bench-output/summary.png`);
  } else {
    writeFileSync(join(outDir, 'summary.svg'), svg);
    console.log(
      'Table: bench-output/summary.json; chart: bench-output/summary.svg (no chromium for the PNG)',
    );
  }
}
