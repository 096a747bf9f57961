import { Card } from '@claudefs/ui';
import Link from 'next/link';
import { Markdown } from '../../components/markdown.tsx';
import { diagnoseHref, WIZARD_FOR_HEADING } from '../../lib/diagnostics.ts';
import { runbookText } from '../../lib/runbook.ts';
import { slug } from '../../lib/slug.ts';

/** A troubleshooting section's link into the wizard that runs its checks. */
function wizardLink(title: string) {
  const tree = WIZARD_FOR_HEADING[title];
  if (!tree) return null;
  return (
    <Link
      href={diagnoseHref(tree)}
      data-wizard={tree}
      className="text-xs font-medium tracking-normal text-sky-700 hover:underline dark:text-sky-400"
    >
      Run the wizard: ./cfs diagnose {tree} →
    </Link>
  );
}

export default function RunbookPage() {
  const text = runbookText();
  const sections = [...text.matchAll(/^##\s+(.*)$/gm)].map((m) => m[1] ?? '');
  return (
    <div className="grid grid-cols-1 gap-6 lg:grid-cols-[1fr_14rem]">
      <Card>
        <article>
          <Markdown text={text} afterHeading={wizardLink} />
        </article>
      </Card>
      <nav aria-label="Runbook sections" className="self-start text-sm lg:sticky lg:top-6">
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
