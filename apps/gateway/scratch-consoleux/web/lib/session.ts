'use client';
import type { Role, SessionView } from '@claudefs/api';
import { createContext, useContext } from 'react';

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export const SessionContext = createContext<SessionView | null>(null);

export function useSession(): SessionView | null {
  return useContext(SessionContext);
}

/** Null when the signed-in role may do it; otherwise why not, for a disabled control's title. */
export function roleProblem(session: SessionView | null, minimum: Role): string | null {
  if (!session) return 'sign in first';
  return RANK[session.role] >= RANK[minimum] ? null : `needs the ${minimum} role (you are ${session.role})`;
}

export function useRoleProblem(minimum: Role): string | null {
  return roleProblem(useSession(), minimum);
}
