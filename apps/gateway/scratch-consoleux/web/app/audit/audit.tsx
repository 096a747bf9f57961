'use client';
import type { AuditOutcome, AuditQuery } from '@claudefs/api';
import {
  Button,
  Card,
  Field,
  fieldAria,
  Input,
  type Measured,
  MeasuredView,
  Select,
  StatusBadge,
  Table,
  Td,
  Th,
} from '@claudefs/ui';
import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { PageHeader } from '../../components/page-header.tsx';
import { QueryPanel } from '../../components/query-panel.tsx';
import { dateTime } from '../../lib/format.ts';
import { useTRPC } from '../../lib/trpc.ts';

const OUTCOME = { ok: 'healthy', denied: 'degraded', error: 'unhealthy' } as const;

/** One line: `key value, key value`, cut at 80 characters; the whole detail opens below it. */
function detailLine(d: Record<string, unknown>): string {
  const s = Object.entries(d)
    .map(([k, v]) => `${k} ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
  return s.length > 80 ? `${s.slice(0, 79)}…` : s;
}

/** What the entry recorded: a message as it is, a record as a line that opens to every field. */
function Detail({ detail }: { detail: unknown }) {
  if (detail === undefined || detail === null) return null;
  if (typeof detail !== 'object' || Array.isArray(detail)) {
    return (
      <span className="break-words">{typeof detail === 'string' ? detail : JSON.stringify(detail)}</span>
    );
  }
  const record = detail as Record<string, Measured>;
  if (Object.keys(record).length === 0) return null;
  return (
    <details>
      <summary className="cursor-pointer break-words">{detailLine(record)}</summary>
      <div className="mt-1">
        <MeasuredView measured={record} />
      </div>
    </details>
  );
}

export function Audit() {
  const trpc = useTRPC();
  const [actor, setActor] = useState('');
  const [action, setAction] = useState('');
  const [outcome, setOutcome] = useState<AuditOutcome | ''>('');
  const [query, setQuery] = useState<AuditQuery>({ limit: 50 });
  const [pages, setPages] = useState<number[]>([]);
  const beforeId = pages.at(-1);
  const log = useQuery({
    ...trpc.audit.list.queryOptions({ ...query, limit: 50, ...(beforeId ? { beforeId } : {}) }),
    refetchInterval: beforeId ? false : 10_000,
    placeholderData: (p) => p,
  });
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setPages([]);
    setQuery({
      limit: 50,
      ...(actor.trim() ? { actor: actor.trim() } : {}),
      ...(action.trim() ? { action: action.trim() } : {}),
      ...(outcome ? { outcome } : {}),
    });
  };
  return (
    <>
      <PageHeader
        title="Audit log"
        description="Every change, refused or done: who, what, when, from where. Newest first."
      />
      <Card>
        <form
          onSubmit={apply}
          aria-label="Filter the audit log"
          className="mb-4 grid grid-cols-1 items-end gap-3 sm:grid-cols-[1fr_1fr_9rem_auto]"
        >
          <Field id="audit-actor" label="Actor">
            <Input
              {...fieldAria('audit-actor')}
              placeholder="console:alice"
              value={actor}
              onChange={(e) => setActor(e.target.value)}
            />
          </Field>
          <Field id="audit-action" label="Action" hint="any part of the name: drain, quota, user.">
            <Input
              {...fieldAria('audit-action')}
              placeholder="drain"
              value={action}
              onChange={(e) => setAction(e.target.value)}
            />
          </Field>
          <Field id="audit-outcome" label="Outcome">
            <Select
              {...fieldAria('audit-outcome')}
              value={outcome}
              onChange={(e) => setOutcome(e.target.value as AuditOutcome | '')}
            >
              <option value="">any</option>
              <option value="ok">ok</option>
              <option value="denied">denied</option>
              <option value="error">error</option>
            </Select>
          </Field>
          <Button type="submit" variant="primary">
            Filter
          </Button>
        </form>
        <QueryPanel query={log} isEmpty={(p) => p.entries.length === 0} empty="No audit entry matches.">
          {(page) => (
            <>
              <Table caption="Audit entries">
                <thead>
                  <tr>
                    <Th>When</Th>
                    <Th>Actor</Th>
                    <Th>Action</Th>
                    <Th>Target</Th>
                    <Th>Outcome</Th>
                    <Th>Detail</Th>
                    <Th>From</Th>
                  </tr>
                </thead>
                <tbody>
                  {page.entries.map((e) => (
                    <tr key={e.id} data-audit-action={e.action}>
                      <Td className="text-xs whitespace-nowrap">{dateTime(e.at)}</Td>
                      <Td className="text-xs">{e.actor}</Td>
                      <Td className="font-mono text-xs">{e.action}</Td>
                      <Td className="text-xs">{e.target}</Td>
                      <Td>
                        <StatusBadge status={e.outcome} variant={OUTCOME[e.outcome]} />
                      </Td>
                      <Td className="max-w-80 min-w-48 text-xs">
                        <Detail detail={e.detail} />
                      </Td>
                      <Td className="text-xs">{e.remoteAddr ?? '—'}</Td>
                    </tr>
                  ))}
                </tbody>
              </Table>
              <div className="mt-3 flex gap-2">
                <Button
                  size="sm"
                  disabled={pages.length === 0}
                  onClick={() => setPages((p) => p.slice(0, -1))}
                >
                  Newer
                </Button>
                <Button
                  size="sm"
                  disabled={page.nextBeforeId === null}
                  onClick={() =>
                    page.nextBeforeId !== null && setPages((p) => [...p, page.nextBeforeId as number])
                  }
                >
                  Older
                </Button>
              </div>
            </>
          )}
        </QueryPanel>
      </Card>
    </>
  );
}
