import { PageHeader } from '../../components/page-header.tsx';
import { codeBlocks, runbookSection, runbookText } from '../../lib/runbook.ts';
import { Cluster } from './cluster.tsx';

/** The runbook's own restart line, so the walk tells the operator exactly what the runbook says. */
const RESTART = /^\s*(sudo systemctl restart claudefs-gateway)\s*$/m;

export default function ClusterPage() {
  const restart = RESTART.exec(runbookText())?.[1] ?? 'sudo systemctl restart claudefs-gateway';
  const rollingRestart = codeBlocks(runbookSection('Rolling Restart'))[0] ?? '';
  return (
    <>
      <PageHeader
        title="Cluster"
        description="Every gateway sharing this control plane, live: health, drain and load. Drain any node, or restart them all one at a time."
      />
      <Cluster runbook={{ restart, rollingRestart }} />
    </>
  );
}
