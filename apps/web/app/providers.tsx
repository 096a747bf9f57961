'use client';
import type { AppRouter } from '@claudefs/api';
import { type ToastItem, ToastStack } from '@claudefs/ui';
import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createTRPCClient, httpBatchLink, httpLink, splitLink } from '@trpc/client';
import { createContext, type ReactNode, useCallback, useContext, useMemo, useRef, useState } from 'react';
import { isGatewayDown, isGatewayStuck, isUnauthorized } from '../lib/errors.ts';
import { TRPCProvider } from '../lib/trpc.ts';

/** Fired when any call comes back 401: the session is gone (idle expiry, signed out elsewhere). */
export const UNAUTHORIZED_EVENT = 'cfs:unauthorized';

function makeQueryClient(): QueryClient {
  const onError = (error: unknown) => {
    if (isUnauthorized(error) && typeof window !== 'undefined')
      window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
  };
  return new QueryClient({
    queryCache: new QueryCache({ onError }),
    mutationCache: new MutationCache({ onError }),
    defaultOptions: {
      queries: {
        staleTime: 2_000,
        // A refusal will not change by asking again; an unreachable gateway may come back. One
        // that did not answer in time has been waited for already.
        retry: (count, error) => isGatewayDown(error) && !isGatewayStuck(error) && count < 1,
        retryDelay: 1_000,
      },
      mutations: { retry: false },
    },
  });
}

type Toast = (tone: ToastItem['tone'], message: string) => void;
const ToastContext = createContext<Toast>(() => {});

/** Reports a mutation's outcome in the corner of the screen. */
export function useToast(): Toast {
  return useContext(ToastContext);
}

const LIVENESS = new Set(['health', 'auth.session']);
const LINK = {
  url: '/api/trpc',
  // Every change must carry it (the gateway's CSRF rule); harmless on reads.
  headers: () => ({ 'x-cfs-csrf': '1' }),
  fetch: (url: URL | RequestInfo, init?: RequestInit) => fetch(url, { ...init, credentials: 'same-origin' }),
};

export function Providers({ children }: { children: ReactNode }) {
  const [queryClient] = useState(makeQueryClient);
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [
        // The health and session polls that tell whether the gateway answers go alone: batched
        // with a slow query (a diagnostic run) they would wait for it, and the console's server
        // gives only such lone requests a deadline (app/api/trpc: a stuck gateway's 504).
        splitLink({
          condition: (op) => LIVENESS.has(op.path),
          true: httpLink(LINK),
          false: httpBatchLink(LINK),
        }),
      ],
    }),
  );
  const [toasts, setToasts] = useState<ToastItem[]>([]);
  const nextId = useRef(1);
  const dismiss = useCallback((id: number) => setToasts((ts) => ts.filter((t) => t.id !== id)), []);
  const push = useCallback<Toast>(
    (tone, message) => {
      const id = nextId.current++;
      setToasts((ts) => [...ts.slice(-3), { id, tone, message }]);
      setTimeout(() => dismiss(id), tone === 'error' ? 10_000 : 5_000);
    },
    [dismiss],
  );
  const toast = useMemo(() => push, [push]);

  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        <ToastContext.Provider value={toast}>
          {children}
          <ToastStack toasts={toasts} onDismiss={dismiss} />
        </ToastContext.Provider>
      </TRPCProvider>
    </QueryClientProvider>
  );
}
