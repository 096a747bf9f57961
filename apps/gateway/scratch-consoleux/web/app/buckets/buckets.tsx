'use client';
import type { BucketView, UploadView } from '@claudefs/api';
import { Button, Card, ConfirmDialog, HeadRow, StatusBadge, Table, Td } from '@claudefs/ui';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { PageHeader } from '../../components/page-header.tsx';
import { QueryPanel } from '../../components/query-panel.tsx';
import { messageOf } from '../../lib/errors.ts';
import { ago, bytes, dateTime } from '../../lib/format.ts';
import { useRoleProblem } from '../../lib/session.ts';
import { useTRPC } from '../../lib/trpc.ts';
import { useToast } from '../providers.tsx';

/**
 * A bucket's objects and bytes and the old versions kept for it, counted when asked (a walk of
 * the bucket, slow on large ones).
 */
function Usage({ bucket }: { bucket: string }) {
  const trpc = useTRPC();
  const [asked, setAsked] = useState(false);
  const usage = useQuery({
    ...trpc.s3.bucketUsage.queryOptions({ bucket }),
    enabled: asked,
    staleTime: 60_000,
  });
  if (!asked)
    return (
      <Button
        variant="secondary"
        onClick={() => setAsked(true)}
        aria-label={`Count the objects of ${bucket}`}
      >
        Count
      </Button>
    );
  if (usage.isPending) return <span className="text-slate-500">counting…</span>;
  if (usage.isError) return <span className="text-red-700 dark:text-red-400">{messageOf(usage.error)}</span>;
  const u = usage.data;
  return (
    <span data-testid={`usage-${bucket}`}>
      {u.objects.toLocaleString()}
      {u.complete ? '' : '+'} object{u.objects === 1 ? '' : 's'}, {bytes(u.bytes)}
      {u.versions > 0 && (
        <span className="block text-slate-500">
          + {u.versions.toLocaleString()} old version{u.versions === 1 ? '' : 's'}, {bytes(u.versionBytes)}
        </span>
      )}
    </span>
  );
}

function BucketRow({ b }: { b: BucketView }) {
  return (
    <tr data-bucket={b.name}>
      <Td className="font-medium">{b.name}</Td>
      <Td>{b.owner ?? `uid ${b.ownerUid}`}</Td>
      <Td className="whitespace-nowrap">{dateTime(b.created)}</Td>
      <Td className="font-mono text-xs">{b.mode}</Td>
      <Td>
        {b.publicRead || b.policy?.public ? (
          <StatusBadge status="anyone may read" variant="degraded" />
        ) : (
          'keys only'
        )}
        {b.policy && (
          <span className="block text-xs text-slate-500" data-testid={`policy-${b.name}`}>
            policy: {b.policy.statements} statement{b.policy.statements === 1 ? '' : 's'}
          </span>
        )}
        {b.publicAccessBlock.length > 0 && (
          <span className="block text-xs text-slate-500" data-testid={`block-${b.name}`}>
            public access blocked: {b.publicAccessBlock.join(', ')}
          </span>
        )}
        {b.cors && (
          <span className="block text-xs text-slate-500" data-testid={`cors-${b.name}`}>
            browsers from {b.cors.origins.join(', ')}
          </span>
        )}
      </Td>
      <Td>
        {b.versioning === 'Enabled' ? (
          <StatusBadge status="versioned" variant="healthy" />
        ) : b.versioning === 'Suspended' ? (
          <StatusBadge status="suspended" variant="degraded" />
        ) : (
          <span className="text-slate-500">off</span>
        )}
        {b.objectLock && (
          <span className="mt-1 flex flex-col gap-0.5" data-testid={`lock-${b.name}`}>
            <StatusBadge status="object lock" variant="healthy" />
            <span className="text-xs text-slate-500">
              {b.objectLock.defaultRetention
                ? `new objects: ${b.objectLock.defaultRetention}`
                : 'no default retention'}
            </span>
          </span>
        )}
      </Td>
      <Td>
        {b.lifecycle.length === 0 ? (
          <span className="text-slate-500">none</span>
        ) : (
          <ul className="flex flex-col gap-0.5">
            {b.lifecycle.map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ul>
        )}
      </Td>
      <Td className="font-mono text-xs">
        {b.tags.length === 0 ? '' : b.tags.map((t) => `${t.key}=${t.value}`).join(', ')}
      </Td>
      <Td className="whitespace-nowrap">
        <Usage bucket={b.name} />
      </Td>
    </tr>
  );
}

/**
 * Multipart uploads never completed: their parts hold space, and their owners' quota, until
 * someone aborts them (or s3.stale_uploads_expiry, or a lifecycle rule, does). Operators abort.
 */
function Uploads() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const denied = useRoleProblem('operator');
  const [confirm, setConfirm] = useState<UploadView | null>(null);
  const uploads = useQuery({ ...trpc.s3.uploads.queryOptions(), refetchInterval: 30_000 });
  const abort = useMutation(
    trpc.s3.abortUpload.mutationOptions({
      onSuccess: (r) => {
        void queryClient.invalidateQueries({ queryKey: trpc.s3.uploads.queryKey() });
        toast('success', `Upload of ${r.bucket}/${r.key} aborted: ${bytes(r.freedBytes)} freed.`);
      },
      onError: (e) => toast('error', `Abort failed: ${messageOf(e)}`),
      onSettled: () => setConfirm(null),
    }),
  );
  return (
    <Card title="Incomplete multipart uploads">
      <QueryPanel query={uploads} isEmpty={(d) => d.length === 0} empty="No multipart uploads in progress.">
        {(list) => (
          <Table caption="Incomplete multipart uploads">
            <HeadRow columns={['Object', 'Owner', 'Started', 'Last part', 'Parts', 'Size']} actions />
            <tbody>
              {list.map((u) => (
                <tr key={u.uploadId} data-upload={u.uploadId}>
                  <Td>
                    <span className="font-medium">
                      {u.bucket}/{u.key}
                    </span>
                    <div className="font-mono text-xs text-slate-500">{u.uploadId}</div>
                  </Td>
                  <Td>{u.owner ?? `uid ${u.uid}`}</Td>
                  <Td className="whitespace-nowrap">{dateTime(u.initiated)}</Td>
                  <Td className="whitespace-nowrap">{ago(Date.parse(u.lastActivity))}</Td>
                  <Td className="text-right tabular-nums">{u.parts}</Td>
                  <Td className="text-right tabular-nums">{bytes(u.bytes)}</Td>
                  <Td>
                    <Button
                      variant="danger"
                      disabled={denied !== null || abort.isPending}
                      title={denied ?? undefined}
                      onClick={() => setConfirm(u)}
                    >
                      Abort
                    </Button>
                  </Td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </QueryPanel>
      {denied ? <p className="mt-2 text-xs text-slate-500 dark:text-slate-400">Aborting {denied}.</p> : null}
      <ConfirmDialog
        open={confirm !== null}
        title={`Abort the upload of ${confirm ? `${confirm.bucket}/${confirm.key}` : ''}?`}
        confirmLabel="Abort upload"
        tone="danger"
        busy={abort.isPending}
        onCancel={() => setConfirm(null)}
        onConfirm={() => confirm && abort.mutate({ uploadId: confirm.uploadId })}
      >
        Its parts are deleted — {confirm?.parts ?? 0} part{confirm?.parts === 1 ? '' : 's'},{' '}
        {bytes(confirm?.bytes ?? '0')} — and the space goes back to {confirm?.owner ?? 'its owner'}. A client
        still uploading gets NoSuchUpload and must start again.
      </ConfirmDialog>
    </Card>
  );
}

/** Every S3 bucket: who owns it, who may read it, its lifecycle rules and tags, what it holds. */
export function Buckets() {
  const trpc = useTRPC();
  const buckets = useQuery(trpc.s3.buckets.queryOptions());
  return (
    <>
      <PageHeader
        title="Buckets"
        description="Every S3 bucket: its owner, who may read it, whether it keeps old versions and locks them (WORM), its lifecycle rules and tags. Count walks a bucket for its objects and bytes. A bucket is a directory of s3.root: what NFS and SMB clients put there counts too."
      />
      <Card title="Buckets">
        <QueryPanel
          query={buckets}
          isEmpty={(d) => d.length === 0}
          empty="No buckets yet: a user creates one with their key (aws s3 mb s3://NAME)."
        >
          {(list) => (
            <Table caption="S3 buckets">
              <HeadRow
                columns={[
                  'Bucket',
                  'Owner',
                  'Created',
                  'Mode',
                  'Access',
                  'Versioning',
                  'Lifecycle rules',
                  'Tags',
                  'Usage',
                ]}
              />
              <tbody>
                {list.map((b) => (
                  <BucketRow key={b.name} b={b} />
                ))}
              </tbody>
            </Table>
          )}
        </QueryPanel>
      </Card>
      <div className="mt-4">
        <Uploads />
      </div>
    </>
  );
}
