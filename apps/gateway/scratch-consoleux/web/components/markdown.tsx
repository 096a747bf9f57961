import type { ReactNode } from 'react';
import { slug } from '../lib/slug.ts';

/**
 * A small Markdown renderer for the runbook (headings, paragraphs, lists with task boxes, fenced
 * code, tables, inline code, bold, links). Rendered on the server at build time; no script ships.
 */
function inline(text: string, key: string): ReactNode[] {
  const out: ReactNode[] = [];
  const re = /(`[^`]+`)|(\*\*[^*]+\*\*)|(\[[^\]]+\]\([^)]+\))/g;
  let last = 0;
  let i = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    const token = m[0];
    const k = `${key}-${i++}`;
    if (token.startsWith('`')) {
      out.push(
        <code
          key={k}
          className="rounded bg-slate-100 px-1 py-0.5 font-mono text-[0.85em] [overflow-wrap:anywhere] dark:bg-slate-800"
        >
          {token.slice(1, -1)}
        </code>,
      );
    } else if (token.startsWith('**')) {
      out.push(<strong key={k}>{token.slice(2, -2)}</strong>);
    } else {
      const lm = /^\[([^\]]+)\]\(([^)]+)\)$/.exec(token);
      out.push(
        <span key={k} className="text-sky-700 dark:text-sky-400">
          {lm?.[1] ?? token}
        </span>,
      );
    }
    last = m.index + token.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

const HEADING = ['', 'text-2xl', 'text-xl', 'text-lg', 'text-base', 'text-sm', 'text-sm'];

export function CodeBlock({ code }: { code: string }) {
  return (
    <pre className="overflow-x-auto rounded-md bg-slate-900 p-3 font-mono text-xs leading-relaxed text-slate-100 dark:bg-black/40">
      <code>{code}</code>
    </pre>
  );
}

export function Markdown({
  text,
  headingOffset = 0,
  afterHeading,
}: {
  text: string;
  headingOffset?: number;
  /** Drawn beside a heading (the wizard that walks a troubleshooting section). */
  afterHeading?: (title: string) => ReactNode;
}) {
  const lines = text.split('\n');
  const blocks: ReactNode[] = [];
  let i = 0;
  let n = 0;
  while (i < lines.length) {
    const line = lines[i] ?? '';
    const key = `b${n++}`;
    if (line.startsWith('```')) {
      const code: string[] = [];
      i++;
      while (i < lines.length && !(lines[i] ?? '').startsWith('```')) code.push(lines[i++] ?? '');
      i++;
      blocks.push(<CodeBlock key={key} code={code.join('\n')} />);
      continue;
    }
    const h = /^(#{1,6})\s+(.*)$/.exec(line);
    if (h) {
      const level = Math.min(6, (h[1]?.length ?? 1) + headingOffset);
      const Tag = `h${level}` as 'h1';
      const title = h[2] ?? '';
      const extra = afterHeading?.(title);
      blocks.push(
        <Tag
          key={key}
          id={slug(title)}
          className={`${HEADING[level]} mt-6 mb-2 flex flex-wrap items-baseline gap-x-3 font-semibold tracking-tight first:mt-0`}
        >
          {inline(title, key)}
          {extra}
        </Tag>,
      );
      i++;
      continue;
    }
    if (/^\s*\|/.test(line)) {
      const rows: string[][] = [];
      while (i < lines.length && /^\s*\|/.test(lines[i] ?? '')) {
        const cells = (lines[i] ?? '')
          .trim()
          .replace(/^\||\|$/g, '')
          .split('|')
          .map((c) => c.trim());
        if (!cells.every((c) => /^:?-+:?$/.test(c))) rows.push(cells);
        i++;
      }
      const [head = [], ...body] = rows;
      blocks.push(
        <div key={key} className="relative my-3 overflow-x-auto">
          <table className="text-sm">
            <thead>
              <tr>
                {head.map((c, j) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: positional cells
                  <th key={j} className="border-b border-slate-300 px-2 py-1 text-left dark:border-slate-600">
                    {inline(c, `${key}h${j}`)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {body.map((r, ri) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: positional rows
                <tr key={ri}>
                  {r.map((c, j) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: positional cells
                    <td key={j} className="border-b border-slate-100 px-2 py-1 dark:border-slate-800">
                      {inline(c, `${key}r${ri}c${j}`)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>,
      );
      continue;
    }
    if (/^\s*([-*]|\d+\.)\s+/.test(line)) {
      const ordered = /^\s*\d+\./.test(line);
      const items: Array<{ depth: number; text: string }> = [];
      while (i < lines.length && /^\s*([-*]|\d+\.)\s+/.test(lines[i] ?? '')) {
        const l = lines[i] ?? '';
        items.push({
          depth: l.length - l.trimStart().length >= 2 ? 1 : 0,
          text: l.trim().replace(/^([-*]|\d+\.)\s+/, ''),
        });
        i++;
      }
      const List = ordered ? 'ol' : 'ul';
      blocks.push(
        <List
          key={key}
          className={`my-2 flex flex-col gap-0.5 pl-5 text-sm ${ordered ? 'list-decimal' : 'list-disc'}`}
        >
          {items.map((it, j) => {
            const task = /^\[( |x)\]\s+(.*)$/i.exec(it.text);
            return (
              // biome-ignore lint/suspicious/noArrayIndexKey: positional items
              <li key={j} className={it.depth ? 'ml-5' : undefined}>
                {task ? (
                  <label className="inline-flex items-start gap-2">
                    <input type="checkbox" defaultChecked={task[1] !== ' '} className="mt-1" />
                    <span>{inline(task[2] ?? '', `${key}i${j}`)}</span>
                  </label>
                ) : (
                  inline(it.text, `${key}i${j}`)
                )}
              </li>
            );
          })}
        </List>,
      );
      continue;
    }
    if (/^\s*>/.test(line)) {
      // A quote (the runbook's "ClaudeFS Gateway:" notes): its own blocks, set apart.
      const quoted: string[] = [];
      while (i < lines.length && /^\s*>/.test(lines[i] ?? '')) {
        quoted.push((lines[i] ?? '').replace(/^\s*> ?/, ''));
        i++;
      }
      blocks.push(
        <blockquote
          key={key}
          className="my-3 border-l-4 border-sky-300 bg-sky-50 px-3 py-1 dark:border-sky-700 dark:bg-sky-950/40"
        >
          <Markdown text={quoted.join('\n')} headingOffset={headingOffset} />
        </blockquote>,
      );
      continue;
    }
    if (line.trim() === '') {
      i++;
      continue;
    }
    const para: string[] = [];
    while (
      i < lines.length &&
      (lines[i] ?? '').trim() !== '' &&
      !/^(#{1,6}\s|```|\s*\||\s*>|\s*([-*]|\d+\.)\s+)/.test(lines[i] ?? '')
    ) {
      para.push((lines[i] ?? '').trim());
      i++;
    }
    blocks.push(
      <p key={key} className="my-2 text-sm leading-relaxed">
        {inline(para.join(' '), key)}
      </p>,
    );
  }
  return <div className="max-w-none">{blocks}</div>;
}
