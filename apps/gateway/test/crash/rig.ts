/**
 * The crash rounds shared by the CI test and the bench: one gateway process (`./cfs gateway
 * start`) on a temp state folder, one user over S3, NFS and SMB; each round runs the mixed
 * workload, SIGKILLs the gateway at a seeded random moment, starts it again, reads everything
 * back, judges it against the ledger and runs `./cfs fsck`.
 */
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { loadConfig } from '../../src/config/load.ts';
import { openControlPlane } from '../../src/control/index.ts';
import { CFS, writeGatewayConfig } from '../quota/fixture.ts';
import { type ProcessHandle, spawnProcess } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { type GatewayAccess, NfsClient, s3Client } from './clients.ts';
import { AckLedger, type InFlightOutcomes, PROTOCOLS, type Protocol } from './ledger.ts';
import { fsck, observe } from './verify.ts';
import { BUCKET, DIRECTORIES, KEEP_NAME, MixedWorkload, Rng, type WorkloadOptions } from './workload.ts';

const ADMIN_PASSWORD = 'crash-admin-password-1';
/** How long a round waits past its kill moment for a protocol's first acknowledged write. */
const FIRST_ACK_WAIT_MS = 60_000;

export interface RoundReport {
  round: number;
  seed: number;
  /** How long the writers ran before the SIGKILL. */
  killAfterMs: number;
  /** Acknowledgements received in the round, by protocol. */
  acked: Record<Protocol, number>;
  /** Names with an operation begun and not acknowledged when the gateway died, and what became of it. */
  inFlight: number;
  outcomes: InFlightOutcomes;
  /** Names read back, and how many of them exist. */
  names: number;
  present: number;
  /** null where fsck cannot check the backends (PostgreSQL metadata, an object store). */
  fsckClean: boolean | null;
  /**
   * Every invariant this round broke; empty when it passed. An fsck finding counts in the
   * round that first shows it (a leaked blob stays leaked, and would fail every later round).
   */
  problems: string[];
  /** Of those, the ones about content: an acknowledged write lost, something half-visible. */
  contentProblems: number;
  ms: number;
}

export interface RigOptions {
  writersPerProtocol?: number;
  namesPerWriter?: number;
  sharedNames?: number;
  /**
   * The SIGKILL comes this many ms after the writers start, uniformly in [min, max] — or, when
   * a protocol has had no write acknowledged by then, a random 0–300 ms after its first one, so
   * every round crashes all three protocols mid-stream whatever the machine's load.
   */
  killWindowMs?: [number, number];
  /** Appended to the configuration: other backends (`metadata:`, `transport:` sections). */
  extraYaml?: string;
}

export class CrashRig {
  readonly ledger = new AckLedger();
  private gateway: ProcessHandle | undefined;
  /** fsck findings already reported by an earlier round. */
  private readonly fsckFindings = new Set<string>();

  private constructor(
    readonly dir: string,
    readonly configFile: string,
    readonly access: GatewayAccess,
    private readonly o: Required<RigOptions>,
    /** Embedded backends (SQLite, a data folder): what `./cfs fsck` checks. */
    private readonly embedded: boolean,
  ) {}

  static async create(o: RigOptions = {}): Promise<CrashRig> {
    const dir = makeTempDir('crash-mixed');
    const configFile = await writeGatewayConfig(dir, o.extraYaml ?? '');
    const { config, problems } = await loadConfig(configFile, { checkPorts: false });
    if (!config) throw new Error(`bad test config: ${JSON.stringify(problems)}`);
    const password = 'Crash-test-pw-1';
    const cp = await openControlPlane({ stateDir: config.stateDir, url: config.control.url });
    let access: GatewayAccess;
    try {
      const u = await cp.users.add({ name: 'crash', password });
      const k = await cp.s3Keys.create('crash');
      access = {
        nfsPort: config.nfs.bind.port,
        mountPort: config.nfs.mountBind.port,
        s3Port: config.s3.bind.port,
        smbPort: config.smb.bind.port,
        user: 'crash',
        password,
        uid: u.uid,
        gid: u.gid,
        accessKeyId: k.accessKeyId,
        secret: k.secret,
      };
    } finally {
      await cp.close();
    }
    const embedded = config.metadata.kind === 'sqlite' && config.transport.kind === 'file';
    const rig = new CrashRig(
      dir,
      configFile,
      access,
      {
        writersPerProtocol: o.writersPerProtocol ?? 2,
        namesPerWriter: o.namesPerWriter ?? 4,
        sharedNames: o.sharedNames ?? 6,
        killWindowMs: o.killWindowMs ?? [300, 2500],
        extraYaml: o.extraYaml ?? '',
      },
      embedded,
    );
    await rig.start();
    const s3 = s3Client(access);
    const nfs = await NfsClient.mount(access, '/export');
    try {
      await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
      const bucket = await nfs.mustLookup(nfs.root, BUCKET);
      for (const d of DIRECTORIES) {
        const dir = await nfs.ensureDir(bucket, d);
        // An S3 DELETE of the last object in a directory removes the directory (S3 has no empty
        // prefixes): NFS and SMB writers holding a handle or a path into it would then meet
        // NFS3ERR_STALE or a missing path. A file no writer touches keeps each one.
        if (!(await nfs.lookup(dir, KEEP_NAME))) await nfs.create(dir, KEEP_NAME);
      }
    } finally {
      s3.destroy();
      nfs.close();
    }
    return rig;
  }

  /** Starts the gateway process and waits until it serves. */
  async start(): Promise<void> {
    const gw = spawnProcess(CFS, ['gateway', 'start', '--config', this.configFile], {
      name: 'gateway',
      env: { CFS_ADMIN_PASSWORD: ADMIN_PASSWORD },
    });
    this.gateway = gw;
    await gw.waitForLine(/gateway started/, 60_000);
  }

  /** SIGKILL by PID; resolves once the process is gone (reaped), so its PID file is stale. */
  async kill(): Promise<void> {
    const gw = this.gateway!;
    process.kill(gw.pid, 'SIGKILL');
    const status = await gw.exited;
    if (status.signal !== 'SIGKILL')
      throw new Error(`gateway ended with ${JSON.stringify(status)} before the SIGKILL`);
  }

  /** One round: workload, SIGKILL at a random moment, restart, read back, judge, fsck. */
  async round(round: number, seed: number): Promise<RoundReport> {
    const t0 = performance.now();
    const rng = new Rng(seed);
    const killAfterMs = rng.between(...this.o.killWindowMs);
    const opts: WorkloadOptions = {
      writersPerProtocol: this.o.writersPerProtocol,
      namesPerWriter: this.o.namesPerWriter,
      sharedNames: this.o.sharedNames,
      round,
      seed,
    };
    const workload = await MixedWorkload.connect(this.access, this.ledger, opts);
    const problems: string[] = [];
    let killedAfterMs = killAfterMs;
    try {
      const running = workload.run();
      const started = performance.now();
      let done = false;
      const finished = () => {
        done = true;
      };
      running.then(finished, finished);
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      await Promise.race([running, sleep(killAfterMs)]);
      const unacked = () => PROTOCOLS.some((p) => this.ledger.acks[p] === 0);
      if (!done && unacked()) {
        const giveUp = started + FIRST_ACK_WAIT_MS;
        while (!done && unacked() && performance.now() < giveUp) await sleep(10);
        await Promise.race([running, sleep(rng.between(0, 300))]);
      }
      killedAfterMs = Math.round(performance.now() - started);
      workload.killed = true;
      await this.kill();
      // Requests cut off by the crash fail as soon as their sockets are gone.
      workload.close();
      await running;
    } finally {
      workload.close();
    }
    problems.push(...workload.failures.map((f) => `before the SIGKILL: ${f}`));
    const acked = { ...this.ledger.acks };
    const inFlight = this.ledger.inFlight();

    await this.start();
    const seen = await observe(this.access, this.ledger);
    const content = [...seen.problems, ...this.ledger.judgeAll(seen.observed)];
    problems.push(...content);
    const outcomes = this.ledger.inFlightOutcomes(seen.observed);
    const checked = this.embedded ? await fsck(this.configFile) : { clean: null, problems: [] };
    for (const finding of checked.problems) {
      if (this.fsckFindings.has(finding)) continue;
      this.fsckFindings.add(finding);
      problems.push(`./cfs fsck: ${finding}`);
    }
    this.ledger.settle(seen.observed);
    return {
      round,
      seed,
      killAfterMs: killedAfterMs,
      acked,
      inFlight,
      outcomes,
      names: seen.observed.size,
      present: [...seen.observed.values()].filter((v) => v !== null).length,
      fsckClean: checked.clean,
      problems,
      contentProblems: content.length,
      ms: Math.round(performance.now() - t0),
    };
  }

  /** Stops the gateway (SIGTERM, then SIGKILL after a grace) and waits for it. */
  async close(): Promise<void> {
    await this.gateway?.stop();
  }

  /** The tail of the running gateway's output, for a failure message. */
  gatewayOutput(): string {
    return this.gateway?.output().slice(-4000) ?? '';
  }
}

const fsckText = (clean: boolean | null) =>
  clean === null ? 'not run (shared backends)' : clean ? 'clean' : 'NOT clean';

/** One line per round, as the test and the bench print it. */
export function formatRound(r: RoundReport): string {
  const verdict = r.problems.length === 0 ? 'ok' : `FAILED (${r.problems.length} problems)`;
  return (
    `round ${r.round} seed ${r.seed}: SIGKILL after ${r.killAfterMs} ms; acknowledged s3 ${r.acked.s3}, ` +
    `nfs ${r.acked.nfs}, smb ${r.acked.smb}; in flight ${r.inFlight} (applied ${r.outcomes.applied}, ` +
    `not ${r.outcomes.none}, partly ${r.outcomes.partial}); ${r.present}/${r.names} names present; ` +
    `fsck ${fsckText(r.fsckClean)}; ${r.ms} ms: ${verdict}`
  );
}
