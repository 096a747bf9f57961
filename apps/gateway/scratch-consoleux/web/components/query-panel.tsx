'use client';
import { PanelState } from '@claudefs/ui';
import type { UseQueryResult } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { messageOf } from '../lib/errors.ts';

/** Loading, error and empty states for one query's panel; the data once there is some. */
export function QueryPanel<T, E = unknown>({
  query,
  isEmpty,
  empty,
  children,
  wrap = (node) => node,
}: {
  query: UseQueryResult<T, E>;
  isEmpty?: (data: T) => boolean;
  empty?: ReactNode;
  children: (data: T) => ReactNode;
  /** A frame for the loading, error and empty states (the data's own frame comes with it). */
  wrap?: (node: ReactNode) => ReactNode;
}) {
  if (query.isPending) return wrap(<PanelState state="loading" />);
  if (query.isError && query.data === undefined)
    return wrap(<PanelState state="error">{messageOf(query.error)}</PanelState>);
  const data = query.data as T;
  if (isEmpty?.(data)) return wrap(<PanelState state="empty">{empty}</PanelState>);
  return <>{children(data)}</>;
}
