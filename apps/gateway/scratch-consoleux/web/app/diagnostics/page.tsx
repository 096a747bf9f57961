import { PanelState } from '@claudefs/ui';
import { Suspense } from 'react';
import { PageHeader } from '../../components/page-header.tsx';
import { Diagnostics } from './diagnostics.tsx';

export default function DiagnosticsPage() {
  return (
    <>
      <PageHeader
        title="Diagnostics"
        description="The runbook's troubleshooting trees as wizards: each runs its checks against the live gateway, shows what it measured and takes the branch the evidence points to."
      />
      {/* The wizard and its inputs come from the address (`?tree=quota&uid=1000`), read in the browser. */}
      <Suspense fallback={<PanelState state="loading" />}>
        <Diagnostics />
      </Suspense>
    </>
  );
}
