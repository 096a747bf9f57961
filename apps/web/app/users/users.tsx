'use client';
import type { CreatedS3Key, Role, UserView } from '@claudefs/api';
import {
  Banner,
  Button,
  Card,
  ConfirmDialog,
  Field,
  fieldAria,
  Input,
  Select,
  Table,
  Td,
  Th,
} from '@claudefs/ui';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { PageHeader } from '../../components/page-header.tsx';
import { QueryPanel } from '../../components/query-panel.tsx';
import { messageOf } from '../../lib/errors.ts';
import { dateTime } from '../../lib/format.ts';
import { useRoleProblem } from '../../lib/session.ts';
import { useTRPC } from '../../lib/trpc.ts';
import { useToast } from '../providers.tsx';

const NAME = /^[a-z_][a-z0-9_.-]{0,31}$/;

function AddUser() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role | ''>('');
  const [password, setPassword] = useState('');
  const [problem, setProblem] = useState<{ name?: string; password?: string }>({});
  const add = useMutation(
    trpc.users.add.mutationOptions({
      onSuccess: (u) => {
        toast('success', `User ${u.name} added (uid ${u.uid}).`);
        setName('');
        setPassword('');
        void queryClient.invalidateQueries({ queryKey: trpc.users.list.queryKey() });
      },
      onError: (e) => toast('error', `User not added: ${messageOf(e)}`),
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const p: typeof problem = {};
    if (!NAME.test(name))
      p.name = 'lowercase letters, digits, _ . - (at most 32), starting with a letter or _';
    if (role && !password) p.password = 'a console user needs a password';
    setProblem(p);
    if (p.name || p.password) return;
    add.mutate({ name, role: role || null, ...(password ? { password } : {}) });
  };
  return (
    <form
      onSubmit={submit}
      noValidate
      aria-label="Add user"
      className="grid grid-cols-[1fr_9rem_1fr_auto] items-start gap-3"
    >
      <Field id="user-name" label="User name" error={problem.name}>
        <Input
          {...fieldAria('user-name', problem.name)}
          invalid={!!problem.name}
          value={name}
          onChange={(e) => setName(e.target.value)}
        />
      </Field>
      <Field id="user-role" label="Console role">
        <Select
          {...fieldAria('user-role')}
          value={role}
          onChange={(e) => setRole(e.target.value as Role | '')}
        >
          <option value="">none</option>
          <option value="viewer">viewer</option>
          <option value="operator">operator</option>
          <option value="admin">admin</option>
        </Select>
      </Field>
      <Field id="user-password" label="Password" error={problem.password}>
        <Input
          {...fieldAria('user-password', problem.password)}
          invalid={!!problem.password}
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </Field>
      <Button type="submit" variant="primary" className="mt-5" disabled={add.isPending}>
        Add user
      </Button>
    </form>
  );
}

function UserRow({ u, admin }: { u: UserView; admin: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [confirm, setConfirm] = useState(false);
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: trpc.users.list.queryKey() });
    void queryClient.invalidateQueries({ queryKey: trpc.keys.list.queryKey() });
  };
  const setRole = useMutation(
    trpc.users.setRole.mutationOptions({
      onSuccess: (r) => {
        toast('success', `${r.name} is now ${r.role ?? 'without console access'}.`);
        refresh();
      },
      onError: (e) => toast('error', `Role not changed: ${messageOf(e)}`),
    }),
  );
  const remove = useMutation(
    trpc.users.remove.mutationOptions({
      onSuccess: (r) => {
        toast('success', `User ${r.removed} removed.`);
        refresh();
      },
      onError: (e) => toast('error', `User not removed: ${messageOf(e)}`),
      onSettled: () => setConfirm(false),
    }),
  );
  const createKey = useMutation(
    trpc.keys.create.mutationOptions({
      onSuccess: (k: CreatedS3Key) => {
        setSecret(k);
        toast('success', `S3 key ${k.accessKeyId} created for ${k.userName}.`);
        refresh();
      },
      onError: (e) => toast('error', `Key not created: ${messageOf(e)}`),
    }),
  );
  const [secret, setSecret] = useState<CreatedS3Key | null>(null);
  return (
    <>
      <tr>
        <Td className="font-medium">{u.name}</Td>
        <Td className="tabular-nums">
          {u.uid}:{u.gid}
        </Td>
        <Td className="text-xs">{u.groups.join(', ') || '—'}</Td>
        <Td>
          {admin ? (
            <>
              <label htmlFor={`role-${u.name}`} className="sr-only">
                Console role of {u.name}
              </label>
              <Select
                id={`role-${u.name}`}
                className="w-32"
                value={u.role ?? ''}
                onChange={(e) =>
                  setRole.mutate({ name: u.name, role: (e.target.value || null) as Role | null })
                }
              >
                <option value="">none</option>
                <option value="viewer">viewer</option>
                <option value="operator">operator</option>
                <option value="admin">admin</option>
              </Select>
            </>
          ) : (
            (u.role ?? 'none')
          )}
        </Td>
        <Td className="text-xs">
          {[u.disabled ? 'disabled' : null, u.hasPassword ? 'password' : null, u.hasNtHash ? 'SMB' : null]
            .filter(Boolean)
            .join(', ') || '—'}
        </Td>
        <Td className="whitespace-nowrap text-right">
          {admin ? (
            <>
              <Button size="sm" variant="ghost" onClick={() => createKey.mutate({ user: u.name })}>
                New S3 key
              </Button>
              <Button size="sm" variant="ghost" onClick={() => setConfirm(true)}>
                Remove
              </Button>
            </>
          ) : null}
        </Td>
      </tr>
      {secret ? (
        <tr>
          <td colSpan={6} className="px-2 py-2">
            <Banner
              tone="warning"
              title="Copy the secret now: it is never shown again"
              action={
                <Button size="sm" onClick={() => setSecret(null)}>
                  Done
                </Button>
              }
            >
              <p className="font-mono text-xs">Access key id: {secret.accessKeyId}</p>
              <p className="font-mono text-xs break-all">Secret: {secret.secret}</p>
            </Banner>
          </td>
        </tr>
      ) : null}
      <ConfirmDialog
        open={confirm}
        title={`Remove user ${u.name}?`}
        confirmLabel="Remove user"
        tone="danger"
        busy={remove.isPending}
        onCancel={() => setConfirm(false)}
        onConfirm={() => remove.mutate({ name: u.name })}
      >
        Their S3 keys and console sessions go too. Files they own keep uid {u.uid}.
      </ConfirmDialog>
    </>
  );
}

function Keys({ admin }: { admin: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const keys = useQuery(trpc.keys.list.queryOptions());
  const revoke = useMutation(
    trpc.keys.revoke.mutationOptions({
      onSuccess: (k) => {
        toast('success', `Key ${k.accessKeyId} revoked.`);
        void queryClient.invalidateQueries({ queryKey: trpc.keys.list.queryKey() });
      },
      onError: (e) => toast('error', `Key not revoked: ${messageOf(e)}`),
    }),
  );
  return (
    <QueryPanel query={keys} isEmpty={(k) => k.length === 0} empty="No S3 access key exists.">
      {(list) => (
        <Table caption="S3 access keys">
          <thead>
            <tr>
              <Th>Access key id</Th>
              <Th>User</Th>
              <Th>Status</Th>
              <Th>Created</Th>
              <Th>Last used</Th>
              <Th>
                <span className="sr-only">Actions</span>
              </Th>
            </tr>
          </thead>
          <tbody>
            {list.map((k) => (
              <tr key={k.accessKeyId}>
                <Td className="font-mono text-xs">{k.accessKeyId}</Td>
                <Td>
                  {k.userName} <span className="text-xs text-slate-500">(uid {k.uid})</span>
                </Td>
                <Td>{k.status}</Td>
                <Td className="text-xs">{dateTime(k.createdAt)}</Td>
                <Td className="text-xs">{dateTime(k.lastUsedAt)}</Td>
                <Td className="text-right">
                  {admin && k.status === 'active' ? (
                    <Button
                      size="sm"
                      variant="ghost"
                      onClick={() => revoke.mutate({ accessKeyId: k.accessKeyId })}
                    >
                      Revoke
                    </Button>
                  ) : null}
                </Td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
    </QueryPanel>
  );
}

export function Users() {
  const trpc = useTRPC();
  const denied = useRoleProblem('admin');
  const users = useQuery(trpc.users.list.queryOptions());
  const admin = denied === null;
  return (
    <>
      <PageHeader
        title="Users and keys"
        description="One identity per person: NFS uid/gid, S3 keys, SMB password and console role."
      />
      <div className="flex flex-col gap-4">
        {admin ? null : (
          <Banner tone="info" role="status">
            Read only: managing users and keys {denied}.
          </Banner>
        )}
        <Card title="Users">
          {admin ? (
            <div className="mb-4 border-b border-slate-100 pb-4 dark:border-slate-800">
              <AddUser />
            </div>
          ) : null}
          <QueryPanel query={users} isEmpty={(u) => u.length === 0} empty="No user yet.">
            {(list) => (
              <Table caption="Users">
                <thead>
                  <tr>
                    <Th>Name</Th>
                    <Th>uid:gid</Th>
                    <Th>Groups</Th>
                    <Th>Role</Th>
                    <Th>Credentials</Th>
                    <Th>
                      <span className="sr-only">Actions</span>
                    </Th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((u) => (
                    <UserRow key={u.name} u={u} admin={admin} />
                  ))}
                </tbody>
              </Table>
            )}
          </QueryPanel>
        </Card>
        <Card title="S3 access keys">
          <Keys admin={admin} />
        </Card>
      </div>
    </>
  );
}
