'use client';
import type { SessionView } from '@claudefs/api';
import { Banner, Button, Field, fieldAria, Input } from '@claudefs/ui';
import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { isGatewayDown, isUnauthorized, messageOf } from '../lib/errors.ts';
import { useTRPC } from '../lib/trpc.ts';

export function SignIn({ onSignedIn, expired }: { onSignedIn: (s: SessionView) => void; expired: boolean }) {
  const trpc = useTRPC();
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const signIn = useMutation(
    trpc.auth.signIn.mutationOptions({
      onSuccess: (s) =>
        onSignedIn({
          user: s.user,
          role: s.role,
          via: 'console',
          actor: `console:${s.user}`,
          expiresAt: s.expiresAt,
        }),
      onError: (e) =>
        setProblem(
          isUnauthorized(e)
            ? 'Wrong user name or password.'
            : isGatewayDown(e)
              ? 'The gateway cannot be reached; try again in a moment.'
              : messageOf(e),
        ),
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!user.trim() || !password) {
      setProblem('Enter your user name and password.');
      return;
    }
    setProblem(null);
    signIn.mutate({ user: user.trim(), password });
  };
  return (
    <main className="flex min-h-screen items-center justify-center p-6">
      <form
        onSubmit={submit}
        aria-labelledby="signin-title"
        className="flex w-full max-w-sm flex-col gap-4 rounded-lg border border-slate-200 bg-white p-6 shadow-sm dark:border-slate-700 dark:bg-slate-900"
      >
        <div>
          <h1 id="signin-title" className="text-lg font-semibold">
            Sign in to ClaudeFS Gateway
          </h1>
          <p className="text-sm text-slate-500 dark:text-slate-400">Operations console</p>
        </div>
        {expired ? (
          <Banner tone="warning" role="status">
            Your session ended. Sign in again.
          </Banner>
        ) : null}
        <Field id="username" label="User name">
          <Input
            {...fieldAria('username')}
            name="username"
            autoComplete="username"
            autoFocus
            value={user}
            onChange={(e) => setUser(e.target.value)}
          />
        </Field>
        <Field id="password" label="Password">
          <Input
            {...fieldAria('password')}
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </Field>
        {problem ? (
          <p role="alert" className="text-sm text-red-700 dark:text-red-400">
            {problem}
          </p>
        ) : null}
        <Button type="submit" variant="primary" disabled={signIn.isPending}>
          {signIn.isPending ? 'Signing in…' : 'Sign in'}
        </Button>
      </form>
    </main>
  );
}
