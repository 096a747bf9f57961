'use client';
import type { BucketView } from '@claudefs/api';
import { Button, Card, HeadRow, StatusBadge, Table, Td } from '@claudefs/ui';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { PageHeader } from '../../components/page-header.tsx';
import { QueryPanel } from '../../components/query-panel.tsx';
import { messageOf } from '../../lib/errors.ts';
import { bytes, dateTime } from '../../lib/format.ts';
import { useTRPC } from '../../lib/trpc.ts';

/** A bucket's objects and bytes, counted when asked (a walk of the bucket, slow on large ones). */
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
      <Td>{b.publicRead ? <StatusBadge status="anyone may read" variant="degraded" /> : 'keys only'}</Td>
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

/** Every S3 bucket: who owns it, who may read it, its lifecycle rules and tags, what it holds. */
export function Buckets() {
  const trpc = useTRPC();
  const buckets = useQuery(trpc.s3.buckets.queryOptions());
  return (
    <>
      <PageHeader
        title="Buckets"
        description="Every S3 bucket: its owner, who may read it, its lifecycle rules and tags. Count walks a bucket for its objects and bytes. A bucket is a directory of s3.root: what NFS and SMB clients put there counts too."
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
                columns={['Bucket', 'Owner', 'Created', 'Mode', 'Access', 'Lifecycle rules', 'Tags', 'Usage']}
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
    </>
  );
}
