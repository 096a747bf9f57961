'use client';
import type { SmbHeldElsewhereView, SmbOpenFileView } from '@claudefs/api';
import { Button, Card, ConfirmDialog, HeadRow, PanelState, Table, Td, Th } from '@claudefs/ui';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { messageOf } from '../../lib/errors.ts';
import { ago } from '../../lib/format.ts';
import { useRoleProblem } from '../../lib/session.ts';
import { useTRPC } from '../../lib/trpc.ts';
import { useToast } from '../providers.tsx';

/**
 * What SMB clients hold open, with the oplock or lease each may cache under (`./cfs smb status`):
 * the answer to "which Windows client is an NFS or S3 write waiting for", and "who keeps this
 * file in use". An operator may close an open, as Windows Server's "Close Open File" does.
 */
export function SmbOpenFiles({
  files,
  elsewhere,
  filter,
}: {
  files: SmbOpenFileView[];
  elsewhere: SmbHeldElsewhereView[];
  filter: string;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const denied = useRoleProblem('operator');
  const [confirm, setConfirm] = useState<SmbOpenFileView | null>(null);
  const close = useMutation(
    trpc.connections.closeSmbFile.mutationOptions({
      onSuccess: (r) => {
        void queryClient.invalidateQueries({ queryKey: trpc.connections.smbOpenFiles.queryKey() });
        void queryClient.invalidateQueries({ queryKey: trpc.connections.locks.queryKey() });
        toast('success', `Closed ${r.path}.`);
      },
      onError: (e) => toast('error', `Close failed: ${messageOf(e)}`),
      onSettled: () => setConfirm(null),
    }),
  );
  const needle = filter.trim().toLowerCase();
  const shown = needle
    ? files.filter((f) => [f.client, f.path, f.caching].some((v) => v.toLowerCase().includes(needle)))
    : files;
  return (
    <Card title="SMB open files">
      <p className="mb-3 text-sm text-slate-600 dark:text-slate-300">
        A file an SMB client caches (an oplock or a lease) is written back and given up before NFS or S3
        change it, and its cached writes before they read it.
      </p>
      {shown.length === 0 ? (
        <PanelState state="empty">
          {files.length === 0 ? 'No SMB client has a file open.' : 'No open file matches the filter.'}
        </PanelState>
      ) : (
        <Table caption="SMB open files">
          <thead>
            <tr>
              <Th>Client</Th>
              <Th>Name</Th>
              <Th>Kind</Th>
              <Th title="what the client may cache: R read, W write, H handle">Oplock / lease</Th>
              <Th>Opened</Th>
              <Th>
                <span className="sr-only">Actions</span>
              </Th>
            </tr>
          </thead>
          <tbody className="tabular-nums">
            {shown.map((f) => (
              <tr key={`${f.session} ${f.fileId}`}>
                <Td className="font-mono text-xs">{f.client}</Td>
                <Td className="font-mono text-xs">{f.path}</Td>
                <Td>{f.kind}</Td>
                <Td data-testid="smb-caching">{f.caching}</Td>
                <Td>{ago(Date.parse(f.since))}</Td>
                <Td>
                  <Button
                    variant="danger"
                    disabled={denied !== null || close.isPending}
                    title={denied ?? `close ${f.path} for ${f.client}`}
                    onClick={() => setConfirm(f)}
                  >
                    Close
                  </Button>
                </Td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
      {denied ? <p className="mt-2 text-xs text-slate-500 dark:text-slate-400">Closing {denied}.</p> : null}
      {elsewhere.length > 0 ? <HeldElsewhere rows={elsewhere} /> : null}
      <ConfirmDialog
        open={confirm !== null}
        title={`Close ${confirm?.path ?? ''} for ${confirm?.client ?? ''}?`}
        confirmLabel="Close file"
        tone="danger"
        busy={close.isPending}
        onCancel={() => setConfirm(null)}
        onConfirm={() => confirm && close.mutate({ session: confirm.session, fileId: confirm.fileId })}
      >
        Its byte-range locks, share mode and lease go at once, so others can open and lock the file. The
        client&apos;s application gets an error the next time it uses the file, and what it had not yet
        written back is lost.
      </ConfirmDialog>
    </Card>
  );
}

/**
 * What other nodes' SMB clients hold (several nodes on one PostgreSQL): share modes and leases
 * hold across nodes, so a client here refused with a sharing violation may meet one of these.
 * Their sessions are on that node's console.
 */
function HeldElsewhere({ rows }: { rows: SmbHeldElsewhereView[] }) {
  return (
    <div className="mt-4">
      <h3 className="mb-2 text-sm font-semibold">Held through other nodes</h3>
      <Table caption="Held through other nodes">
        <HeadRow columns={['Node', 'File', 'Oplock / lease', 'Readers', 'Writers', 'Deleters', 'Denies']} />
        <tbody className="tabular-nums">
          {rows.map((e) => (
            <tr key={`${e.node} ${e.ino}`}>
              <Td>{e.node}</Td>
              <Td className="font-mono text-xs">{e.path ?? `inode ${e.ino}`}</Td>
              <Td>{e.caching}</Td>
              <Td>{e.readers}</Td>
              <Td>{e.writers}</Td>
              <Td>{e.deleters}</Td>
              <Td>{e.denies || '—'}</Td>
            </tr>
          ))}
        </tbody>
      </Table>
    </div>
  );
}
