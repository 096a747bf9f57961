/**
 * After a SIGKILL and restart: what every name holds, read over a protocol other than the one
 * that wrote it last (S3 objects over SMB, NFS files over S3, SMB files over NFS); the ETag
 * S3 gives for what it reads (an MD5 of the content, unless multipart); the bucket's listing
 * (nothing the writers did not name is visible, and the listing agrees with the reads); the
 * ledger's judgement of each name; and `./cfs fsck`.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, paginateListObjectsV2, S3ServiceException } from '@aws-sdk/client-s3';
import { CFS } from '../quota/fixture.ts';
import { runCommand } from '../support/proc.ts';
import { type GatewayAccess, NfsClient, SmbSession, s3Client } from './clients.ts';
import { type AckLedger, describe, type Protocol } from './ledger.ts';
import { BUCKET, KEEP_NAME } from './workload.ts';

/** Which protocol reads back what each protocol wrote. */
export const READ_BACK: Readonly<Record<Protocol, Protocol>> = { s3: 'smb', nfs: 's3', smb: 'nfs' };

export interface Observation {
  observed: Map<string, Buffer | null>;
  problems: string[];
}

export async function observe(access: GatewayAccess, ledger: AckLedger): Promise<Observation> {
  const observed = new Map<string, Buffer | null>();
  const problems: string[] = [];
  const s3 = s3Client(access);
  const nfs = await NfsClient.mount(access, '/export');
  const smb = await SmbSession.open(access, 'export');
  try {
    for (const r of ledger.all()) {
      const via = READ_BACK[r.protocol];
      if (via === 'smb') observed.set(r.key, await smb.readFile(`${BUCKET}\\${r.key.replaceAll('/', '\\')}`));
      else if (via === 'nfs') {
        const fh = await nfs.walk([BUCKET, ...r.key.split('/')]);
        observed.set(r.key, fh ? await nfs.readAll(fh) : null);
      } else {
        try {
          const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: r.key }));
          const data = Buffer.from(await got.Body!.transformToByteArray());
          observed.set(r.key, data);
          const etag = got.ETag?.replaceAll('"', '') ?? '';
          const md5 = createHash('md5').update(data).digest('hex');
          if (!etag.includes('-') && etag !== md5) {
            problems.push(
              `${r.key}: S3 ETag ${etag} is not the MD5 ${md5} of the ${describe(data)} it serves`,
            );
          }
        } catch (e) {
          if (!(e instanceof S3ServiceException && e.name === 'NoSuchKey')) throw e;
          observed.set(r.key, null);
        }
      }
    }
    const listed = new Set<string>();
    for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: BUCKET })) {
      for (const o of page.Contents ?? [])
        if (o.Key && !o.Key.endsWith('/') && !o.Key.endsWith(`/${KEEP_NAME}`)) listed.add(o.Key);
    }
    for (const key of listed) {
      if (!observed.has(key)) problems.push(`${key}: listed, but no writer ever used that name`);
      else if (observed.get(key) === null) problems.push(`${key}: listed, but reading it finds nothing`);
    }
    for (const [key, data] of observed) {
      if (data !== null && !listed.has(key))
        problems.push(`${key}: reads as ${describe(data)} but is not listed`);
    }
  } finally {
    s3.destroy();
    nfs.close();
    smb.end();
  }
  return { observed, problems };
}

export interface FsckResult {
  clean: boolean;
  /** Each problem the report names, as "kind: detail" (or fsck's output when it could not run). */
  problems: string[];
}

/** `./cfs fsck --config FILE --json`: clean means exit 0 and a report saying so. */
export async function fsck(configFile: string): Promise<FsckResult> {
  const r = await runCommand(CFS, ['fsck', '--config', configFile, '--json'], { timeoutMs: 120_000 });
  try {
    const report = JSON.parse(r.stdout) as {
      clean?: boolean;
      problems?: Array<{ kind: string; detail: string }>;
    };
    const problems = (report.problems ?? []).map((p) => `${p.kind}: ${p.detail}`);
    const clean = r.code === 0 && report.clean === true;
    if (!clean && problems.length === 0) problems.push(`exit ${r.code}: ${r.output}`);
    return { clean, problems };
  } catch {
    return { clean: false, problems: [`exit ${r.code}: ${r.output}`] };
  }
}
