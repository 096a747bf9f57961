'use client';
import type { GroupView } from '@claudefs/api';
import { Button, ConfirmDialog, HeadRow, Select, Table, Td, TextField } from '@claudefs/ui';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { QueryPanel } from '../../components/query-panel.tsx';
import { nameProblem, parseId } from '../../lib/accounts.ts';
import { messageOf } from '../../lib/errors.ts';
import { useTRPC } from '../../lib/trpc.ts';
import { useToast } from '../providers.tsx';

/** A group with the gid NFS clients already use for it (`./cfs group add NAME --gid N`). */
function AddGroup() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [name, setName] = useState('');
  const [gid, setGid] = useState('');
  const [problem, setProblem] = useState<{ name?: string; gid?: string }>({});
  const add = useMutation(
    trpc.groups.add.mutationOptions({
      onSuccess: (g) => {
        toast('success', `Group ${g.name} added (gid ${g.gid}).`);
        setName('');
        setGid('');
        void queryClient.invalidateQueries({ queryKey: trpc.groups.list.queryKey() });
      },
      onError: (e) => toast('error', `Group not added: ${messageOf(e)}`),
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const id = parseId('gid', gid);
    const p = { name: nameProblem('group', name), gid: id.problem };
    setProblem(p);
    if (p.name || p.gid) return;
    add.mutate({ name, ...(id.value !== undefined ? { gid: id.value } : {}) });
  };
  return (
    <form
      onSubmit={submit}
      noValidate
      aria-label="Add group"
      className="grid grid-cols-1 items-start gap-3 sm:grid-cols-[1fr_1fr_auto]"
    >
      <TextField
        id="group-name"
        name="group-name"
        label="Group name"
        placeholder="eng"
        value={name}
        onChange={setName}
        error={problem.name}
      />
      <TextField
        id="group-gid"
        name="group-gid"
        label="gid"
        inputMode="numeric"
        placeholder="next free from 1000"
        value={gid}
        onChange={setGid}
        error={problem.gid}
      />
      <Button type="submit" variant="primary" className="mt-5" disabled={add.isPending}>
        Add group
      </Button>
    </form>
  );
}

/**
 * A group's members: users whose primary group it is (marked, fixed here), then supplementary
 * members, each removable by an admin; an admin adds any other user. Changes apply at the
 * user's next sign-in or credential lookup (within a second).
 */
function Members({ g, admin, users }: { g: GroupView; admin: boolean; users: readonly string[] }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [pick, setPick] = useState('');
  const done = (what: string, r: GroupView) => {
    toast('success', what);
    queryClient.setQueryData(trpc.groups.list.queryKey(), (old?: GroupView[]) =>
      old?.map((x) => (x.name === r.name ? r : x)),
    );
    void queryClient.invalidateQueries({ queryKey: trpc.users.list.queryKey() });
  };
  const add = useMutation(
    trpc.groups.addMember.mutationOptions({
      onSuccess: (r, v) => {
        done(`${v.user} added to group ${r.name}.`, r);
        setPick('');
      },
      onError: (e) => toast('error', `Member not added: ${messageOf(e)}`),
    }),
  );
  const remove = useMutation(
    trpc.groups.removeMember.mutationOptions({
      onSuccess: (r, v) => done(`${v.user} removed from group ${r.name}.`, r),
      onError: (e) => toast('error', `Member not removed: ${messageOf(e)}`),
    }),
  );
  const inGroup = new Set(g.members.map((m) => m.name));
  const others = users.filter((u) => !inGroup.has(u));
  return (
    <div className="flex flex-wrap items-center gap-1.5">
      {g.members.length === 0 ? <span>—</span> : null}
      {g.members.map((m) => (
        <span
          key={m.name}
          data-member={m.name}
          className="inline-flex items-center gap-1 rounded bg-slate-100 px-1.5 py-0.5 dark:bg-slate-800"
        >
          {m.primary ? `${m.name} (primary)` : m.name}
          {admin && !m.primary ? (
            <button
              type="button"
              aria-label={`Remove ${m.name} from ${g.name}`}
              title={`Remove ${m.name} from ${g.name}`}
              className="rounded px-0.5 text-slate-500 hover:text-red-700 focus-visible:outline-2 focus-visible:outline-sky-600"
              disabled={remove.isPending}
              onClick={() => remove.mutate({ name: g.name, user: m.name })}
            >
              ×
            </button>
          ) : null}
        </span>
      ))}
      {admin && others.length > 0 ? (
        <span className="inline-flex items-center gap-1">
          <label htmlFor={`add-member-${g.name}`} className="sr-only">
            User to add to {g.name}
          </label>
          <Select
            id={`add-member-${g.name}`}
            className="w-32 min-w-32 py-0.5 text-xs"
            value={pick}
            onChange={(e) => setPick(e.target.value)}
          >
            <option value="">add…</option>
            {others.map((u) => (
              <option key={u} value={u}>
                {u}
              </option>
            ))}
          </Select>
          <Button
            size="sm"
            variant="ghost"
            disabled={pick === '' || add.isPending}
            onClick={() => add.mutate({ name: g.name, user: pick })}
          >
            Add
          </Button>
        </span>
      ) : null}
    </div>
  );
}

function GroupRow({ g, admin, users }: { g: GroupView; admin: boolean; users: readonly string[] }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [confirm, setConfirm] = useState(false);
  const remove = useMutation(
    trpc.groups.remove.mutationOptions({
      onSuccess: (r) => {
        toast('success', `Group ${r.removed} removed.`);
        void queryClient.invalidateQueries({ queryKey: trpc.groups.list.queryKey() });
        void queryClient.invalidateQueries({ queryKey: trpc.users.list.queryKey() });
      },
      onError: (e) => toast('error', `Group not removed: ${messageOf(e)}`),
      onSettled: () => setConfirm(false),
    }),
  );
  const primaryOf = g.members.filter((m) => m.primary).map((m) => m.name);
  return (
    <tr data-group={g.name}>
      <Td className="font-medium">{g.name}</Td>
      <Td className="tabular-nums">{g.gid}</Td>
      <Td className="text-xs">
        <Members g={g} admin={admin} users={users} />
      </Td>
      <Td className="text-right">
        {admin ? (
          <Button
            size="sm"
            variant="ghost"
            disabled={primaryOf.length > 0}
            title={primaryOf.length > 0 ? `the primary group of ${primaryOf.join(', ')}` : undefined}
            onClick={() => setConfirm(true)}
          >
            Remove
          </Button>
        ) : null}
        <ConfirmDialog
          open={confirm}
          title={`Remove group ${g.name}?`}
          confirmLabel="Remove group"
          tone="danger"
          busy={remove.isPending}
          onCancel={() => setConfirm(false)}
          onConfirm={() => remove.mutate({ name: g.name })}
        >
          Its members lose it at once (SMB shares that name it in valid groups refuse them). Files owned by
          gid {g.gid} keep it.
        </ConfirmDialog>
      </Td>
    </tr>
  );
}

/** Groups with their members; admins add and remove them. */
export function Groups({ admin }: { admin: boolean }) {
  const trpc = useTRPC();
  const groups = useQuery(trpc.groups.list.queryOptions());
  const users = useQuery(trpc.users.list.queryOptions());
  const userNames = (users.data ?? []).map((u) => u.name);
  return (
    <>
      {admin ? (
        <div className="mb-4 border-b border-slate-100 pb-4 dark:border-slate-800">
          <AddGroup />
        </div>
      ) : null}
      <QueryPanel query={groups} isEmpty={(g) => g.length === 0} empty="No group yet.">
        {(list) => (
          <Table caption="Groups">
            <HeadRow columns={['Name', 'gid', 'Members']} actions />
            <tbody>
              {list.map((g) => (
                <GroupRow key={g.name} g={g} admin={admin} users={userNames} />
              ))}
            </tbody>
          </Table>
        )}
      </QueryPanel>
    </>
  );
}
