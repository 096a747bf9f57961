import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** docs/RUNBOOK.md as copied into the app by scripts/copy-runbook.mjs (read at build time). */
export function runbookText(): string {
  const copied = join(process.cwd(), 'content', 'RUNBOOK.md');
  const source = join(process.cwd(), '..', '..', 'docs', 'RUNBOOK.md');
  for (const file of [copied, source])
    if (existsSync(/* turbopackIgnore: true */ file))
      return readFileSync(/* turbopackIgnore: true */ file, 'utf8');
  return '# Runbook\n\nThe runbook was not found when the console was built.';
}

/** One section: from the heading titled `title` up to the next heading of its level or above. */
export function runbookSection(title: string, text = runbookText()): string {
  const lines = text.split('\n');
  let inFence = false;
  let start = -1;
  let level = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.startsWith('```')) inFence = !inFence;
    if (inFence) continue;
    const m = /^(#{1,6})\s+(.*)$/.exec(line);
    if (!m) continue;
    const depth = m[1]?.length ?? 0;
    if (start < 0 && m[2]?.trim() === title) {
      start = i;
      level = depth;
    } else if (start >= 0 && depth <= level) {
      return lines.slice(start, i).join('\n');
    }
  }
  return start >= 0 ? lines.slice(start).join('\n') : '';
}

/** The fenced code blocks of a section, in order. */
export function codeBlocks(markdown: string): string[] {
  const out: string[] = [];
  const re = /```[^\n]*\n([\s\S]*?)```/g;
  for (let m = re.exec(markdown); m; m = re.exec(markdown)) out.push((m[1] ?? '').trimEnd());
  return out;
}
