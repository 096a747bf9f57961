/**
 * One backend fault, as every protocol sees it. A round: acknowledged writes over NFS, S3 and
 * SMB; the fault; one request per protocol that needs the failing backend (answered with the
 * backend's own error, or the open circuit's if the probes opened it first); the circuit
 * opened by the background probes alone; the same requests again, now refused at once with
 * the open circuit's error; /health and /metrics naming the backend and the cause; the fault
 * removed; the circuit closed by itself with no client traffic; everything acknowledged before
 * the fault read back over another protocol, and new writes over all three.
 */
import { equal, match, notEqual, ok } from 'node:assert/strict';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DiagnosticRun } from '../../src/ops/diagnostics/api.ts';
import { Nfsstat3, Proc, StableHow, statusName } from '../../src/protocols/nfs/v3/constants.ts';
import { CMD, DISPOSITION, OPTION } from '../../src/protocols/smb/constants.ts';
import { ntStatusName } from '../../src/protocols/smb/deps.ts';
import type { Backend } from '../../src/storage/circuit-breaker.ts';
import { CFS, until } from '../diagnostics/fixture.ts';
import { sampleValue, scrape } from '../metrics/fixture.ts';
import { A, R } from '../nfs-v3/wire.ts';
import {
  closeBody,
  createBody,
  fileIdOf,
  type Reply,
  readBody,
  type TestClient,
  writeBody,
} from '../smb/client.ts';
import { BackendFaults } from '../support/faults.ts';
import { capturedLog } from '../support/log.ts';
import { runCommand } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { mountTmpfs } from '../support/tmpfs.ts';
import { type NfsSession, Rig } from './rig.ts';

export const BUCKET = 'faults';
/** Generous: a loaded 2-core machine; the figures printed say how long it really took. */
export const WAIT_MS = 30_000;

export type ProtocolName = 'NFS' | 'S3' | 'SMB';

/** What one protocol answered and how long it took. */
export interface Answer {
  protocol: ProtocolName;
  op: string;
  answer: string;
  ms: number;
}

/** The answers each protocol gives for one namespace error, as its error table maps it. */
export type Expected = Record<ProtocolName, string>;

/** EAGAIN, the open circuit: the client is told to come back later. */
export const OPEN_CIRCUIT: Expected = {
  NFS: 'NFS3ERR_JUKEBOX',
  S3: '503 ServiceUnavailable',
  SMB: 'STATUS_NETWORK_BUSY',
};
/** Slow I/O before the circuit opens: the request waits, and is done. */
export const SLOW_BUT_DONE: Expected = { NFS: 'NFS3_OK', S3: '200 OK', SMB: 'STATUS_SUCCESS' };
export const ON_EIO: Expected = {
  NFS: 'NFS3ERR_IO',
  S3: '500 InternalError',
  SMB: 'STATUS_UNEXPECTED_IO_ERROR',
};
export const ON_ENOSPC: Expected = {
  NFS: 'NFS3ERR_NOSPC',
  S3: '507 InsufficientStorage',
  SMB: 'STATUS_DISK_FULL',
};
export const ON_EROFS: Expected = {
  NFS: 'NFS3ERR_ROFS',
  S3: '503 ServiceUnavailable',
  SMB: 'STATUS_MEDIA_WRITE_PROTECTED',
};

/** A first write too large to stay in the metadata database (inline_max is 16 KiB by default). */
const PAST_INLINE = Buffer.alloc(64 * 1024, 'lost');

const smbName = (status: number) => (status === 0 ? 'STATUS_SUCCESS' : ntStatusName(status));

/** A file written and acknowledged (NFS FILE_SYNC, S3 200, SMB FLUSH + CLOSE) over one protocol. */
export interface Acked {
  protocol: ProtocolName;
  name: string;
  content: string;
}

/** The three protocol clients of one rig user, on the rig's bucket (/export/faults). */
export class Clients {
  private seq = 0;

  private constructor(
    readonly nfs: NfsSession,
    readonly bucketFh: Buffer,
    readonly smb: TestClient,
    readonly s3: S3Client,
  ) {}

  static async open(rig: Rig): Promise<Clients> {
    const s3 = rig.s3();
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const nfs = await rig.nfs();
    const found = await nfs.call(Proc.LOOKUP, A.lookup(nfs.root, BUCKET), R.lookup);
    equal(found.status, Nfsstat3.OK, `LOOKUP ${BUCKET}: ${statusName(found.status)}`);
    return new Clients(nfs, found.fh!, await rig.smb(), s3);
  }

  private unique(prefix: string): string {
    return `${prefix}-${++this.seq}`;
  }

  // ---- NFS ---------------------------------------------------------------------------------

  private async nfsCreate(name: string): Promise<{ status: number; fh?: Buffer }> {
    return this.nfs.call(Proc.CREATE, A.create(this.bucketFh, name, 'guarded', { mode: 0o644 }), R.newObject);
  }

  private async nfsWrite(fh: Buffer, data: Buffer): Promise<number> {
    return (await this.nfs.call(Proc.WRITE, A.write(fh, 0n, data, StableHow.FILE_SYNC), R.write)).status;
  }

  private async nfsRead(name: string): Promise<string> {
    const l = await this.nfs.call(Proc.LOOKUP, A.lookup(this.bucketFh, name), R.lookup);
    equal(statusName(l.status), 'NFS3_OK', `NFS LOOKUP ${name}`);
    const r = await this.nfs.call(Proc.READ, A.read(l.fh!, 0n, 1 << 20), R.read);
    equal(statusName(r.status), 'NFS3_OK', `NFS READ ${name}`);
    return r.data!.toString();
  }

  /** A READDIR of the bucket: served by the metadata store each time (entries are not cached). */
  private async nfsList(): Promise<number> {
    const r = await this.nfs.call(
      Proc.READDIR,
      A.readdir(this.bucketFh, 0n, Buffer.alloc(8), 8192),
      R.readdir,
    );
    return r.status;
  }

  // ---- SMB ---------------------------------------------------------------------------------

  private smbCreate(name: string, disposition: number): Promise<Reply> {
    return this.smb.request({
      command: CMD.CREATE,
      body: createBody(`${BUCKET}\\${name}`, { disposition, options: OPTION.NON_DIRECTORY_FILE }),
    });
  }

  private async smbCall(command: number, body: Buffer): Promise<Reply> {
    return this.smb.request({ command, body });
  }

  private async smbRead(name: string): Promise<string> {
    const c = await this.smbCreate(name, DISPOSITION.OPEN);
    equal(smbName(c.status), 'STATUS_SUCCESS', `SMB CREATE (open) ${name}`);
    const fid = fileIdOf(c);
    const r = await this.smbCall(CMD.READ, readBody(fid, 0n, 1 << 16));
    equal(smbName(r.status), 'STATUS_SUCCESS', `SMB READ ${name}`);
    await this.smbCall(CMD.CLOSE, closeBody(fid));
    const at = r.body[2]!;
    return r.raw.subarray(at, at + r.body.readUInt32LE(4)).toString();
  }

  // ---- S3 ----------------------------------------------------------------------------------

  private async s3Put(key: string, body: string | Buffer): Promise<string> {
    try {
      await this.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
      return '200 OK';
    } catch (e) {
      const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
      return `${err.$metadata?.httpStatusCode ?? 'no status'} ${err.name}`;
    }
  }

  private async s3Get(key: string): Promise<string> {
    const r = await this.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return r.Body!.transformToString();
  }

  // ---- rounds ------------------------------------------------------------------------------

  /** One acknowledged write per protocol; throws unless all three are acknowledged. */
  async writeAcked(tag: string): Promise<Acked[]> {
    const out: Acked[] = [];
    const nfsName = this.unique(`nfs-${tag}`);
    const c = await this.nfsCreate(nfsName);
    equal(statusName(c.status), 'NFS3_OK', `NFS CREATE ${nfsName}`);
    equal(statusName(await this.nfsWrite(c.fh!, Buffer.from(`${nfsName} data`))), 'NFS3_OK');
    out.push({ protocol: 'NFS', name: nfsName, content: `${nfsName} data` });

    const s3Name = this.unique(`s3-${tag}`);
    equal(await this.s3Put(s3Name, `${s3Name} data`), '200 OK', `S3 PUT ${s3Name}`);
    out.push({ protocol: 'S3', name: s3Name, content: `${s3Name} data` });

    const smbName_ = this.unique(`smb-${tag}`);
    const created = await this.smbCreate(smbName_, DISPOSITION.CREATE);
    equal(smbName(created.status), 'STATUS_SUCCESS', `SMB CREATE ${smbName_}`);
    const fid = fileIdOf(created);
    const w = await this.smbCall(CMD.WRITE, writeBody(fid, 0n, Buffer.from(`${smbName_} data`)));
    equal(smbName(w.status), 'STATUS_SUCCESS', 'SMB WRITE');
    const flush = Buffer.alloc(24);
    flush.writeUInt16LE(24, 0);
    fid.copy(flush, 8);
    equal(smbName((await this.smbCall(CMD.FLUSH, flush)).status), 'STATUS_SUCCESS', 'SMB FLUSH');
    equal(smbName((await this.smbCall(CMD.CLOSE, closeBody(fid))).status), 'STATUS_SUCCESS', 'SMB CLOSE');
    out.push({ protocol: 'SMB', name: smbName_, content: `${smbName_} data` });
    return out;
  }

  /** Each acknowledged file read back over another protocol than the one that wrote it. */
  async verify(acked: Acked[]): Promise<void> {
    for (const a of acked) {
      const got =
        a.protocol === 'NFS'
          ? await this.s3Get(a.name)
          : a.protocol === 'S3'
            ? await this.smbRead(a.name)
            : await this.nfsRead(a.name);
      equal(got, a.content, `${a.protocol} write of ${a.name} read back`);
    }
  }

  /**
   * A read that still works when only writes fail: the bucket listed (metadata) or a file
   * written before the fault read back (data, through a descriptor the store keeps open).
   */
  async readWhatStillWorks(backend: Backend, acked: Acked[]): Promise<void> {
    if (backend === 'metadata') await this.nfsList();
    else await this.nfsRead(acked.find((a) => a.protocol === 'NFS')!.name);
  }

  /**
   * One request per protocol that needs `backend`, run together: for the data store a write
   * of a new file's first bytes (NFS WRITE FILE_SYNC, S3 PUT, SMB WRITE; past
   * `transport.inline_max`, which a smaller file's bytes would stay within), for the metadata
   * store the creation of a name (NFS CREATE, S3 PUT, SMB CREATE). Only the request that
   * meets the backend is timed.
   */
  async attempt(backend: Backend): Promise<Answer[]> {
    const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
      const t0 = performance.now();
      const v = await fn();
      return [v, performance.now() - t0];
    };
    const nfs = async (): Promise<Answer> => {
      const name = this.unique('nfs-try');
      if (backend === 'metadata') {
        const [r, ms] = await timed(() => this.nfsCreate(name));
        return { protocol: 'NFS', op: 'CREATE', answer: statusName(r.status), ms };
      }
      const c = await this.nfsCreate(name);
      equal(statusName(c.status), 'NFS3_OK', 'NFS CREATE (metadata is healthy)');
      const [status, ms] = await timed(() => this.nfsWrite(c.fh!, PAST_INLINE));
      return { protocol: 'NFS', op: 'WRITE', answer: statusName(status), ms };
    };
    const s3 = async (): Promise<Answer> => {
      const [answer, ms] = await timed(() => this.s3Put(this.unique('s3-try'), PAST_INLINE));
      return { protocol: 'S3', op: 'PUT', answer, ms };
    };
    const smb = async (): Promise<Answer> => {
      const name = this.unique('smb-try');
      if (backend === 'metadata') {
        const [r, ms] = await timed(() => this.smbCreate(name, DISPOSITION.CREATE));
        if (r.status === 0) await this.smbCall(CMD.CLOSE, closeBody(fileIdOf(r)));
        return { protocol: 'SMB', op: 'CREATE', answer: smbName(r.status), ms };
      }
      const c = await this.smbCreate(name, DISPOSITION.CREATE);
      equal(smbName(c.status), 'STATUS_SUCCESS', 'SMB CREATE (metadata is healthy)');
      const fid = fileIdOf(c);
      const [r, ms] = await timed(() => this.smbCall(CMD.WRITE, writeBody(fid, 0n, PAST_INLINE)));
      await this.smbCall(CMD.CLOSE, closeBody(fid));
      return { protocol: 'SMB', op: 'WRITE', answer: smbName(r.status), ms };
    };
    return Promise.all([nfs(), s3(), smb()]);
  }

  close(): void {
    this.nfs.close();
    this.smb.close();
    this.s3.destroy();
  }
}

export interface FaultSpec {
  backend: Backend;
  /** What the fault is, for the printed figures. */
  label: string;
  apply(): void | Promise<void>;
  remove(): void | Promise<void>;
  /** The answers while the failure itself reaches the request (before the circuit opens). */
  direct: Expected;
  /** What /health's message must say about the cause, besides naming the backend. */
  cause: RegExp;
}

export interface RoundFigures {
  label: string;
  direct: Answer[];
  open: Answer[];
  /** From removing the fault to the circuit closed by the probes alone. */
  recoveryMs: number;
}

const other = (b: Backend): Backend => (b === 'metadata' ? 'transport' : 'metadata');

export function assertAnswers(answers: Answer[], allowed: Expected[], when: string): void {
  for (const a of answers) {
    ok(
      allowed.some((e) => e[a.protocol] === a.answer),
      `${when}: ${a.protocol} ${a.op} answered ${a.answer}, expected ${allowed.map((e) => e[a.protocol]).join(' or ')}`,
    );
  }
}

/** A full disk's round, in one line (no assertion reads it). */
export function describeFullRound(f: RoundFigures): string {
  const list = (xs: Answer[]) =>
    xs.map((a) => `${a.protocol} ${a.op} ${a.answer} ${a.ms.toFixed(1)} ms`).join('; ');
  return `${f.label} | first requests: ${list(f.direct)} | later, circuit still closed: ${list(f.open)} | healthy again ${Math.round(f.recoveryMs)} ms after room was freed`;
}

/** A one-line account of a round's answers and their latencies (no assertion reads it). */
export function describeRound(f: RoundFigures): string {
  const list = (xs: Answer[]) =>
    xs.map((a) => `${a.protocol} ${a.op} ${a.answer} ${a.ms.toFixed(1)} ms`).join('; ');
  return `${f.label} | before the circuit opened: ${list(f.direct)} | circuit open: ${list(f.open)} | closed by itself ${Math.round(f.recoveryMs)} ms after the fault was removed`;
}

/**
 * A round's start: files written and acknowledged before the fault, the fault applied, the
 * first requests under it answered as `allowed` (the fault removed again if they are not).
 */
async function underFault(
  clients: Clients,
  spec: FaultSpec,
  allowed: Expected[],
): Promise<{ acked: Acked[]; direct: Answer[] }> {
  const acked = await clients.writeAcked('before');
  await spec.apply();
  try {
    const direct = await clients.attempt(spec.backend);
    assertAnswers(direct, allowed, `${spec.label}, first requests`);
    return { acked, direct };
  } catch (e) {
    await spec.remove();
    throw e;
  }
}

export async function faultRound(rig: Rig, clients: Clients, spec: FaultSpec): Promise<RoundFigures> {
  const breaker = rig.gw.ns.breakers[spec.backend];
  const { acked, direct } = await underFault(clients, spec, [spec.direct, OPEN_CIRCUIT]);
  let removed = false;
  try {
    // Meanwhile a client keeps reading what still can be read: its successes must not keep
    // the circuit closed (the probes' failures open it).
    let reading = true;
    const reader = (async () => {
      while (reading) {
        await clients.readWhatStillWorks(spec.backend, acked).catch(() => {});
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    try {
      await until(`the ${spec.backend} circuit to open`, () => breaker.state === 'open', WAIT_MS);
    } finally {
      reading = false;
      await reader;
      await new Promise((r) => setTimeout(r, 2500));
    }
    // Held open while the test looks (as an operator's SIGHUP with a longer reset_timeout
    // would): on a loaded machine the half-open trial must not race the requests below.
    const configured = rig.gw.config.circuitBreaker;
    breaker.configure({ ...configured, resetTimeoutMs: 10 * 60_000 });
    let open: Answer[];
    try {
      // While the reader above finished, the 2 s reset timeout may have passed: a half-open
      // trial (or a read that worked, closing it) lets requests reach the disk. The probes
      // open it again, now for the long timeout.
      await until(`the ${spec.backend} circuit to be open again`, () => breaker.state === 'open', WAIT_MS);
      open = await clients.attempt(spec.backend);
      assertAnswers(open, [OPEN_CIRCUIT], `${spec.label}, circuit open`);

      // Unhealthy, naming the backend and the cause: a probe that began before the circuit
      // opened may still end as "probe timed out" first (slow I/O on a loaded machine).
      await until(
        '/health to report the backend unhealthy, with its cause',
        async () => {
          const c = await rig.check(spec.backend);
          return c.status === 'unhealthy' && spec.cause.test(c.message);
        },
        WAIT_MS,
      );
      const health = await rig.health();
      equal(health.overall, 'unhealthy');
      const check = health.checks.find((c) => c.name === spec.backend)!;
      equal(check.status, 'unhealthy');
      match(check.message, new RegExp(`${spec.backend} backend`));
      match(check.message, spec.cause);
      // The other backend is not blamed (a slow probe on a loaded machine may read "degraded").
      notEqual(health.checks.find((c) => c.name === other(spec.backend))?.status, 'unhealthy');
      const { samples } = await scrape(rig.opsUrl);
      equal(sampleValue(samples, 'gateway_circuit_breaker_state', { backend: spec.backend }), 1);
    } finally {
      breaker.configure(configured);
    }

    const t0 = performance.now();
    removed = true;
    await spec.remove();
    await until(`the ${spec.backend} circuit to close by itself`, () => breaker.state === 'closed', WAIT_MS);
    const recoveryMs = performance.now() - t0;
    await until(
      '/health to stop reporting the backend unhealthy',
      async () => (await rig.check(spec.backend)).status !== 'unhealthy',
      WAIT_MS,
    );

    await clients.verify(acked);
    await clients.verify(await clients.writeAcked('after'));
    return { label: spec.label, direct, open, recoveryMs };
  } finally {
    if (!removed) {
      // A failed round leaves the gateway as it found it, so the next round starts clean.
      await spec.remove();
      await until(
        'the circuit to close after a failed round',
        () => breaker.state === 'closed',
        WAIT_MS,
      ).catch(() => {});
    }
  }
}

/**
 * A full file system is not an outage (circuit-breaker.ts isFull): its disk answers at once, so
 * no circuit opens however many writes and probes it refuses. Writes that need room are told
 * the disk is full, reads go on, `afterFull` (a delete that gives room back) runs, /health names
 * the backend and the cause; once room is freed, new writes succeed and nothing acknowledged
 * is lost.
 */
export async function fullRound(
  rig: Rig,
  clients: Clients,
  spec: FaultSpec & { whileFull?: (acked: Acked[]) => Promise<void> },
): Promise<RoundFigures> {
  const breaker = rig.gw.ns.breakers[spec.backend];
  const { acked, direct } = await underFault(clients, spec, [spec.direct]);
  let removed = false;
  try {
    await until(
      '/health to report the backend unhealthy, with its cause',
      async () => {
        const c = await rig.check(spec.backend);
        return (
          c.status === 'unhealthy' &&
          spec.cause.test(c.message) &&
          new RegExp(`${spec.backend} backend`).test(c.message)
        );
      },
      WAIT_MS,
    );
    // Past failure_threshold (3) probes at 100 ms, and more writes refused: still closed.
    await new Promise((r) => setTimeout(r, 1500));
    const later = await clients.attempt(spec.backend);
    assertAnswers(later, [spec.direct], `${spec.label}, later requests`);
    equal(breaker.state, 'closed', `${spec.label}: a full disk opens no circuit`);
    const health = await rig.health();
    notEqual(health.checks.find((c) => c.name === other(spec.backend))?.status, 'unhealthy');
    const { samples } = await scrape(rig.opsUrl);
    equal(sampleValue(samples, 'gateway_circuit_breaker_state', { backend: spec.backend }), 0);
    // The operator's diagnosis names the full disk (its circuit, closed, says nothing).
    const d = await runCommand(
      CFS,
      ['diagnose', 'backend', '--json', '--config', join(rig.dir, 'gateway.yaml')],
      { timeoutMs: 60_000 },
    );
    const space = (JSON.parse(d.stdout) as DiagnosticRun).steps.find((x) => x.id === 'space');
    equal(space?.outcome, 'full', `${spec.label}: ./cfs diagnose backend's room step: ${space?.summary}`);
    match(space.summary, new RegExp(`${spec.backend} disk \\S+: \\S+ of \\S+ left: full`));
    // Reads go on: every acknowledged file, over another protocol than the one that wrote it.
    await clients.verify(acked);
    await spec.whileFull?.(acked);

    const t0 = performance.now();
    removed = true;
    await spec.remove();
    await until(
      '/health to stop reporting the backend unhealthy',
      async () => (await rig.check(spec.backend)).status !== 'unhealthy',
      WAIT_MS,
    );
    const recoveryMs = performance.now() - t0;
    await clients.verify(acked);
    await clients.verify(await clients.writeAcked('after'));
    return { label: spec.label, direct, open: later, recoveryMs };
  } finally {
    if (!removed) await spec.remove();
  }
}

/**
 * Fills the file system holding `dir` with one file, and keeps it full: whatever the gateway
 * frees meanwhile (a failed write's partial blob, removed) is taken back within 20 ms, so that
 * the probes keep failing as a full disk would have them. `free()` stops and removes the file.
 */
export function fillFileSystem(dir: string): { free(): void } {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'a');
  const chunk = Buffer.alloc(64 * 1024);
  const topUp = () => {
    try {
      for (;;) writeSync(fd, chunk);
    } catch {
      // ENOSPC: full again (a short write before it took the last partial chunk).
    }
  };
  topUp();
  const timer = setInterval(topUp, 20);
  return {
    free: () => {
      clearInterval(timer);
      closeSync(fd);
      rmSync(path, { force: true });
    },
  };
}

export interface FaultGateway {
  rig: Rig;
  clients: Clients;
  faults: BackendFaults;
  /** The tmpfs holding the backend's files (undefined when this process may not mount)… */
  mounted: string | undefined;
  /** …or the plain folder that holds them instead: meta.db, or the data folder `data`. */
  home: string;
  /** Whether the gateway has logged a line containing `text` (its log, at info). */
  logged(text: string): boolean;
}

/**
 * The suite's gateway (NFS, S3, SMB; probes every 100 ms; 3 failures open a circuit, which
 * stays open 2 s before a trial; a call slower than 1 s is a failure), with the fault wrapper
 * in place and the `onTmpfs` backend's files on a small tmpfs of their own, so that it can be
 * filled for real. Started before the suite's tests, stopped after them.
 */
export function faultGateway(onTmpfs: Backend, size: string): FaultGateway {
  const captured = capturedLog();
  const ctx = { faults: new BackendFaults(), logged: captured.logged } as FaultGateway;
  before(async () => {
    const dir = makeTempDir(`fault-${onTmpfs}`);
    ctx.mounted = mountTmpfs(join(dir, `${onTmpfs}-fs`), size);
    ctx.home = ctx.mounted ?? join(dir, `${onTmpfs}-fs`);
    ctx.rig = await Rig.start({
      ...(onTmpfs === 'metadata' ? { metadataDir: ctx.home } : { dataDir: join(ctx.home, 'data') }),
      wrapStores: ctx.faults.wrap,
      log: captured.log,
      extraYaml: 'circuit_breaker: { failure_threshold: 3, reset_timeout: 2s, slow_call: 1s }',
    });
    ctx.clients = await Clients.open(ctx.rig);
  });
  after(async () => {
    ctx.faults.clear();
    ctx.clients?.close();
    await ctx.rig?.stop();
  });
  return ctx;
}
