// The chart of `npm run bench` (bench-output/summary.png), as SVG. Two panels, each read the
// same way — a bar that reaches its black tick meets the target:
//   throughput: gateway ÷ peer per workload, the tick at the target ratio ("≥ 0.5× nginx");
//   tail latency: the gateway's milliseconds, the tick at the target ("≤ 5 ms"), the peer's
//     figure as a grey diamond — lower is better, so there a bar short of its tick is met.
// Green met, red missed, grey for rows measured for information only.
import { launchChromium } from '../test/support/chromium.ts';
import { toolPath } from '../test/support/tools.ts';
import { type BenchRow, fmt, ratioText } from './table.ts';

export interface ChartRow extends BenchRow {
  suite: string;
}

/** Pixels a character of the 12 px sans-serif labels takes on average, with room to spare. */
const CHAR_W = 6.6;
const BAR_W = 420;
const ROW_H = 26;
const PANEL_GAP = 44;
const RIGHT = 190;

const GREEN = '#16a34a';
const RED = '#dc2626';
const GREY = '#9ca3af';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export const labelOf = (r: ChartRow) => `${r.suite}: ${r.workload}`;
const isLatency = (r: ChartRow) => r.unit === 'ms';
const info = (r: ChartRow) => r.target === '(info)';
const colour = (r: ChartRow) => (info(r) ? GREY : r.met ? GREEN : RED);

/** The number in a target such as "≥ 0.6× nginx" (a ratio) or "≤ 5 ms" (milliseconds). */
function targetValue(target: string, unit: '×' | 'ms'): number | undefined {
  const m = (unit === '×' ? /([\d.]+)×/ : /([\d.]+)\s*ms/).exec(target);
  return m ? Number(m[1]) : undefined;
}

/** Axis values: 0, then round steps up to `max`. */
function ticks(max: number): number[] {
  const raw = max / 8;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((s) => s * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = 0; v <= max + 1e-9; v += step) out.push(Number(v.toFixed(6)));
  return out;
}

interface Panel {
  title: string;
  rows: ChartRow[];
  value(r: ChartRow): number;
  target(r: ChartRow): number | undefined;
  peer?(r: ChartRow): number | undefined;
  text(r: ChartRow): string;
  unit: string;
}

export function chartSvg(rows: ChartRow[]): string {
  const throughput = rows.filter((r) => !isLatency(r) && r.peer !== undefined && r.peer > 0);
  const latency = rows.filter(isLatency);
  const panels: Panel[] = [];
  if (throughput.length > 0)
    panels.push({
      title: 'Throughput: gateway ÷ peer, higher is better',
      rows: throughput,
      value: (r) => r.gateway / r.peer!,
      target: (r) => targetValue(r.target, '×'),
      text: ratioText,
      unit: '×',
    });
  if (latency.length > 0)
    panels.push({
      title: 'Tail latency in ms, lower is better (grey diamond: the peer)',
      rows: latency,
      value: (r) => r.gateway,
      target: (r) => targetValue(r.target, 'ms'),
      peer: (r) => r.peer,
      text: (r) =>
        `${fmt(r.gateway)} ms${r.peer === undefined ? '' : ` (${r.peerName ?? 'peer'} ${fmt(r.peer)})`}`,
      unit: ' ms',
    });

  const charted = panels.flatMap((p) => p.rows);
  const labelW = 16 + Math.max(24, ...charted.map((r) => labelOf(r).length)) * CHAR_W;
  const parts: string[] = [];
  let y = 40;
  for (const p of panels) {
    const max = Math.max(
      p.unit === '×' ? 2 : 1,
      ...p.rows.flatMap((r) => [p.value(r), p.target(r) ?? 0, p.peer?.(r) ?? 0]),
    );
    const x = (v: number) => labelW + (Math.min(v, max) / max) * BAR_W;
    parts.push(`<text x="12" y="${y + 14}" font-size="13" font-weight="bold">${esc(p.title)}</text>`);
    y += 26;
    const top = y;
    const bottom = top + p.rows.length * ROW_H;
    for (const t of ticks(max))
      parts.push(
        `<line x1="${x(t)}" x2="${x(t)}" y1="${top - 6}" y2="${bottom}" stroke="#e5e7eb"/>`,
        `<text x="${x(t)}" y="${bottom + 14}" text-anchor="middle" fill="#374151">${Number(t.toFixed(2))}${p.unit}</text>`,
      );
    for (const r of p.rows) {
      const v = p.value(r);
      const want = p.target(r);
      const peer = p.peer?.(r);
      parts.push(
        `<g class="row" data-label="${esc(labelOf(r))}" data-met="${info(r) ? 'info' : r.met}">`,
        `<text class="label" x="${labelW - 8}" y="${y + 13}" text-anchor="end">${esc(labelOf(r))}</text>`,
        `<rect class="bar" x="${labelW}" y="${y}" width="${(x(v) - labelW).toFixed(1)}" height="16" fill="${colour(r)}"/>`,
      );
      if (want !== undefined)
        parts.push(
          `<line class="target" x1="${x(want)}" x2="${x(want)}" y1="${y - 3}" y2="${y + 19}" stroke="#111" stroke-width="2"/>`,
        );
      if (peer !== undefined) {
        const px = x(peer);
        parts.push(
          `<path class="peer" d="M${px} ${y + 1}l6 7-6 7-6-7z" fill="#6b7280" stroke="#fff" stroke-width="1"/>`,
        );
      }
      const after = Math.max(x(v), want === undefined ? 0 : x(want), peer === undefined ? 0 : x(peer) + 6);
      parts.push(`<text class="value" x="${after + 6}" y="${y + 13}">${esc(p.text(r))}</text>`, '</g>');
      y += ROW_H;
    }
    y += PANEL_GAP;
  }
  const width = labelW + BAR_W + RIGHT;
  const height = y - PANEL_GAP + 30;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.ceil(width)}" height="${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#fff"/>
<text x="12" y="24" font-size="15" font-weight="bold">ClaudeFS Gateway vs peers (green met, red missed, grey for information; black tick: the target)</text>
${parts.join('\n')}
</svg>`;
}

/** Renders the SVG to a PNG with headless Chromium; false when there is no Chromium here. */
export async function renderPng(svg: string, file: string): Promise<boolean> {
  if (!toolPath('chromium')) return false;
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.setContent(`<html><body style="margin:0">${svg}</body></html>`);
    await page.locator('svg').screenshot({ path: file });
    return true;
  } finally {
    await browser.close();
  }
}
