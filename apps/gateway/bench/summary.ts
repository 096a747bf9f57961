// The end of `npm run bench`: every suite's rows from this run (bench-output/<suite>.json
// written after CFS_BENCH_STARTED) in one table — suite, workload, gateway, peer, ratio,
// target, met/missed — plus bench-output/summary.json and a chart, bench-output/summary.png
// (chart.ts; rendered by headless Chromium — without it, the SVG is kept as summary.svg).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ChartRow, chartSvg, renderPng } from './chart.ts';
import { type BenchRow, printTable } from './table.ts';

const outDir = fileURLToPath(new URL('../../../bench-output/', import.meta.url));
const started = Number(process.env.CFS_BENCH_STARTED ?? 0);

interface SummaryRow extends ChartRow {
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
