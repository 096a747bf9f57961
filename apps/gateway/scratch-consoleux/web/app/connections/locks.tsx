'use client';
import type { LockView } from '@claudefs/api';
import { Button, Card, ConfirmDialog, HeadRow, PanelState, Table, Td } from '@claudefs/ui';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { QueryPanel } from '../../components/query-panel.tsx';
import { messageOf } from '../../lib/errors.ts';
import { ago } from '../../lib/format.ts';
import { useRoleProblem } from '../../lib/session.ts';
import { useTRPC } from '../../lib/trpc.ts';
import { useToast } from '../providers.tsx';

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** `bytes 0–99`, `from byte 200 to the end`, `zero-length at byte 10`. */
function range(l: LockView): string {
  if (l.length === 'to end') return `from byte ${l.offset} to the end`;
  if (l.length === '0') return `zero-length at byte ${l.offset}`;
  return `bytes ${l.offset}–${BigInt(l.offset) + BigInt(l.length) - 1n}`;
}

/**
 * Byte-range locks clients hold on this node (`./cfs locks`): the answer to "who has this file
 * locked", other nodes' too (each released on its node). An NFS client gone for good keeps its
 * locks until it starts again and says so; an operator releases them here, as `./cfs locks
 * release` does. SMB locks end with their opens.
 */
export function Locks({ filter }: { filter: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const denied = useRoleProblem('operator');
  const [confirm, setConfirm] = useState<string | null>(null);
  const locks = useQuery({ ...trpc.connections.locks.queryOptions(), refetchInterval: 5_000 });
  const release = useMutation(
    trpc.connections.releaseLocks.mutationOptions({
      onSuccess: (r) => {
        void queryClient.invalidateQueries({ queryKey: trpc.connections.locks.queryKey() });
        toast('success', `Released ${plural(r.released, 'lock')} of NFS client ${r.client}.`);
      },
      onError: (e) => toast('error', `Release failed: ${messageOf(e)}`),
      onSettled: () => setConfirm(null),
    }),
  );
  const needle = filter.trim().toLowerCase();
  const held = (client: string | null) =>
    (locks.data?.locks ?? []).filter((l) => l.protocol === 'nfs' && !l.node && l.holder === client).length;
  return (
    <Card title="Byte-range locks">
      <p className="mb-3 text-sm text-slate-600 dark:text-slate-300">
        NFS and SMB clients share one lock table. An NFS client that is gone for good keeps its locks until it
        starts again and says so: release them here. An SMB client&apos;s locks end when it closes the file or
        disconnects.
      </p>
      <QueryPanel
        query={locks}
        isEmpty={(r) => r.locks.length === 0}
        empty="No client holds a byte-range lock."
      >
        {(r) => {
          const shown = needle
            ? r.locks.filter((l) =>
                [l.holder, l.path ?? '', `inode ${l.ino}`].some((v) => v.toLowerCase().includes(needle)),
              )
            : r.locks;
          return shown.length === 0 ? (
            <PanelState state="empty">No lock matches the filter.</PanelState>
          ) : (
            <Table caption="Byte-range locks">
              <HeadRow columns={['Protocol', 'Holder', 'File', 'Range', 'Mode', 'Taken']} actions />
              <tbody className="tabular-nums">
                {shown.map((l) => (
                  <tr
                    key={`${l.holder} ${l.ino} ${l.offset} ${l.length} ${l.since}`}
                    data-lock-holder={l.holder}
                  >
                    <Td className="uppercase">{l.protocol}</Td>
                    <Td className="font-mono text-xs">
                      {l.holder}
                      {l.node ? (
                        <div className="font-sans text-slate-500 dark:text-slate-400">through {l.node}</div>
                      ) : null}
                    </Td>
                    <Td className="font-mono text-xs">{l.path ?? `inode ${l.ino}`}</Td>
                    <Td>{range(l)}</Td>
                    <Td>{l.exclusive ? 'exclusive (write)' : 'shared (read)'}</Td>
                    <Td className="whitespace-nowrap">{ago(Date.parse(l.since))}</Td>
                    <Td>
                      {l.protocol === 'nfs' && l.node === undefined ? (
                        <Button
                          variant="danger"
                          disabled={denied !== null || release.isPending}
                          title={denied ?? `release every lock of ${l.holder}`}
                          onClick={() => setConfirm(l.holder)}
                        >
                          Release
                        </Button>
                      ) : null}
                    </Td>
                  </tr>
                ))}
              </tbody>
            </Table>
          );
        }}
      </QueryPanel>
      {locks.data && locks.data.waiting > 0 ? (
        <p className="mt-2 text-sm text-slate-600 dark:text-slate-300">
          {plural(locks.data.waiting, 'NFS lock request')} waiting for a conflicting lock to go.
        </p>
      ) : null}
      {denied ? <p className="mt-2 text-xs text-slate-500 dark:text-slate-400">Releasing {denied}.</p> : null}
      <ConfirmDialog
        open={confirm !== null}
        title={`Release every lock of NFS client ${confirm ?? ''}?`}
        confirmLabel="Release locks"
        tone="danger"
        busy={release.isPending}
        onCancel={() => setConfirm(null)}
        onConfirm={() => confirm && release.mutate({ client: confirm })}
      >
        Its {plural(held(confirm), 'lock')} on this gateway and its waiting lock requests go, as when it
        restarts. Do this only for a client that is gone: if it still runs, its applications are not told and
        go on as if they held them.
      </ConfirmDialog>
    </Card>
  );
}
