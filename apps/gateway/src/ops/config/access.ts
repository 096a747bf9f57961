import type { AccessNote, AccessReport, BucketView } from '@claudefs/api';
import type { ClientMatch, GatewayConfig, Protocol } from '../../config/types.ts';
import { shareEncryption } from '../../protocols/smb/encryption.ts';

/** A client list that lets every address in: a /0 network or the `*` pattern. */
function anyHost(clients: readonly ClientMatch[]): boolean {
  return clients.some((c) => (c.kind === 'cidr' ? c.prefix === 0 : c.pattern === '*'));
}

const texts = (clients: readonly ClientMatch[]) => clients.map((c) => c.text);

/**
 * Who may reach what over each protocol, from the configuration the gateway runs (the
 * console's Access page), and the settings that deserve a look — each note naming the key that
 * changes it. Notes cover only the protocols served.
 */
export function accessReport(
  config: GatewayConfig,
  served: readonly Protocol[],
  /** The S3 server's buckets, with their own policies and CORS rules (none when not served). */
  buckets: readonly BucketView[] = [],
): AccessReport {
  const notes: AccessNote[] = [];
  const { nfs, smb, s3 } = config;
  const nfsServed = served.includes('nfs');
  const smbServed = served.includes('smb');
  const s3Served = served.includes('s3');

  if (nfsServed)
    nfs.exports.forEach((e, i) => {
      if (e.squash !== 'none') return;
      if (anyHost(e.clients))
        notes.push({
          level: 'warning',
          text: `Any host may mount ${e.path}, and the uids it sends are trusted (squash: none): root on any client is root here.`,
          key: `nfs.exports.${i}.squash`,
        });
      else if (!e.secure)
        notes.push({
          level: 'info',
          text: `${e.path} trusts the uids its clients send (squash: none) from any port, which any user on those hosts can open; secure: true takes calls only from the clients' root.`,
          key: `nfs.exports.${i}.secure`,
        });
    });

  if (smbServed) {
    if (smb.encryption === 'off')
      notes.push({
        level: 'warning',
        text: 'SMB encryption is not offered: a client that requires it cannot connect, and no traffic is encrypted.',
        key: 'smb.encryption',
      });
    else if (!smb.requireSigning && smb.encryption === 'if_required')
      notes.push({
        level: 'info',
        text: 'SMB traffic is signed or encrypted only when the client asks; smb.require_signing: true or smb.encryption: desired makes the gateway ask.',
        key: 'smb.encryption',
      });
    if (smb.mapToGuest === 'bad_user') {
      const open = smb.shares.filter((s) => s.guestOk).map((s) => s.name);
      notes.push({
        level: 'warning',
        text: `Anonymous logons and unknown user names become guests (65534:65534)${open.length > 0 ? `, who may use ${open.join(', ')}` : '; no share takes them (guest_ok), so they can only list shares'}.`,
        key: 'smb.map_to_guest',
      });
    }
  }

  if (smbServed)
    smb.shares.forEach((s, i) => {
      if (s.timeMachine && s.timeMachineMaxSize === undefined)
        notes.push({
          level: 'info',
          text: `Time Machine share ${s.name} has no size limit: Macs back up to it until the disk is full before thinning old backups (time_machine_max_size, or a quota per user, sets one).`,
          key: `smb.shares.${i}.time_machine_max_size`,
        });
    });

  if (s3Served) {
    if (s3.tls === undefined)
      notes.push({
        level: 'warning',
        text: 'S3 is served over plain HTTP: requests are signed, but object data crosses the network unencrypted.',
        key: 's3.tls',
      });
    if (s3.publicReadBuckets.length > 0)
      notes.push({
        level: 'info',
        text: `Anyone may read ${s3.publicReadBuckets.join(', ')} without a key.`,
        key: 's3.public_read_buckets',
      });
    for (const b of buckets)
      if (b.policy?.public && !b.publicRead)
        notes.push({
          level: 'warning',
          text: `Anyone may read ${b.name} without a key: its bucket policy allows it (./cfs s3 buckets; the Buckets page).`,
          key: `bucket ${b.name}: policy`,
        });
    if (s3.corsOrigins.includes('*'))
      notes.push({
        level: 'warning',
        text: 'Any web page may call S3 from a browser; its requests still need a key or a presigned URL.',
        key: 's3.cors_origins',
      });
  }

  return {
    nfs: {
      served: nfsServed,
      exports: nfs.exports.map((e) => ({
        path: e.path,
        clients: texts(e.clients),
        access: e.access,
        squash: e.squash,
        anon: `${e.anonUid}:${e.anonGid}`,
        secure: e.secure,
      })),
    },
    smb: {
      served: smbServed,
      signingRequired: smb.requireSigning,
      encryption: smb.encryption,
      mapToGuest: smb.mapToGuest,
      shares: smb.shares.map((s) => ({
        name: s.name,
        path: s.path,
        readOnly: s.readOnly,
        validGroups: s.validGroups,
        hostsAllow: texts(s.hostsAllow),
        guestOk: s.guestOk,
        encryption: shareEncryption(smb.encryption, s.encryption),
        appleExtensions: s.appleExtensions,
        timeMachine: s.timeMachine ? { maxBytes: s.timeMachineMaxSize ?? null } : null,
      })),
    },
    s3: {
      served: s3Served,
      https: s3.tls !== undefined,
      publicReadBuckets: s3.publicReadBuckets,
      readableWithoutKey: [
        ...buckets.flatMap((b): AccessReport['s3']['readableWithoutKey'] =>
          b.publicRead
            ? [{ bucket: b.name, by: 'file' }]
            : b.policy?.public
              ? [{ bucket: b.name, by: 'policy' }]
              : [],
        ),
        // Listed in the file and not made yet: public from its creation.
        ...s3.publicReadBuckets
          .filter((name) => !buckets.some((b) => b.name === name))
          .map((bucket) => ({ bucket, by: 'file' as const })),
      ],
      corsOrigins: s3.corsOrigins,
      bucketCors: buckets.flatMap((b) => (b.cors ? [{ bucket: b.name, origins: b.cors.origins }] : [])),
    },
    notes,
  };
}
