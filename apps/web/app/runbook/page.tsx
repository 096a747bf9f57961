import { Card } from '@claudefs/ui';
import { Markdown, slug } from '../../components/markdown.tsx';
import { runbookText } from '../../lib/runbook.ts';

export default function RunbookPage() {
  const text = runbookText();
  const sections = [...text.matchAll(/^##\s+(.*)$/gm)].map((m) => m[1] ?? '');
  return (
    <div className="grid grid-cols-[1fr_14rem] gap-6">
      <Card>
        <article>
          <Markdown text={text} />
        </article>
      </Card>
      <nav aria-label="Runbook sections" className="sticky top-6 self-start text-sm">
        <p className="mb-2 text-xs font-semibold text-slate-500 uppercase dark:text-slate-400">Sections</p>
        <ul className="flex flex-col gap-1">
          {sections.map((s) => (
            <li key={s}>
              <a href={`#${slug(s)}`} className="text-sky-700 hover:underline dark:text-sky-400">
                {s}
              </a>
            </li>
          ))}
        </ul>
      </nav>
    </div>
  );
}
