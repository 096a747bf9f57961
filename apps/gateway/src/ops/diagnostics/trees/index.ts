import type { DiagnosticTreeId } from '../api.ts';
import type { DiagnosticTree } from '../engine.ts';
import { accessTree } from './access.ts';
import { backendTree } from './backend.ts';
import { connectionTree } from './connection.ts';
import { inconsistencyTree } from './inconsistency.ts';
import { latencyTree } from './latency.ts';
import { preflightTree } from './preflight.ts';
import { quotaTree } from './quota.ts';
import { smbAccessTree } from './smb-access.ts';
import { unresponsiveTree } from './unresponsive.ts';

/** Every troubleshooting tree of the runbook, in the runbook's order (preflight last). */
export const TREES: Readonly<Record<DiagnosticTreeId, DiagnosticTree>> = {
  latency: latencyTree,
  connection: connectionTree,
  quota: quotaTree,
  access: accessTree,
  'smb-access': smbAccessTree,
  unresponsive: unresponsiveTree,
  backend: backendTree,
  inconsistency: inconsistencyTree,
  preflight: preflightTree,
};

export { TREE_IDS } from '../tree-ids.ts';
