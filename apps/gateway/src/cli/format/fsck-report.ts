import type { FsckProblem, FsckReport } from '../../storage/fsck/index.ts';
import { plural } from './plural.ts';

function problemLine(p: FsckProblem, state: string): string {
  const where = [p.ino === undefined ? '' : `ino ${p.ino}`, p.path ?? ''].filter((s) => s !== '').join(' ');
  return `${p.kind}${where === '' ? '' : ` ${where}`}: ${p.detail}; ${state}`;
}

/** The operator's report: one line per problem (kind, inode, path, what --repair does or did), then a summary. */
export function humanFsckReport(report: FsckReport, repairRequested: boolean): string {
  const lines: string[] = [];
  const repaired = new Set(report.repaired);
  for (const p of report.problems) {
    const canRepair = !p.repair.startsWith('none');
    let state = `repair: ${p.repair}`;
    if (repairRequested) state = repaired.has(p) ? `repaired: ${p.repair}` : `NOT repaired: ${p.repair}`;
    else if (canRepair) state = `--repair would ${p.repair}`;
    lines.push(problemLine(p, state));
  }
  const { inodes, entries, blobs } = report.checked;
  const scope = report.scope === undefined ? '' : ` under ${report.scope}`;
  const checked = `checked ${plural(inodes, 'inode')}, ${plural(entries, 'entry', 'entries')}, ${plural(blobs, 'blob')}${scope}`;
  const n = report.problems.length;
  if (n === 0) {
    lines.push(`clean: ${checked}`);
  } else if (repairRequested) {
    lines.push(`${plural(n, 'problem')} found, ${report.repaired.length} repaired; ${checked}`);
  } else {
    const fixable = report.problems.filter((p) => !p.repair.startsWith('none')).length;
    const rest = n - fixable;
    const tail = rest > 0 ? ` (${rest} need${rest === 1 ? 's' : ''} an operator)` : '';
    lines.push(`${plural(n, 'problem')} found; --repair would fix ${fixable}${tail}; ${checked}`);
  }
  const notes = [
    report.info.sparseFiles > 0
      ? `${plural(report.info.sparseFiles, 'sparse file')} without data (read as zeros)`
      : '',
    report.info.blobTails > 0
      ? `${plural(report.info.blobTails, 'blob')} longer than its file (unacknowledged writes, never read)`
      : '',
    report.info.inlineFiles > 0
      ? `${plural(report.info.inlineFiles, 'small file')} kept in the metadata database`
      : '',
    report.info.queuedBlobs > 0
      ? `${plural(report.info.queuedBlobs, 'blob')} queued for deletion at the next start`
      : '',
    report.info.checksumsVerified > 0
      ? `${plural(report.info.checksumsVerified, 'stored checksum')} verified`
      : '',
  ].filter((s) => s !== '');
  if (notes.length > 0) lines.push(`fine: ${notes.join('; ')}`);
  return `${lines.join('\n')}\n`;
}
