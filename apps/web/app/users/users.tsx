'use client';
import type { CreatedS3Key, Role, UserView } from '@claudefs/api';
import {
  Banner,
  Button,
  Card,
  ConfirmDialog,
  CopyButton,
  Field,
  fieldAria,
  HeadRow,
  Select,
  Table,
  Td,
  TextField,
} from '@claudefs/ui';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { PageHeader } from '../../components/page-header.tsx';
import { QueryPanel } from '../../components/query-panel.tsx';
import { nameProblem, parseGroups, parseId, passwordProblem } from '../../lib/accounts.ts';
import { messageOf } from '../../lib/errors.ts';
import { dateTime } from '../../lib/format.ts';
import { useRoleProblem, useSession } from '../../lib/session.ts';
import { useTRPC } from '../../lib/trpc.ts';
import { useToast } from '../providers.tsx';
import { Groups } from './groups.tsx';

/**
 * The console roles a user may have, "none" first (no console access). Spelled here: the
 * console takes only types from @claudefs/api, so none of its server code reaches the browser.
 */
const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];
const ROLE_OPTIONS = ['', ...ROLES].map((r) => (
  <option key={r} value={r}>
    {r || 'none'}
  </option>
));

/** What a role lets its holder do in the console, said before it is granted. */
const ROLE_MEANS: Record<Role | 'none', string> = {
  viewer: 'A viewer reads every page and runs diagnostics, and changes nothing.',
  operator:
    'An operator also drains and undrains nodes, runs rolling restarts, reloads the configuration, invalidates caches and resets circuits.',
  admin:
    'An admin also manages users, groups, S3 keys, quotas and certificates: everything, including other admins.',
  none: 'Their console sessions end and they can no longer sign in to the console; SMB, S3 and NFS are unchanged.',
};

type Problems = Partial<Record<'name' | 'uid' | 'group' | 'groups' | 'password', string>>;

/**
 * A new account: its name, and — to match the uids and gids NFS clients already use — its uid,
 * primary group and supplementary groups (groups named that do not exist are created).
 */
function AddUser() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [name, setName] = useState('');
  const [uid, setUid] = useState('');
  const [group, setGroup] = useState('');
  const [groups, setGroups] = useState('');
  const [role, setRole] = useState<Role | ''>('');
  const [password, setPassword] = useState('');
  const [problem, setProblem] = useState<Problems>({});
  const add = useMutation(
    trpc.users.add.mutationOptions({
      onSuccess: (u) => {
        toast('success', `User ${u.name} added (uid ${u.uid}, gid ${u.gid}).`);
        for (const clear of [setName, setUid, setGroup, setGroups, setPassword]) clear('');
        setRole('');
        void queryClient.invalidateQueries({ queryKey: trpc.users.list.queryKey() });
        void queryClient.invalidateQueries({ queryKey: trpc.groups.list.queryKey() });
      },
      onError: (e) => toast('error', `User not added: ${messageOf(e)}`),
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const id = parseId('uid', uid);
    const supplementary = parseGroups(groups);
    const p: Problems = {
      name: nameProblem('user', name),
      uid: id.problem,
      group: group.trim() ? nameProblem('group', group.trim()) : undefined,
      groups: supplementary.problem,
      password: role && !password ? 'a console user needs a password' : passwordProblem(password),
    };
    setProblem(p);
    if (Object.values(p).some(Boolean)) return;
    add.mutate({
      name,
      role: role || null,
      ...(id.value !== undefined ? { uid: id.value } : {}),
      ...(group.trim() ? { group: group.trim() } : {}),
      ...(supplementary.groups.length > 0 ? { groups: supplementary.groups } : {}),
      ...(password ? { password } : {}),
    });
  };
  const text = (
    key: keyof Problems,
    label: string,
    value: string,
    set: (v: string) => void,
    extra: { hint?: string; placeholder?: string; type?: string; inputMode?: 'numeric' } = {},
  ) => (
    <TextField
      id={`user-${key}`}
      name={key}
      label={label}
      value={value}
      onChange={set}
      error={problem[key]}
      autoComplete={extra.type === 'password' ? 'new-password' : 'off'}
      {...extra}
    />
  );
  return (
    <form
      onSubmit={submit}
      noValidate
      aria-label="Add user"
      className="grid grid-cols-1 items-start gap-3 sm:grid-cols-3"
    >
      {text('name', 'User name', name, setName, { placeholder: 'alice' })}
      {text('uid', 'uid', uid, setUid, {
        inputMode: 'numeric',
        placeholder: 'next free from 1000',
        hint: 'the uid NFS clients use for this person',
      })}
      {text('group', 'Primary group', group, setGroup, {
        placeholder: 'a group named like the user',
        hint: 'created if it does not exist',
      })}
      {text('groups', 'Other groups', groups, setGroups, {
        placeholder: 'eng, claudefs-users',
        hint: 'SMB shares’ valid groups; created if absent',
      })}
      <Field id="user-role" label="Console role">
        <Select
          {...fieldAria('user-role')}
          value={role}
          onChange={(e) => setRole(e.target.value as Role | '')}
        >
          {ROLE_OPTIONS}
        </Select>
      </Field>
      {text('password', 'Password', password, setPassword, {
        type: 'password',
        hint: 'at least 8 characters; for the console and SMB; optional without a role',
      })}
      <div className="sm:col-span-3">
        <Button type="submit" variant="primary" disabled={add.isPending}>
          Add user
        </Button>
      </div>
    </form>
  );
}

/** Sets a user's password (the console's and SMB's NT hash): typed twice, never shown. */
function PasswordDialog({ user, open, onClose }: { user: string; open: boolean; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [first, setFirst] = useState('');
  const [second, setSecond] = useState('');
  const close = () => {
    setFirst('');
    setSecond('');
    onClose();
  };
  const set = useMutation(
    trpc.users.setPassword.mutationOptions({
      onSuccess: (r) => {
        toast('success', `Password of ${r.changed} changed (console and SMB).`);
        void queryClient.invalidateQueries({ queryKey: trpc.users.list.queryKey() });
        close();
      },
      onError: (e) => toast('error', `Password not changed: ${messageOf(e)}`),
    }),
  );
  const short = passwordProblem(first) ?? null;
  const mismatch = second !== '' && first !== second ? 'the two passwords differ' : null;
  return (
    <ConfirmDialog
      open={open}
      title={`Set the password of ${user}`}
      confirmLabel="Set password"
      busy={set.isPending}
      confirmDisabled={first === '' || short !== null || first !== second}
      onCancel={close}
      onConfirm={() => set.mutate({ name: user, password: first })}
    >
      <div className="flex flex-col gap-3">
        <p>Used to sign in to the console and over SMB. {user}’s other console sessions end.</p>
        <TextField
          id={`pw1-${user}`}
          label="New password"
          type="password"
          autoComplete="new-password"
          value={first}
          onChange={setFirst}
          error={short}
          hint={short ? undefined : 'at least 8 characters'}
        />
        <TextField
          id={`pw2-${user}`}
          label="Again"
          type="password"
          autoComplete="new-password"
          value={second}
          onChange={setSecond}
          error={mismatch}
        />
      </div>
    </ConfirmDialog>
  );
}

function UserRow({ u, admin }: { u: UserView; admin: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [confirm, setConfirm] = useState(false);
  const [passwordOpen, setPasswordOpen] = useState(false);
  const [disableOpen, setDisableOpen] = useState(false);
  // A role asked for in the select, applied only once confirmed (undefined: nothing asked).
  const [roleAsked, setRoleAsked] = useState<Role | null | undefined>(undefined);
  // What an admin may not do to the account they are signed in with (the router refuses it too).
  const ownAccount =
    useSession()?.user === u.name ? { disabled: true, title: 'the account you are signed in with' } : {};
  const setDisabled = useMutation(
    trpc.users.setDisabled.mutationOptions({
      onSuccess: (r) => {
        toast('success', r.disabled ? `User ${r.name} disabled.` : `User ${r.name} enabled.`);
        refresh();
      },
      onError: (e) => toast('error', `User not changed: ${messageOf(e)}`),
      onSettled: () => setDisableOpen(false),
    }),
  );
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: trpc.users.list.queryKey() });
    void queryClient.invalidateQueries({ queryKey: trpc.keys.list.queryKey() });
    // Removing a user removes its own primary group too; memberships change with it.
    void queryClient.invalidateQueries({ queryKey: trpc.groups.list.queryKey() });
  };
  const setRole = useMutation(
    trpc.users.setRole.mutationOptions({
      onSuccess: (r) => {
        toast('success', `${r.name} is now ${r.role ?? 'without console access'}.`);
        refresh();
      },
      onError: (e) => toast('error', `Role not changed: ${messageOf(e)}`),
      onSettled: () => setRoleAsked(undefined),
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
  // The page's one key list (the keys table reads the same query).
  const keys = useQuery(trpc.keys.list.queryOptions());
  const activeKeys = keys.data?.filter((k) => k.userName === u.name && k.status === 'active').length ?? 0;
  const copied = (ok: boolean) =>
    toast(
      ok ? 'info' : 'error',
      ok ? 'Copied to the clipboard.' : 'Could not copy: select the text instead.',
    );
  return (
    <>
      <tr data-user={u.name}>
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
                {...ownAccount}
                className="w-32 min-w-32"
                value={u.role ?? ''}
                onChange={(e) => setRoleAsked((e.target.value || null) as Role | null)}
              >
                {ROLE_OPTIONS}
              </Select>
            </>
          ) : (
            (u.role ?? 'none')
          )}
        </Td>
        <Td className="text-xs">
          {[
            u.disabled ? 'disabled' : null,
            u.hasPassword ? 'password' : null,
            u.hasNtHash ? 'SMB' : null,
            activeKeys > 0 ? `${activeKeys} S3 key${activeKeys === 1 ? '' : 's'}` : null,
          ]
            .filter(Boolean)
            .join(', ') || '—'}
        </Td>
        <Td className="whitespace-nowrap text-right">
          {admin ? (
            <>
              <Button size="sm" variant="ghost" onClick={() => setPasswordOpen(true)}>
                Set password
              </Button>
              {u.disabled ? (
                <Button
                  size="sm"
                  variant="ghost"
                  disabled={setDisabled.isPending}
                  onClick={() => setDisabled.mutate({ name: u.name, disabled: false })}
                >
                  Enable
                </Button>
              ) : (
                <Button size="sm" variant="ghost" {...ownAccount} onClick={() => setDisableOpen(true)}>
                  Disable
                </Button>
              )}
              <Button size="sm" variant="ghost" onClick={() => createKey.mutate({ user: u.name })}>
                New S3 key
              </Button>
              <Button size="sm" variant="ghost" {...ownAccount} onClick={() => setConfirm(true)}>
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
              <p className="flex items-center gap-2 font-mono text-xs">
                Access key id: {secret.accessKeyId}
                <CopyButton text={secret.accessKeyId} label="Copy the access key id" onCopied={copied} />
              </p>
              <p className="flex items-center gap-2 font-mono text-xs break-all">
                Secret: {secret.secret}
                <CopyButton text={secret.secret} label="Copy the secret" onCopied={copied} />
              </p>
            </Banner>
          </td>
        </tr>
      ) : null}
      <PasswordDialog user={u.name} open={passwordOpen} onClose={() => setPasswordOpen(false)} />
      <ConfirmDialog
        open={roleAsked !== undefined}
        title={
          roleAsked ? `Give ${u.name} the ${roleAsked} role?` : `Take console access away from ${u.name}?`
        }
        confirmLabel={roleAsked ? `Make ${roleAsked}` : 'Remove access'}
        tone={roleAsked === 'admin' || roleAsked === null ? 'danger' : undefined}
        busy={setRole.isPending}
        onCancel={() => setRoleAsked(undefined)}
        onConfirm={() => roleAsked !== undefined && setRole.mutate({ name: u.name, role: roleAsked })}
      >
        {u.name} is {u.role ?? 'without console access'} now. {ROLE_MEANS[roleAsked ?? 'none']}
      </ConfirmDialog>
      <ConfirmDialog
        open={disableOpen}
        title={`Disable user ${u.name}?`}
        confirmLabel="Disable user"
        tone="danger"
        busy={setDisabled.isPending}
        onCancel={() => setDisableOpen(false)}
        onConfirm={() => setDisabled.mutate({ name: u.name, disabled: true })}
      >
        The console, SMB and S3 refuse {u.name} at once, and their console and SMB sessions end (files they
        have open over SMB close). Files, groups and S3 keys stay; Enable undoes it. NFS (AUTH_SYS) carries
        uid {u.uid}, not an account: restrict it in the export.
      </ConfirmDialog>
      <ConfirmDialog
        open={confirm}
        title={`Remove user ${u.name}?`}
        confirmLabel="Remove user"
        tone="danger"
        busy={remove.isPending}
        onCancel={() => setConfirm(false)}
        onConfirm={() => remove.mutate({ name: u.name })}
      >
        Their S3 keys, console sessions and SMB sessions go too. Files they own keep uid {u.uid}.
      </ConfirmDialog>
    </>
  );
}

function Keys({ admin }: { admin: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const keys = useQuery(trpc.keys.list.queryOptions());
  const [revoking, setRevoking] = useState<{ accessKeyId: string; userName: string } | null>(null);
  const revoke = useMutation(
    trpc.keys.revoke.mutationOptions({
      onSuccess: (k) => {
        toast('success', `Key ${k.accessKeyId} revoked.`);
        void queryClient.invalidateQueries({ queryKey: trpc.keys.list.queryKey() });
      },
      onError: (e) => toast('error', `Key not revoked: ${messageOf(e)}`),
      onSettled: () => setRevoking(null),
    }),
  );
  return (
    <>
      <QueryPanel query={keys} isEmpty={(k) => k.length === 0} empty="No S3 access key exists.">
        {(list) => (
          <Table caption="S3 access keys">
            <HeadRow columns={['Access key id', 'User', 'Status', 'Created', 'Last used']} actions />
            <tbody>
              {list.map((k) => (
                <tr key={k.accessKeyId}>
                  <Td className="font-mono text-xs">{k.accessKeyId}</Td>
                  <Td>
                    {k.userName} <span className="text-xs text-slate-500">(uid {k.uid})</span>
                  </Td>
                  <Td>
                    {k.userDisabled && k.status === 'active' ? (
                      <span title="S3 refuses the keys of a disabled user">active (user disabled)</span>
                    ) : (
                      k.status
                    )}
                  </Td>
                  <Td className="text-xs">{dateTime(k.createdAt)}</Td>
                  <Td className="text-xs">{dateTime(k.lastUsedAt)}</Td>
                  <Td className="text-right">
                    {admin && k.status === 'active' ? (
                      <Button
                        size="sm"
                        variant="ghost"
                        aria-label={`Revoke ${k.accessKeyId}`}
                        onClick={() => setRevoking({ accessKeyId: k.accessKeyId, userName: k.userName })}
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
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke key ${revoking?.accessKeyId ?? ''}?`}
        confirmLabel="Revoke key"
        tone="danger"
        busy={revoke.isPending}
        onCancel={() => setRevoking(null)}
        onConfirm={() => revoking && revoke.mutate({ accessKeyId: revoking.accessKeyId })}
      >
        Every S3 client signing with it is refused within a second (InvalidAccessKeyId). A revoked key cannot
        be made active again: {revoking?.userName ?? 'its user'} needs a new one.
      </ConfirmDialog>
    </>
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
        title="Users, groups and keys"
        description="One identity per person: NFS uid/gid, groups, S3 keys, SMB password and console role."
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
                <HeadRow columns={['Name', 'uid:gid', 'Groups', 'Role', 'Credentials']} actions />
                <tbody>
                  {list.map((u) => (
                    <UserRow key={u.name} u={u} admin={admin} />
                  ))}
                </tbody>
              </Table>
            )}
          </QueryPanel>
        </Card>
        <Card title="Groups">
          <Groups admin={admin} />
        </Card>
        <Card title="S3 access keys">
          <Keys admin={admin} />
        </Card>
      </div>
    </>
  );
}
