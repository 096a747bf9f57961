import { codeBlocks, runbookSection } from '../../lib/runbook.ts';
import { Maintenance } from './maintenance.tsx';

export default function MaintenancePage() {
  const rolling = codeBlocks(runbookSection('Rolling Restart'))[0] ?? '';
  const shutdown = codeBlocks(runbookSection('Graceful Shutdown'))[0] ?? '';
  return <Maintenance rollingRestart={rolling} gracefulShutdown={shutdown} />;
}
