import { Card, StatusBadge } from '@claudefs/ui';
import { gatewayStatus, gatewayUrl } from './gateway.ts';

// The gateway's state is read per request, never at build time.
export const dynamic = 'force-dynamic';

export default async function HomePage() {
  const status = await gatewayStatus();
  return (
    <main className="mx-auto flex max-w-3xl flex-col gap-6 p-8">
      <header className="flex items-center justify-between">
        <h1 className="text-2xl font-semibold tracking-tight">ClaudeFS Gateway</h1>
        <StatusBadge status={status} />
      </header>
      <Card title="Gateway" action={<StatusBadge status={status} />}>
        <p className="text-sm text-slate-600 dark:text-slate-400">
          One namespace served over NFSv3, S3 and SMB. Gateway at{' '}
          <code className="font-mono">{gatewayUrl()}</code>.
        </p>
      </Card>
    </main>
  );
}
