'use client';
import type { ConnectionView } from '@claudefs/api';
import {
  Card,
  Field,
  fieldAria,
  Input,
  PanelState,
  Select,
  type SortDirection,
  Stat,
  Table,
  Td,
  Th,
} from '@claudefs/ui';
import { useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { PageHeader } from '../../components/page-header.tsx';
import { QueryPanel } from '../../components/query-panel.tsx';
import { ago, bytes } from '../../lib/format.ts';
import { useTRPC } from '../../lib/trpc.ts';
import { EndSmbSession } from './end-smb-session.tsx';
import { Locks } from './locks.tsx';
import { SmbOpenFiles } from './smb-open-files.tsx';

type Column = 'protocol' | 'remote' | 'user' | 'startedAt' | 'requests' | 'bytesIn' | 'bytesOut' | 'inFlight';

const COLUMNS: Array<{ id: Column; label: string; value: (c: ConnectionView) => string | number }> = [
  { id: 'protocol', label: 'Protocol', value: (c) => c.protocol },
  { id: 'remote', label: 'Client', value: (c) => `${c.remoteAddress}:${c.remotePort}` },
  {
    id: 'user',
    label: 'Identity',
    value: (c) => c.user ?? (c.uid !== undefined ? `uid ${c.uid}` : (c.keyId ?? '')),
  },
  { id: 'startedAt', label: 'Connected', value: (c) => c.startedAt },
  { id: 'requests', label: 'Requests', value: (c) => c.requests },
  { id: 'bytesIn', label: 'In', value: (c) => c.bytesIn },
  { id: 'bytesOut', label: 'Out', value: (c) => c.bytesOut },
  { id: 'inFlight', label: 'In flight', value: (c) => c.inFlight },
];

export function Connections() {
  const trpc = useTRPC();
  const report = useQuery({ ...trpc.connections.list.queryOptions(), refetchInterval: 5_000 });
  const smbFiles = useQuery({ ...trpc.connections.smbOpenFiles.queryOptions(), refetchInterval: 5_000 });
  const [text, setText] = useState('');
  const [protocol, setProtocol] = useState('');
  const [sort, setSort] = useState<{ col: Column; dir: SortDirection }>({
    col: 'startedAt',
    dir: 'descending',
  });
  const rows = useMemo(() => {
    const list = report.data?.connections ?? [];
    const needle = text.trim().toLowerCase();
    const col = COLUMNS.find((c) => c.id === sort.col) ?? COLUMNS[0];
    const filtered = list.filter(
      (c) =>
        (!protocol || c.protocol === protocol) &&
        (!needle ||
          [
            c.remoteAddress,
            c.user,
            c.keyId,
            c.currentOp,
            c.uid?.toString(),
            ...Object.values(c.details).map(String),
          ]
            .filter(Boolean)
            .some((v) => String(v).toLowerCase().includes(needle))),
    );
    return filtered.sort((a, b) => {
      if (!col) return 0;
      const x = col.value(a);
      const y = col.value(b);
      const r = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return sort.dir === 'descending' ? -r : r;
    });
  }, [report.data, text, protocol, sort]);
  const toggle = (col: Column) =>
    setSort((s) => ({ col, dir: s.col === col && s.dir === 'ascending' ? 'descending' : 'ascending' }));
  return (
    <>
      <PageHeader
        title="Connections"
        description="Every client connection across NFS, S3 and SMB, the locks they hold and the files SMB clients have open."
      />
      <div className="flex flex-col gap-4">
        {report.data ? (
          <Card>
            <dl className="grid grid-cols-2 gap-4 sm:grid-cols-4">
              <Stat label="Connections" value={`${report.data.total} / ${report.data.max}`} />
              <Stat label="In flight" value={report.data.inFlight} />
              <Stat
                label="Refused at limit"
                value={Object.values(report.data.refused).reduce((a, b) => a + b, 0)}
                sub={
                  Object.entries(report.data.refused)
                    .map(([p, n]) => `${p} ${n}`)
                    .join(', ') || 'none'
                }
              />
              <Stat label="Shown" value={rows.length} />
            </dl>
          </Card>
        ) : null}
        <Card>
          <div className="mb-3 grid grid-cols-1 gap-3 sm:grid-cols-[1fr_10rem]">
            <Field id="conn-filter" label="Filter">
              <Input
                {...fieldAria('conn-filter')}
                type="search"
                placeholder="address, user, key, file, operation…"
                value={text}
                onChange={(e) => setText(e.target.value)}
              />
            </Field>
            <Field id="conn-protocol" label="Protocol">
              <Select
                {...fieldAria('conn-protocol')}
                value={protocol}
                onChange={(e) => setProtocol(e.target.value)}
              >
                <option value="">All</option>
                <option value="nfs">NFS</option>
                <option value="s3">S3</option>
                <option value="smb">SMB</option>
              </Select>
            </Field>
          </div>
          <QueryPanel
            query={report}
            isEmpty={(r) => r.connections.length === 0}
            empty="No client is connected."
          >
            {() =>
              rows.length === 0 ? (
                <PanelState state="empty">No connection matches the filter.</PanelState>
              ) : (
                <Table caption="Connections">
                  <thead>
                    <tr>
                      {COLUMNS.map((c) => (
                        <Th
                          key={c.id}
                          sort={sort.col === c.id ? sort.dir : 'none'}
                          onSort={() => toggle(c.id)}
                        >
                          {c.label}
                        </Th>
                      ))}
                      <Th title="the operation in flight on the connection; — when it is idle">Doing now</Th>
                      <Th>
                        <span className="sr-only">Actions</span>
                      </Th>
                    </tr>
                  </thead>
                  <tbody className="tabular-nums">
                    {rows.map((c) => (
                      <tr key={c.id}>
                        <Td className="uppercase">{c.protocol}</Td>
                        <Td className="font-mono text-xs">
                          {c.remoteAddress}:{c.remotePort} → :{c.localPort}
                        </Td>
                        <Td>{COLUMNS[2]?.value(c) || '—'}</Td>
                        <Td>{ago(c.startedAt)}</Td>
                        <Td>{c.requests}</Td>
                        <Td>{bytes(c.bytesIn)}</Td>
                        <Td>{bytes(c.bytesOut)}</Td>
                        <Td>{c.inFlight}</Td>
                        <Td
                          className="text-xs"
                          title={c.currentOp ? undefined : 'idle: no request in flight'}
                        >
                          {c.currentOp ?? 'idle'}
                        </Td>
                        <Td>{c.protocol === 'smb' && c.user ? <EndSmbSession connection={c} /> : null}</Td>
                      </tr>
                    ))}
                  </tbody>
                </Table>
              )
            }
          </QueryPanel>
        </Card>
        <Locks filter={text} />
        {smbFiles.data?.served ? (
          <SmbOpenFiles files={smbFiles.data.files} elsewhere={smbFiles.data.elsewhere} filter={text} />
        ) : null}
      </div>
    </>
  );
}
