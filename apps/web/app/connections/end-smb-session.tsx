'use client';
import type { ConnectionView } from '@claudefs/api';
import { Button, ConfirmDialog } from '@claudefs/ui';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { messageOf } from '../../lib/errors.ts';
import { useRoleProblem } from '../../lib/session.ts';
import { useTRPC } from '../../lib/trpc.ts';
import { useToast } from '../providers.tsx';

/**
 * An SMB connection's "End session", as Windows Server's "Close Session" (`net session /delete`):
 * its open files close with their locks and leases, and the client must sign in again — a
 * disabled or removed account is refused there (its sessions also end by themselves within 5 s).
 */
export function EndSmbSession({ connection }: { connection: ConnectionView }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const denied = useRoleProblem('operator');
  const [confirm, setConfirm] = useState(false);
  const who = `${connection.user ?? 'the client'} from ${connection.remoteAddress}:${connection.remotePort}`;
  const end = useMutation(
    trpc.connections.endSmbSessions.mutationOptions({
      onSuccess: (ended) => {
        for (const key of [trpc.connections.list, trpc.connections.smbOpenFiles, trpc.connections.locks])
          void queryClient.invalidateQueries({ queryKey: key.queryKey() });
        const files = ended.reduce((n, e) => n + e.openFiles, 0);
        toast(
          'success',
          `Ended the SMB session of ${who} (${files} open ${files === 1 ? 'file' : 'files'} closed).`,
        );
      },
      onError: (e) => toast('error', `End session failed: ${messageOf(e)}`),
      onSettled: () => setConfirm(false),
    }),
  );
  return (
    <>
      <Button
        variant="danger"
        disabled={denied !== null || end.isPending}
        title={denied ? `Ending a session ${denied}` : `end the SMB session of ${who}`}
        onClick={() => setConfirm(true)}
      >
        End session
      </Button>
      <ConfirmDialog
        open={confirm}
        title={`End the SMB session of ${who}?`}
        confirmLabel="End session"
        tone="danger"
        busy={end.isPending}
        onCancel={() => setConfirm(false)}
        onConfirm={() => end.mutate({ connection: connection.id })}
      >
        The files it has open close at once, with their byte-range locks and leases, and what the client had
        not yet written back is lost. The client must sign in again; a disabled or removed account is refused.
      </ConfirmDialog>
    </>
  );
}
