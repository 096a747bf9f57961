'use client';
import type { CertificateView } from '@claudefs/api';
import { Banner, Button, Card, ConfirmDialog, Field, fieldAria, StatusBadge, Textarea } from '@claudefs/ui';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { CodeBlock } from '../../components/markdown.tsx';
import { PageHeader } from '../../components/page-header.tsx';
import { QueryPanel } from '../../components/query-panel.tsx';
import { messageOf } from '../../lib/errors.ts';
import { dateTime } from '../../lib/format.ts';
import { useRoleProblem } from '../../lib/session.ts';
import { useTRPC } from '../../lib/trpc.ts';
import { useToast } from '../providers.tsx';

const VERDICT = { ok: 'healthy', warning: 'degraded', error: 'unhealthy' } as const;

function DaysLeft({ days }: { days: number | null }) {
  if (days === null) return <span>—</span>;
  // Rounded down: -1 expired less than a day ago, -2 one day ago.
  const ago = -days - 1;
  const dayCount = (n: number) => `${n} ${n === 1 ? 'day' : 'days'}`;
  if (days < 0)
    return (
      <Banner tone="critical" role="alert" title="Expired">
        Expired {ago === 0 ? 'less than a day' : dayCount(ago)} ago: clients refuse it. Replace it now.
      </Banner>
    );
  if (days <= 14)
    return (
      <Banner tone="critical" title={`${dayCount(days)} left`}>
        Renew now.
      </Banner>
    );
  if (days <= 30)
    return (
      <Banner tone="warning" title={`${dayCount(days)} left`}>
        Plan the renewal.
      </Banner>
    );
  return <span className="text-sm">{dayCount(days)} left</span>;
}

function CertificateCard({ c }: { c: CertificateView }) {
  return (
    <Card title={c.name} action={<StatusBadge status={c.verdict} variant={VERDICT[c.verdict]} />}>
      <div className="mb-3">
        <DaysLeft days={c.daysLeft} />
      </div>
      <dl className="grid grid-cols-[9rem_minmax(0,1fr)] gap-x-3 gap-y-1 text-sm">
        <dt className="text-slate-500">Subject</dt>
        <dd className="font-mono text-xs break-all">{c.subject ?? '—'}</dd>
        <dt className="text-slate-500">Names (SAN)</dt>
        <dd className="font-mono text-xs">{c.subjectAltNames.join(', ') || '—'}</dd>
        <dt className="text-slate-500">Issuer</dt>
        <dd className="font-mono text-xs break-all">{c.issuer ?? '—'}</dd>
        <dt className="text-slate-500">Valid</dt>
        <dd>
          {dateTime(c.notBefore)} → {dateTime(c.notAfter)}
        </dd>
        <dt className="text-slate-500">Chain</dt>
        <dd>
          {c.chain.verdict}
          {c.chain.message ? ` — ${c.chain.message}` : ''}
        </dd>
        <dt className="text-slate-500">Key matches</dt>
        <dd>{c.keyMatches === null ? '—' : c.keyMatches ? 'yes' : 'no'}</dd>
        <dt className="text-slate-500">Served now</dt>
        <dd>{c.served ? `serial ${c.served.serial}` : 'not served'}</dd>
        <dt className="text-slate-500">Files</dt>
        <dd className="font-mono text-xs">
          {c.certFile}, {c.keyFile}
        </dd>
        <dt className="text-slate-500">SHA-256</dt>
        <dd className="font-mono text-[0.65rem] break-all">{c.fingerprintSha256 ?? '—'}</dd>
      </dl>
      {c.findings.length > 0 ? (
        <ul className="mt-3 flex flex-col gap-1">
          {c.findings.map((f) => (
            <li key={`${f.file}${f.message}`}>
              <Banner tone={f.severity === 'error' ? 'critical' : 'warning'}>
                {f.file}: {f.message}
              </Banner>
            </li>
          ))}
        </ul>
      ) : null}
    </Card>
  );
}

function Upload({ current }: { current: CertificateView | undefined }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [cert, setCert] = useState('');
  const [key, setKey] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [problems, setProblems] = useState<{ cert?: string; key?: string; server?: string }>({});
  const upload = useMutation(
    trpc.certs.upload.mutationOptions({
      onSuccess: (r) => {
        queryClient.setQueryData(trpc.certs.status.queryKey(), { certificates: r.certificates });
        toast(
          'success',
          `Certificate ${r.reloaded ? 'installed and now served' : 'installed'}${r.warnings.length ? ` with ${r.warnings.length} warnings` : ''}.`,
        );
        setCert('');
        setKey('');
      },
      onError: (e) => {
        setProblems({ server: messageOf(e) });
        toast('error', `Certificate refused: ${messageOf(e)}`);
      },
      onSettled: () => setConfirming(false),
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const p: typeof problems = {};
    if (!cert.includes('-----BEGIN CERTIFICATE-----'))
      p.cert = 'Paste a PEM certificate (-----BEGIN CERTIFICATE-----).';
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key))
      p.key = 'Paste a PEM private key (-----BEGIN PRIVATE KEY-----).';
    setProblems(p);
    if (p.cert || p.key) return;
    // Every HTTPS client meets the new pair at once: the operator says so first.
    setConfirming(true);
  };
  return (
    <form onSubmit={submit} noValidate className="flex flex-col gap-3" aria-label="Upload certificate">
      <Field id="cert-pem" label="Certificate (PEM, with chain)" error={problems.cert}>
        <Textarea
          {...fieldAria('cert-pem', problems.cert)}
          invalid={!!problems.cert}
          rows={6}
          value={cert}
          onChange={(e) => setCert(e.target.value)}
        />
      </Field>
      <Field
        id="key-pem"
        label="Private key (PEM)"
        error={problems.key}
        hint="Sent once over the console session; never shown again."
      >
        <Textarea
          {...fieldAria('key-pem', problems.key, true)}
          invalid={!!problems.key}
          rows={5}
          value={key}
          onChange={(e) => setKey(e.target.value)}
        />
      </Field>
      {problems.server ? (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400">
          {problems.server}
        </p>
      ) : null}
      <div>
        <Button type="submit" variant="primary" disabled={upload.isPending}>
          {upload.isPending ? 'Checking…' : 'Check and install'}
        </Button>
      </div>
      <ConfirmDialog
        open={confirming}
        title="Replace the served certificate?"
        confirmLabel="Check and install"
        tone="danger"
        busy={upload.isPending}
        onCancel={() => setConfirming(false)}
        onConfirm={() => upload.mutate({ cert, key })}
      >
        {current ? (
          <>
            It replaces <span className="font-mono">{current.subject ?? current.name}</span>
            {current.subjectAltNames.length > 0 ? ` (${current.subjectAltNames.join(', ')})` : ''}, valid
            until {current.notAfter ? dateTime(current.notAfter) : 'unknown'}.{' '}
          </>
        ) : null}
        Every HTTPS client gets the new pair from its next connection: one for another host name, or not
        trusted by them, fails them all. The gateway checks the pair first and refuses a broken one; the pair
        it replaces is kept beside it as <span className="font-mono">.previous</span>.
      </ConfirmDialog>
    </form>
  );
}

export function Certificates({ commands }: { commands: string[] }) {
  const trpc = useTRPC();
  const denied = useRoleProblem('admin');
  const status = useQuery({ ...trpc.certs.status.queryOptions(), refetchInterval: 60_000 });
  const none = status.data?.certificates.length === 0;
  return (
    <>
      <PageHeader
        title="Certificates"
        description="The S3 listener's TLS pair; replaced without a restart."
      />
      <div className="grid grid-cols-1 gap-4 xl:grid-cols-2">
        <div className="flex flex-col gap-4">
          <QueryPanel
            query={status}
            wrap={(node) => <Card title="Served certificate">{node}</Card>}
            isEmpty={(r) => r.certificates.length === 0}
            empty="No TLS certificate is configured: S3 serves plain HTTP."
          >
            {(r) => (
              <>
                {r.certificates.map((c) => (
                  <CertificateCard key={c.name} c={c} />
                ))}
              </>
            )}
          </QueryPanel>
          <Card title="Replace the certificate">
            {none ? (
              <p className="text-sm text-slate-600 dark:text-slate-300" data-testid="no-tls-note">
                Nothing to replace: S3 serves plain HTTP. Set <code>s3.tls.cert</code> and{' '}
                <code>s3.tls.key</code> in the configuration and restart (the listener's protocol changes only
                at a restart); from then on a pair is replaced here without one.
              </p>
            ) : denied ? (
              <p className="text-sm text-slate-500 dark:text-slate-400">Uploading {denied}.</p>
            ) : (
              <Upload current={status.data?.certificates[0]} />
            )}
          </Card>
        </div>
        <Card title="Runbook: certificate commands">
          <div className="flex flex-col gap-3">
            {commands.map((c) => (
              <CodeBlock key={c} code={c} />
            ))}
          </div>
        </Card>
      </div>
    </>
  );
}
