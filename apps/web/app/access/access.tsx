'use client';
import type { AccessReport } from '@claudefs/api';
import { Banner, Card, PanelState, StatusBadge, Table, Td, Th } from '@claudefs/ui';
import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { PageHeader } from '../../components/page-header.tsx';
import { QueryPanel } from '../../components/query-panel.tsx';
import { bytes } from '../../lib/format.ts';
import { useTRPC } from '../../lib/trpc.ts';

const list = (items: readonly string[], none: string) => (items.length > 0 ? items.join(', ') : none);
const yes = (v: boolean) => (v ? 'yes' : 'no');

/** A protocol's card: its table, or why it has none. */
function ProtocolCard({ title, served, children }: { title: string; served: boolean; children: ReactNode }) {
  return (
    <Card title={title} action={<StatusBadge status={served ? 'serving' : 'not served'} />}>
      {served ? (
        children
      ) : (
        <PanelState state="empty">
          Not served by this gateway: its enabled key is false, or the gateway was started without it.
        </PanelState>
      )}
    </Card>
  );
}

function NfsExports({ nfs }: { nfs: AccessReport['nfs'] }) {
  return (
    <ProtocolCard title="NFS exports" served={nfs.served}>
      <Table caption="NFS exports">
        <thead>
          <tr>
            <Th>Path</Th>
            <Th title="nfs.exports[].clients: who may mount it">Clients</Th>
            <Th>Access</Th>
            <Th title="squash: root maps uid 0 to the anonymous ids; all maps everyone; none trusts the ids sent">
              Squash
            </Th>
            <Th title="the ids squashed callers get">Anonymous ids</Th>
            <Th title="secure: calls only from ports below 1024 (a client's root)">Privileged ports only</Th>
          </tr>
        </thead>
        <tbody>
          {nfs.exports.map((e) => (
            <tr key={e.path}>
              <Td className="font-mono text-xs">{e.path}</Td>
              <Td className="font-mono text-xs">{list(e.clients, 'none')}</Td>
              <Td>{e.access}</Td>
              <Td>{e.squash}</Td>
              <Td className="font-mono text-xs">{e.anon}</Td>
              <Td>{yes(e.secure)}</Td>
            </tr>
          ))}
        </tbody>
      </Table>
    </ProtocolCard>
  );
}

function macos(s: AccessReport['smb']['shares'][number]): string {
  if (s.timeMachine)
    return s.timeMachine.maxBytes === null
      ? 'Time Machine'
      : `Time Machine, at most ${bytes(s.timeMachine.maxBytes)}`;
  return s.appleExtensions ? 'Apple extensions' : '—';
}

function SmbShares({ smb }: { smb: AccessReport['smb'] }) {
  return (
    <ProtocolCard title="SMB shares" served={smb.served}>
      <p className="mb-2 text-sm text-slate-600 dark:text-slate-300">
        Signing {smb.signingRequired ? 'required' : 'when the client asks'} · encryption{' '}
        <span className="font-mono text-xs">{smb.encryption}</span> · guests{' '}
        {smb.mapToGuest === 'bad_user' ? 'mapped (bad_user)' : 'refused'}
      </p>
      <Table caption="SMB shares">
        <thead>
          <tr>
            <Th>Share</Th>
            <Th>Path</Th>
            <Th>Read only</Th>
            <Th title="valid_groups: the user must be in one">Groups</Th>
            <Th title="hosts_allow: the client addresses that may connect">Hosts</Th>
            <Th title="guest_ok: guest sessions may connect">Guests</Th>
            <Th title="the share's encryption or the server's, whichever asks for more">Encryption</Th>
            <Th title="apple_extensions and time_machine: Apple's SMB2 extensions, a Time Machine backup disk">
              macOS
            </Th>
          </tr>
        </thead>
        <tbody>
          {smb.shares.map((s) => (
            <tr key={s.name}>
              <Td className="font-mono text-xs">{s.name}</Td>
              <Td className="font-mono text-xs">{s.path}</Td>
              <Td>{yes(s.readOnly)}</Td>
              <Td>{list(s.validGroups, 'any user')}</Td>
              <Td className="font-mono text-xs">{list(s.hostsAllow, 'any host')}</Td>
              <Td>{yes(s.guestOk)}</Td>
              <Td className="font-mono text-xs">{s.encryption}</Td>
              <Td>{macos(s)}</Td>
            </tr>
          ))}
        </tbody>
      </Table>
    </ProtocolCard>
  );
}

function S3Access({ s3 }: { s3: AccessReport['s3'] }) {
  return (
    <ProtocolCard title="S3" served={s3.served}>
      <dl className="grid grid-cols-1 gap-3 text-sm sm:grid-cols-3">
        <div>
          <dt className="text-xs font-medium text-slate-500 dark:text-slate-400">Transport</dt>
          <dd>{s3.https ? 'HTTPS (s3.tls)' : 'plain HTTP'}</dd>
        </div>
        <div>
          <dt className="text-xs font-medium text-slate-500 dark:text-slate-400">Readable without a key</dt>
          <dd className="font-mono text-xs">
            {list(
              s3.readableWithoutKey.map((r) => (r.by === 'policy' ? `${r.bucket} (its policy)` : r.bucket)),
              'no bucket',
            )}
          </dd>
        </div>
        <div>
          <dt className="text-xs font-medium text-slate-500 dark:text-slate-400">Browser origins (CORS)</dt>
          <dd className="font-mono text-xs">
            {list(s3.corsOrigins, s3.bucketCors.length > 0 ? 'none by default' : 'none')}
            {s3.bucketCors.map((c) => (
              <div key={c.bucket}>
                {c.bucket}: {list(c.origins, 'no origin')}
              </div>
            ))}
          </dd>
        </div>
      </dl>
    </ProtocolCard>
  );
}

export function Access() {
  const trpc = useTRPC();
  const report = useQuery({ ...trpc.config.access.queryOptions(), refetchInterval: 15_000 });
  return (
    <>
      <PageHeader
        title="Access"
        description="Who may reach what over each protocol, as the running configuration says. To change it, edit the file and reload (Maintenance)."
      />
      <QueryPanel query={report}>
        {(r) => (
          <div className="space-y-4">
            {r.notes.length === 0 ? (
              <Banner tone="success" role="status" title="Nothing here deserves a look." />
            ) : (
              <section className="space-y-2" aria-label="Worth a look">
                {r.notes.map((n) => (
                  <Banner
                    key={`${n.key}:${n.text}`}
                    tone={n.level === 'warning' ? 'warning' : 'info'}
                    role="status"
                  >
                    {n.text} <span className="font-mono text-xs">({n.key})</span>
                  </Banner>
                ))}
              </section>
            )}
            <NfsExports nfs={r.nfs} />
            <SmbShares smb={r.smb} />
            <S3Access s3={r.s3} />
          </div>
        )}
      </QueryPanel>
    </>
  );
}
