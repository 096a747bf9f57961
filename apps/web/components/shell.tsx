'use client';
import type { SessionView } from '@claudefs/api';
import { Banner, Button, cx, PanelState, StatusBadge } from '@claudefs/ui';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { type ReactNode, useEffect, useRef, useState } from 'react';
import { UNAUTHORIZED_EVENT, useToast } from '../app/providers.tsx';
import { isGatewayDown, isGatewayStuck, messageOf } from '../lib/errors.ts';
import { healthWord } from '../lib/health.ts';
import { SessionContext } from '../lib/session.ts';
import { useTRPC } from '../lib/trpc.ts';
import { SignIn } from './sign-in.tsx';

const NAV: Array<{ href: string; label: string }> = [
  { href: '/', label: 'Overview' },
  { href: '/cluster', label: 'Cluster' },
  { href: '/maintenance', label: 'Maintenance' },
  { href: '/quotas', label: 'Quotas' },
  { href: '/metrics', label: 'Metrics' },
  { href: '/connections', label: 'Connections' },
  { href: '/access', label: 'Access' },
  { href: '/buckets', label: 'Buckets' },
  { href: '/circuits', label: 'Circuit breakers' },
  { href: '/certificates', label: 'Certificates' },
  { href: '/diagnostics', label: 'Diagnostics' },
  { href: '/users', label: 'Users and groups' },
  { href: '/audit', label: 'Audit log' },
  { href: '/runbook', label: 'Runbook' },
];

/**
 * Every page's frame: the sign-in form until there is a session, the navigation, and a banner on
 * every page while the gateway cannot be reached (cleared, and every panel refetched, when it answers).
 */
export function Shell({ children }: { children: ReactNode }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const pathname = usePathname();
  const sessionKey = trpc.auth.session.queryKey();
  const [expired, setExpired] = useState(false);
  const [menuOpen, setMenuOpen] = useState(false);

  const session = useQuery({
    ...trpc.auth.session.queryOptions(),
    // Idle expiry is noticed even on a page that polls nothing.
    refetchInterval: (q) => (q.state.status === 'error' ? 5_000 : 60_000),
    retry: false,
  });
  const health = useQuery({
    ...trpc.health.queryOptions(),
    refetchInterval: 5_000,
    retry: false,
    enabled: session.data != null || session.isError || (session.isPending && session.errorUpdateCount > 0),
  });

  // A query with no answer yet starts over at each refetch (TanStack Query: pending again, its
  // error cleared): the last error stands until an answer comes, so a console opened while the
  // gateway is stuck keeps its banner instead of falling back to the first-load spinner.
  const lastSessionError = useRef<unknown>(undefined);
  if (session.isError) lastSessionError.current = session.error;
  else if (session.isSuccess) lastSessionError.current = undefined;
  const sessionFailed = session.isError || (session.isPending && lastSessionError.current !== undefined);
  const sessionError = session.error ?? lastSessionError.current;
  const gatewayDown =
    (sessionFailed && isGatewayDown(sessionError)) || (health.isError && isGatewayDown(health.error));
  const wasDown = useRef(false);
  useEffect(() => {
    if (gatewayDown) wasDown.current = true;
    else if (wasDown.current && (health.isSuccess || session.isSuccess)) {
      wasDown.current = false;
      void queryClient.invalidateQueries();
    }
  }, [gatewayDown, health.isSuccess, session.isSuccess, queryClient]);

  useEffect(() => {
    const onUnauthorized = () => {
      if (queryClient.getQueryData(sessionKey)) setExpired(true);
      queryClient.setQueryData(sessionKey, null);
      queryClient.removeQueries({ predicate: (q) => q.queryHash !== JSON.stringify(sessionKey) });
    };
    window.addEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
  }, [queryClient, sessionKey]);

  const signOut = useMutation(
    trpc.auth.signOut.mutationOptions({
      onSettled: () => {
        setExpired(false);
        queryClient.clear();
        queryClient.setQueryData(sessionKey, null);
      },
      onError: (e) => toast('error', `Sign-out: ${messageOf(e)}`),
    }),
  );

  const stuck =
    (sessionFailed && isGatewayStuck(sessionError)) || (health.isError && isGatewayStuck(health.error));
  const downBanner = !gatewayDown ? null : stuck ? (
    <Banner tone="critical" role="alert" title="Gateway not answering" className="mb-4">
      The gateway has not answered for 10 s: it is stuck — most often on a disk under it that has stopped
      answering, or stopped by a signal — or the network drops what is sent to it. On the gateway's host,{' '}
      <code>./cfs diagnose unresponsive</code> says which, what it waits in and what to do; its log says it
      too (<code>event loop blocked for …</code>). Figures below may be stale; this page recovers by itself
      when the gateway answers (checking every 5 s).
    </Banner>
  ) : (
    <Banner tone="critical" role="alert" title="Gateway unreachable" className="mb-4">
      The console cannot reach the gateway. Figures below may be stale; this page recovers by itself when the
      gateway answers (checking every 5 s).
    </Banner>
  );

  if (session.isPending && !sessionFailed) {
    return (
      <main className="flex min-h-screen items-center justify-center">
        <PanelState state="loading">Connecting to the gateway…</PanelState>
      </main>
    );
  }
  if (sessionFailed && !session.data) {
    return (
      <main className="mx-auto flex min-h-screen max-w-lg flex-col justify-center p-6">
        {downBanner ?? (
          <Banner tone="critical" role="alert" title="The console could not start">
            {messageOf(sessionError)}
          </Banner>
        )}
      </main>
    );
  }
  if (!session.data) {
    return (
      <SignIn
        expired={expired}
        onSignedIn={(s: SessionView) => {
          setExpired(false);
          queryClient.setQueryData(sessionKey, s);
          void queryClient.invalidateQueries({
            predicate: (q) => q.queryHash !== JSON.stringify(sessionKey),
          });
        }}
      />
    );
  }
  const me = session.data;
  return (
    <SessionContext.Provider value={me}>
      <div className="flex min-h-screen flex-col md:flex-row">
        <aside className="shrink-0 border-b border-slate-200 bg-white md:w-52 md:border-r md:border-b-0 dark:border-slate-800 dark:bg-slate-900">
          <nav
            aria-label="Console"
            className="flex flex-col px-3 py-3 md:sticky md:top-0 md:h-screen md:py-4"
          >
            <div className="flex items-center justify-between gap-2 md:block">
              <div className="flex items-center gap-2 md:block">
                <p className="px-2 text-sm font-semibold tracking-tight">ClaudeFS Gateway</p>
                <div className="md:mt-1 md:px-2">
                  <StatusBadge
                    status={gatewayDown ? 'unreachable' : health.data ? healthWord(health.data) : 'unknown'}
                  />
                </div>
              </div>
              {/* Below md the pages get the whole width and the sections fold behind this button. */}
              <Button
                size="sm"
                className="md:hidden"
                aria-expanded={menuOpen}
                aria-controls="console-sections"
                onClick={() => setMenuOpen((open) => !open)}
              >
                {menuOpen ? 'Close' : 'Menu'}
              </Button>
            </div>
            <div
              id="console-sections"
              className={cx('min-h-0 flex-1 flex-col md:flex', menuOpen ? 'flex' : 'hidden')}
            >
              <ul className="mt-3 flex flex-col gap-0.5 md:mt-4">
                {NAV.map((item) => {
                  const active = item.href === '/' ? pathname === '/' : pathname.startsWith(item.href);
                  return (
                    <li key={item.href}>
                      <Link
                        href={item.href}
                        aria-current={active ? 'page' : undefined}
                        onClick={() => setMenuOpen(false)}
                        className={cx(
                          'block rounded-md px-2 py-1.5 text-sm focus-visible:outline-2 focus-visible:outline-sky-600',
                          active
                            ? 'bg-sky-50 font-medium text-sky-800 dark:bg-sky-950 dark:text-sky-200'
                            : 'text-slate-700 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800',
                        )}
                      >
                        {item.label}
                      </Link>
                    </li>
                  );
                })}
              </ul>
              <div className="mt-3 border-t border-slate-200 px-2 pt-3 text-xs md:mt-auto dark:border-slate-800">
                <p className="text-slate-500 dark:text-slate-400">Signed in as</p>
                <p className="truncate font-medium" data-testid="whoami">
                  {me.user}
                </p>
                <p className="text-slate-500 dark:text-slate-400">role: {me.role}</p>
                <Button
                  size="sm"
                  className="mt-2 w-full"
                  onClick={() => signOut.mutate()}
                  disabled={signOut.isPending}
                >
                  Sign out
                </Button>
              </div>
            </div>
          </nav>
        </aside>
        <main className="min-w-0 flex-1 p-4 md:p-6">
          {downBanner}
          {children}
        </main>
      </div>
    </SessionContext.Provider>
  );
}
