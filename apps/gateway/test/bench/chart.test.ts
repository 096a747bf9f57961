// The bench's chart (bench/chart.ts → bench-output/summary.png) read as a person reads it:
// each bar against its tick, latency in milliseconds where lower is better, information rows
// apart, and every word of it inside the picture (rendered in Chromium, as `npm run bench` does).
import { ok } from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { type ChartRow, chartSvg, labelOf } from '../../bench/chart.ts';
import { launchChromium } from '../support/chromium.ts';
import { requireTools } from '../support/tools.ts';

/** Rows as one run of `npm run bench -- nfs smb s3` wrote them (session 21), cut down. */
const ROWS: ChartRow[] = [
  {
    suite: 'nfs',
    workload: 'write 1 GiB (nfs-cp), median of 3',
    gateway: 614,
    peer: 337,
    peerName: 'ganesha',
    unit: 'MiB/s',
    target: '≥ 1.0× ganesha',
    met: true,
  },
  {
    suite: 'nfs',
    workload: 'create+write 4 KiB+close, 1 session',
    gateway: 216,
    peer: 289,
    peerName: 'ganesha',
    unit: 'files/s',
    target: '≥ 1.0× ganesha',
    met: false,
  },
  {
    suite: 'nfs',
    workload: 'mkdir+rename+rmdir, 1 session',
    gateway: 533,
    peer: 1164,
    peerName: 'ganesha',
    unit: 'ops/s',
    target: '(info)',
    met: true,
  },
  {
    suite: 'nfs',
    workload: 'GETATTR p99, 16 sessions',
    gateway: 2.29,
    peer: 6.44,
    peerName: 'ganesha',
    unit: 'ms',
    target: '≤ 1 ms',
    met: false,
  },
  {
    suite: 's3',
    workload: 'GET 4 KiB (wrk -t2 -c16), median of 3',
    gateway: 20942,
    peer: 44647,
    peerName: 'nginx',
    unit: 'req/s',
    target: '≥ 0.5× nginx',
    met: false,
  },
  {
    suite: 's3',
    workload: 'GET 4 KiB p99 at 16 connections, median of 3',
    gateway: 2.31,
    peer: 2.17,
    peerName: 'nginx',
    unit: 'ms',
    target: '≤ 5 ms',
    met: true,
  },
  {
    suite: 'smb',
    workload: 'smbclient get 1 GiB encrypted (SMB 3.1.1, AES-128-GCM), median of 3',
    gateway: 743,
    peer: 173,
    peerName: 'smbd 4.17',
    unit: 'MB/s',
    target: '≥ 0.8× smbd',
    met: true,
  },
  {
    suite: 'smb',
    workload: 'disk: 1 GiB written and made durable (dd conv=fdatasync), the ceiling of a durable put',
    gateway: 1005,
    unit: 'MB/s',
    target: '(info)',
    met: true,
  },
];

interface Drawn {
  label: string;
  met: string;
  fill: string;
  barEnd: number;
  tick?: number;
  peer?: number;
  /** Which panel, by its heading. */
  panel: string;
}

describe('bench chart', requireTools('chromium'), () => {
  let browser: Browser;
  let page: Page;
  let drawn: Drawn[];

  before(async () => {
    browser = await launchChromium();
    page = await browser.newPage();
    await page.setContent(`<html><body style="margin:0">${chartSvg(ROWS)}</body></html>`);
    drawn = await page.$$eval('g.row', (groups) =>
      groups.map((g) => {
        const bar = g.querySelector('rect.bar') as SVGRectElement;
        const tick = g.querySelector('line.target') as SVGLineElement | null;
        const peer = g.querySelector('path.peer') as SVGPathElement | null;
        let heading = g.previousElementSibling;
        while (heading && !(heading.tagName === 'text' && heading.getAttribute('font-weight') === 'bold'))
          heading = heading.previousElementSibling;
        return {
          label: g.getAttribute('data-label') ?? '',
          met: g.getAttribute('data-met') ?? '',
          fill: bar.getAttribute('fill') ?? '',
          barEnd: bar.getBBox().x + bar.getBBox().width,
          tick: tick ? tick.getBBox().x + tick.getBBox().width / 2 : undefined,
          peer: peer ? peer.getBBox().x + peer.getBBox().width / 2 : undefined,
          panel: heading?.textContent ?? '',
        };
      }),
    );
  });
  after(() => browser?.close());

  const row = (label: string) => {
    const r = drawn.find((d) => d.label.includes(label));
    ok(r, `no row "${label}" in ${drawn.map((d) => d.label).join(' | ')}`);
    return r;
  };

  it('1 a throughput bar reaches its tick exactly when the target is met', () => {
    for (const label of ['write 1 GiB', 'create+write', 'GET 4 KiB (wrk', 'encrypted']) {
      const r = row(label);
      ok(r.panel.startsWith('Throughput'), `${label}: in the "${r.panel}" panel`);
      ok(r.tick !== undefined, `${label}: no target tick`);
      ok(
        r.met === 'true' ? r.barEnd >= r.tick : r.barEnd < r.tick,
        `${label}: bar ${r.barEnd}, tick ${r.tick}, met ${r.met}`,
      );
      ok(r.fill === (r.met === 'true' ? '#16a34a' : '#dc2626'), `${label}: ${r.fill}`);
    }
  });

  it('2 a p99 is drawn in milliseconds against its own target, the peer beside it: shorter is better', () => {
    const nfs = row('GETATTR p99');
    const s3 = row('GET 4 KiB p99');
    for (const r of [nfs, s3]) ok(r.panel.startsWith('Tail latency'), `${r.label}: in "${r.panel}"`);
    // 2.29 ms against ≤ 1 ms: past the tick, red; 2.31 ms against ≤ 5 ms: short of it, green.
    ok(nfs.barEnd > nfs.tick! && nfs.fill === '#dc2626', JSON.stringify(nfs));
    ok(s3.barEnd < s3.tick! && s3.fill === '#16a34a', JSON.stringify(s3));
    // Both on one millisecond scale: ganesha's 6.44 ms lies right of the gateway's 2.29.
    ok(nfs.peer! > nfs.barEnd, JSON.stringify(nfs));
    ok(
      Math.abs(s3.peer! - s3.barEnd) < 10,
      `nginx's 2.17 ms sits at the gateway's 2.31: ${JSON.stringify(s3)}`,
    );
  });

  it('3 a row measured for information is grey with no tick; one with no peer is not drawn', () => {
    const info = row('mkdir+rename+rmdir');
    ok(info.fill === '#9ca3af' && info.met === 'info' && info.tick === undefined, JSON.stringify(info));
    ok(!drawn.some((d) => d.label.includes('dd conv=fdatasync')));
  });

  it('4 every label, figure and heading lies inside the picture, labels left of their bars', async () => {
    const out = await page.$$eval('svg', ([svg]) => {
      const width = Number(svg!.getAttribute('width'));
      const bad: string[] = [];
      for (const t of Array.from(svg!.querySelectorAll('text'))) {
        const b = t.getBBox();
        if (b.x < 0 || b.x + b.width > width)
          bad.push(`${t.textContent} [${b.x}, ${b.x + b.width}] of ${width}`);
      }
      for (const g of Array.from(svg!.querySelectorAll('g.row'))) {
        const label = (g.querySelector('text.label') as SVGTextElement).getBBox();
        const bar = (g.querySelector('rect.bar') as SVGRectElement).getBBox();
        if (label.x + label.width > bar.x) bad.push(`${g.getAttribute('data-label')} runs into its bar`);
      }
      return bad;
    });
    ok(out.length === 0, out.join('\n'));
    ok(labelOf(ROWS[6]!).length > 70, 'the longest charted label is long enough to test the margin');
  });
});
