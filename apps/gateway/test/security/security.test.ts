/**
 * Security checks (issue 9 item 6), one place an auditor reads: each row attacks the one
 * gateway (security/gateway.ts) as a real client would, and asserts (a) the protocol's own
 * refusal, (b) that nothing changed, and (c) that the refusal is visible — a warning or info
 * line in the gateway's log at the default level, or a `denied` entry in the audit trail read
 * back through the console's audit.list. docs/ARCHITECTURE.md "Security checks" lists them.
 */
import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  type S3Client,
  type S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { CMD, FLAGS, SIGNING_REQUIRED } from '../../src/protocols/smb/constants.ts';
import { NT_STATUS } from '../../src/protocols/smb/deps.ts';
import { isFsError } from '../../src/storage/errors.ts';
import { ROOT } from '../../src/storage/types.ts';
import { A, R } from '../nfs-v3/wire.ts';
import { type S3Gateway, sdkClient } from '../s3/fixture.ts';
import { signed, xmlCode } from '../s3/raw.ts';
import { createBody, TestClient } from '../smb/client.ts';
import { runCommand } from '../support/proc.ts';
import { relayProxy } from '../support/proxy.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools, toolPath } from '../support/tools.ts';
import { signIn, trpc } from '../trpc/fixture.ts';
import {
  authSys,
  type LogLine,
  mountRoot,
  nfsCall,
  nonLoopbackIPv4,
  PRIVATE_CLIENT,
  SecurityGateway,
} from './gateway.ts';

const BUCKET = 'vault';
const NFS3ERR_PERM = 1;
const NFS3ERR_ACCES = 13;
const NFS3ERR_STALE = 70;
const WARN = 40;

let g: SecurityGateway;

/** The request as the SDK hands it on after signing (finalizeRequest step). */
type Signed = { request: { body?: unknown; headers: Record<string, string> } };

before(async () => {
  g = await SecurityGateway.start();
  const s3 = client(g.alice);
  try {
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  } finally {
    s3.destroy();
  }
});
after(() => g?.stop());

// ---- helpers ---------------------------------------------------------------------------------

/** The suite's gateway in the shape the S3 test helpers take (endpoint and port). */
function s3Gateway(): S3Gateway {
  return { port: g.ports.s3, endpoint: g.s3Endpoint } as S3Gateway;
}

function client(key: { accessKeyId: string; secret: string }, extra: Record<string, unknown> = {}): S3Client {
  return sdkClient(s3Gateway(), key, { requestChecksumCalculation: 'WHEN_REQUIRED', ...extra });
}

/** The SDK's error for a refused command: HTTP status and the S3 XML <Code>. */
async function refusal(p: Promise<unknown>): Promise<{ status: number; code: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as S3ServiceException;
    return { status: err.$metadata?.httpStatusCode ?? 0, code: err.name };
  }
  throw new Error('the request was accepted');
}

/** Whether `key` exists in the bucket, asked as its owner. */
async function objectExists(key: string): Promise<boolean> {
  const s3 = client(g.alice);
  try {
    await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    return true;
  } catch (e) {
    if ((e as S3ServiceException).$metadata?.httpStatusCode === 404) return false;
    throw e;
  } finally {
    s3.destroy();
  }
}

/** Whether a namespace path exists (asked of the namespace itself, below every protocol). */
async function pathExists(path: string): Promise<boolean> {
  try {
    await g.gw.ns.resolvePath(ROOT, path);
    return true;
  } catch (e) {
    if (isFsError(e, 'ENOENT')) return false;
    throw e;
  }
}

/** The one log line at `level` or above since `mark` whose message matches; fails naming what was logged. */
function logged(mark: number, msg: RegExp, level = WARN): LogLine {
  const lines = g.logLines(mark).filter((l) => l.level >= level);
  const hit = lines.find((l) => msg.test(l.msg));
  ok(hit, `no log line matching ${msg} at level >= ${level}; logged: ${lines.map((l) => l.msg).join(' | ')}`);
  return hit;
}

/** NEGOTIATE (2.1 and 3.0) then an NTLMv2 logon; the client and the final SESSION_SETUP status. */
async function smbSession(
  user: string,
  password: string,
  securityMode = 1,
): Promise<{ c: TestClient; logon: number }> {
  const c = new TestClient(g.ports.smb);
  await c.connect();
  // NEGOTIATE with the client's security mode (MS-SMB2 §2.2.3): 2 = signing required.
  const body = Buffer.alloc(36 + 4);
  body.writeUInt16LE(36, 0);
  body.writeUInt16LE(2, 2);
  body.writeUInt16LE(securityMode, 4);
  body.writeUInt32LE(0x44, 8);
  body.writeUInt16LE(0x0210, 36);
  body.writeUInt16LE(0x0300, 38);
  equal((await c.request({ command: CMD.NEGOTIATE, body })).status, 0);
  const logon = await c.logon(user, password);
  return { c, logon: logon.status };
}

// ---- S3 (SigV4) ------------------------------------------------------------------------------

describe('S3', () => {
  test('1 a request signed outside the 15-minute skew window (a replay) is 403 RequestTimeTooSkewed', async () => {
    // What a captured request replayed 20 minutes later looks like on the wire: signed then.
    const replayer = client(g.alice, { systemClockOffset: -20 * 60_000 });
    const mark = g.logMark();
    try {
      const r = await refusal(
        replayer.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'replayed', Body: 'x' })),
      );
      deepEqual(r, { status: 403, code: 'RequestTimeTooSkewed' });
    } finally {
      replayer.destroy();
    }
    equal(await objectExists('replayed'), false);
    const line = logged(mark, /^S3 request refused: RequestTimeTooSkewed$/);
    equal(line.accessKeyId, g.alice.accessKeyId);
    equal(line.remote, '127.0.0.1');
  });

  test('2 an expired presigned URL is 403 AccessDenied "Request has expired"', async () => {
    const s3 = client(g.alice);
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: BUCKET, Key: 'presigned' }), {
      expiresIn: 60,
      signingDate: new Date(Date.now() - 3600_000),
    });
    s3.destroy();
    const mark = g.logMark();
    const res = await fetch(url, { method: 'PUT', body: 'late', signal: AbortSignal.timeout(20_000) });
    const body = await res.text();
    equal(res.status, 403);
    equal(xmlCode(body), 'AccessDenied');
    match(body, /Request has expired/);
    equal(await objectExists('presigned'), false);
    const line = logged(mark, /^S3 request refused: AccessDenied$/);
    equal(line.reason, 'Request has expired');
    equal(line.accessKeyId, g.alice.accessKeyId);
  });

  test('3 a signature over a different payload: body swapped 400 XAmzContentSHA256Mismatch, hash swapped too 403 SignatureDoesNotMatch', async () => {
    const rows: Array<[string, boolean, number, string]> = [
      ['swapped-body', false, 400, 'XAmzContentSHA256Mismatch'],
      ['swapped-hash', true, 403, 'SignatureDoesNotMatch'],
    ];
    for (const [key, fixHash, status, code] of rows) {
      const s3 = client(g.alice);
      const forged = Buffer.from('evil payload, same length!');
      // A man in the middle changes the body of a request the client signed.
      const tamper = (next: (a: Signed) => Promise<unknown>) => async (args: Signed) => {
        args.request.body = forged;
        if (fixHash)
          args.request.headers['x-amz-content-sha256'] = createHash('sha256').update(forged).digest('hex');
        return next(args);
      };
      s3.middlewareStack.addRelativeTo(tamper as never, {
        relation: 'after',
        toMiddleware: 'httpSigningMiddleware',
        name: 'tamper',
      });
      const mark = g.logMark();
      try {
        const body = Buffer.from('good payload, same length!');
        deepEqual(await refusal(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }))), {
          status,
          code,
        });
      } finally {
        s3.destroy();
      }
      equal(await objectExists(key), false, key);
      equal(logged(mark, new RegExp(`^S3 request refused: ${code}$`)).accessKeyId, g.alice.accessKeyId);
    }
  });

  test('4 the access key of a removed user is 403 InvalidAccessKeyId', async () => {
    const mallory = await g.account('mallory', 'Mallory-password-1');
    const s3 = client(mallory);
    try {
      await s3.send(new ListBucketsCommand({}));
      const admin = await signIn(g.opsUrl, 'admin', process.env.CFS_ADMIN_PASSWORD!);
      equal(
        (await trpc(g.opsUrl, 'mutation', 'users.remove', { name: 'mallory' }, { cookie: admin })).status,
        200,
      );
      // The gateway trusts a looked-up key for at most a second (KEY_CACHE_MS).
      const deadline = Date.now() + 20_000;
      let r = await refusal(s3.send(new ListBucketsCommand({}))).catch(() => undefined);
      while (r === undefined && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 100));
        r = await refusal(s3.send(new ListBucketsCommand({}))).catch(() => undefined);
      }
      const mark = g.logMark();
      const put = await refusal(
        s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'by-mallory', Body: 'x' })),
      );
      deepEqual(put, { status: 403, code: 'InvalidAccessKeyId' });
      equal(await objectExists('by-mallory'), false);
      equal(logged(mark, /^S3 request refused: InvalidAccessKeyId$/).accessKeyId, mallory.accessKeyId);
      ok(!g.logText().includes(mallory.secret), 'the secret key never reaches the log');
    } finally {
      s3.destroy();
    }
  });

  test('4b the access key of a disabled user is refused at once, and works again once it is enabled', async () => {
    const trudy = await g.account('trudy', 'Trudy-password-1');
    const s3 = client(trudy);
    try {
      await s3.send(new ListBucketsCommand({}));
      const admin = await signIn(g.opsUrl, 'admin', process.env.CFS_ADMIN_PASSWORD!);
      const set = (disabled: boolean) =>
        trpc(g.opsUrl, 'mutation', 'users.setDisabled', { name: 'trudy', disabled }, { cookie: admin });
      equal((await set(true)).status, 200);
      // The console's change drops the gateway's cached credentials: no second of grace.
      const mark = g.logMark();
      deepEqual(
        await refusal(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'by-trudy', Body: 'x' }))),
        {
          status: 403,
          code: 'InvalidAccessKeyId',
        },
      );
      equal(await objectExists('by-trudy'), false);
      equal(logged(mark, /^S3 request refused: InvalidAccessKeyId$/).accessKeyId, trudy.accessKeyId);
      equal((await set(false)).status, 200);
      await s3.send(new ListBucketsCommand({}));
    } finally {
      s3.destroy();
    }
  });

  test('5 path traversal in a key ("..", also percent-encoded) is 400 InvalidArgument and writes nothing', async () => {
    for (const path of [
      `/${BUCKET}/../../escape`,
      `/${BUCKET}/%2E%2E/%2E%2E/escape`,
      `/${BUCKET}/a/../../../escape`,
    ]) {
      const mark = g.logMark();
      const r = await signed(s3Gateway(), g.alice, { method: 'PUT', path, body: 'out of the root' });
      equal(r.status, 400, path);
      equal(xmlCode(r.body), 'InvalidArgument', path);
      const line = logged(mark, /^S3 request refused: InvalidArgument$/);
      match(String(line.reason), /"\." or "\.\." path segment/);
    }
    for (const p of ['/escape', '/export/escape', '/export/a']) equal(await pathExists(p), false, p);
  });

  test('5b a flood of refused requests from one client is at most 20 log lines of each kind in 10 s', async () => {
    const mark = g.logMark();
    for (let i = 0; i < 60; i++) {
      const r = await fetch(`${g.s3Endpoint}/${BUCKET}/flood-${i}`);
      equal(r.status, 403);
      await r.arrayBuffer();
    }
    const lines = g.logLines(mark).filter((l) => /^S3 request refused: AccessDenied$/.test(l.msg));
    ok(lines.length >= 1 && lines.length <= 20, `${lines.length} lines`);
    equal(lines[0]?.remote, '127.0.0.1');
  });
});

// ---- SMB (NTLMv2) ----------------------------------------------------------------------------

describe('SMB', () => {
  test('6 NTLMv2 with a wrong password is STATUS_LOGON_FAILURE and leaves no session', async () => {
    const mark = g.logMark();
    const { c, logon } = await smbSession('alice', 'not-her-password');
    try {
      equal(logon, NT_STATUS.STATUS_LOGON_FAILURE);
      equal((await c.treeConnect('export')).status, NT_STATUS.STATUS_USER_SESSION_DELETED);
    } finally {
      c.close();
    }
    const line = logged(mark, /^SMB logon failed: unknown user or wrong password for 'alice'$/, 30);
    equal(line.remote, '127.0.0.1');
    ok(!g.logText().includes('not-her-password'));
  });

  test('7 a replayed AUTHENTICATE (captured from a good logon) is STATUS_LOGON_FAILURE', async () => {
    const victim = new TestClient(g.ports.smb);
    await victim.connect();
    const captured: Buffer[] = [];
    const send = victim.sendFrame.bind(victim);
    victim.sendFrame = (frame: Buffer) => {
      if (frame.readUInt16LE(12) === CMD.SESSION_SETUP) captured.push(Buffer.from(frame.subarray(64)));
      send(frame);
    };
    await victim.negotiate();
    equal((await victim.logon('alice', g.alice.password)).status, 0);
    victim.close();
    equal(captured.length, 2, 'NEGOTIATE_MESSAGE and AUTHENTICATE_MESSAGE');

    const mark = g.logMark();
    const attacker = new TestClient(g.ports.smb);
    await attacker.connect();
    try {
      await attacker.negotiate();
      const challenge = await attacker.request({ command: CMD.SESSION_SETUP, body: captured[0]! });
      equal(challenge.status, NT_STATUS.STATUS_MORE_PROCESSING_REQUIRED);
      attacker.sessionId = challenge.sessionId;
      const replay = await attacker.request({ command: CMD.SESSION_SETUP, body: captured[1]! });
      equal(replay.status, NT_STATUS.STATUS_LOGON_FAILURE);
      equal((await attacker.treeConnect('export')).status, NT_STATUS.STATUS_USER_SESSION_DELETED);
    } finally {
      attacker.close();
    }
    logged(mark, /^SMB logon failed: /, 30);
  });

  test('8 an unsigned (or wrongly signed) request on a signing session is STATUS_ACCESS_DENIED', async () => {
    const { c, logon } = await smbSession('alice', g.alice.password, SIGNING_REQUIRED);
    try {
      equal(logon, 0);
      let mark = g.logMark();
      equal((await c.treeConnect('export')).status, NT_STATUS.STATUS_ACCESS_DENIED);
      let line = logged(
        mark,
        /^SMB TREE_CONNECT refused: STATUS_ACCESS_DENIED \(the session requires signing\)$/,
      );
      equal(line.user, 'alice');
      // An injected CREATE on a guessed tree, unsigned and then with a forged signature.
      for (const [flags, reason] of [
        [0, 'the session requires signing'],
        [FLAGS.SIGNED, 'bad signature'],
      ] as const) {
        mark = g.logMark();
        const r = await c.request({
          command: CMD.CREATE,
          treeId: 1,
          flags,
          body: createBody('injected.txt', { disposition: 2 }),
        });
        equal(r.status, NT_STATUS.STATUS_ACCESS_DENIED, reason);
        line = logged(mark, new RegExp(`^SMB CREATE refused: STATUS_ACCESS_DENIED \\(${reason}\\)$`));
        equal(line.remote, '127.0.0.1');
      }
    } finally {
      c.close();
    }
    equal(await pathExists('/export/injected.txt'), false);
  });

  test('9 path traversal in an SMB path is STATUS_OBJECT_PATH_SYNTAX_BAD and creates nothing', async () => {
    const { c, logon } = await smbSession('alice', g.alice.password);
    try {
      equal(logon, 0);
      equal((await c.treeConnect('export')).status, 0);
      for (const name of ['..\\escape.txt', 'dir\\..\\..\\escape.txt', '.\\..\\..\\..\\escape.txt']) {
        const mark = g.logMark();
        const r = await c.request({ command: CMD.CREATE, body: createBody(name, { disposition: 2 }) });
        equal(r.status, NT_STATUS.STATUS_OBJECT_PATH_SYNTAX_BAD, name);
        logged(mark, /^SMB CREATE refused: STATUS_OBJECT_PATH_SYNTAX_BAD \(above the share root\)$/);
      }
    } finally {
      c.close();
    }
    for (const p of ['/escape.txt', '/export/escape.txt', '/export/dir'])
      equal(await pathExists(p), false, p);
  });

  test(
    '9b an encrypted WRITE changed in flight (one bit, mid-frame) closes the connection; no byte of it reaches the file',
    requireTools('smbclient'),
    async () => {
      const MiB = 1024 * 1024;
      const work = makeTempDir('smb-tamper');
      const data = randomBytes(24 * MiB);
      writeFileSync(join(work, 'big.bin'), data);
      // A man in the middle flipping one bit 12 MiB into what smbclient sends: inside the second
      // 8 MiB WRITE, which the gateway decrypts in place while it arrives (SMB 3.1.1, AES-GCM).
      const flipAt = 12 * MiB;
      const proxy = await relayProxy(g.ports.smb, (chunk, before) => {
        if (before > flipAt || flipAt >= before + chunk.length) return chunk;
        const c = Buffer.from(chunk);
        c[flipAt - before]! ^= 0x10;
        return c;
      });
      const mark = g.logMark();
      try {
        const r = await runCommand(
          toolPath('smbclient') ?? 'smbclient',
          [
            '-p',
            String(proxy.port),
            '//127.0.0.1/export',
            '-U',
            `alice%${g.alice.password}`,
            '--client-protection=encrypt',
            '-m',
            'SMB3_11',
            '-c',
            'put big.bin tampered.bin',
          ],
          { cwd: work, timeoutMs: 60_000, env: { HOME: work } },
        );
        ok(r.code !== 0, `smbclient should fail: ${r.output}`);
      } finally {
        proxy.close();
      }
      const line = logged(
        mark,
        /^SMB message failed to decrypt \(STATUS_ACCESS_DENIED\): connection closed$/,
      );
      equal(line.remote, '127.0.0.1');
      // What the file holds is what was sent, from its start: the WRITE before the changed one,
      // never the changed one's bytes (decrypted in place, but not authentic), nor a later one.
      const a = await g.gw.ns.resolvePath(ROOT, '/export/tampered.bin');
      ok(a.size < BigInt(flipAt), `${a.size} bytes: the changed WRITE reached the file`);
      for (let at = 0n; at < a.size; at += 8n * BigInt(MiB)) {
        const n = Number(a.size - at < 8n * BigInt(MiB) ? a.size - at : 8n * BigInt(MiB));
        const got = await g.gw.ns.read(ROOT, a.ino, at, n);
        ok(got.data.equals(data.subarray(Number(at), Number(at) + n)), `bytes at ${at} are what was sent`);
      }
    },
  );
});

// ---- NFSv3 (AUTH_SYS) ------------------------------------------------------------------------

describe('NFSv3', () => {
  test('10 a handle of another export, used from a host that export does not list, is NFS3ERR_ACCES', async () => {
    const alice = authSys(g.alice.uid, g.alice.gid);
    // The export's own client (127.0.0.2) mounts it and keeps a file there.
    const priv = await mountRoot(g, '/private', alice, PRIVATE_CLIENT);
    const made = await nfsCall(
      g,
      8,
      A.create(priv, 'payroll', 'guarded'),
      R.newObject,
      alice,
      PRIVATE_CLIENT,
    );
    equal(made.status, 0);
    // 127.0.0.1 may mount /export only; it presents /private's handle, learnt off the wire.
    await mountRoot(g, '/export', alice);
    const mark = g.logMark();
    equal((await nfsCall(g, 3, A.lookup(priv, 'payroll'), R.lookup, alice)).status, NFS3ERR_ACCES);
    equal(
      (await nfsCall(g, 8, A.create(priv, 'planted', 'guarded'), R.newObject, alice)).status,
      NFS3ERR_ACCES,
    );
    equal(await pathExists('/private/planted'), false);
    const line = logged(mark, /^NFSv3 LOOKUP refused: NFS3ERR_ACCES$/);
    equal(line.remote, '127.0.0.1');
    match(String(line.reason), /127\.0\.0\.1 is not a client of \/private/);
  });

  test('11 a forged handle (a flipped byte, or another inode under the same MAC) is NFS3ERR_STALE', async () => {
    const alice = authSys(g.alice.uid, g.alice.gid);
    const root = await mountRoot(g, '/export', alice);
    const flipped = Buffer.from(root);
    flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 0x80;
    const other = Buffer.from(root);
    other.writeBigUInt64BE(other.readBigUInt64BE(12) + 1n, 12);
    for (const forged of [flipped, other]) {
      const mark = g.logMark();
      const r = await nfsCall(g, 8, A.create(forged, 'forged', 'guarded'), R.newObject, alice);
      equal(r.status, NFS3ERR_STALE);
      match(String(logged(mark, /^NFSv3 CREATE refused: NFS3ERR_STALE$/).reason), /handle does not verify/);
    }
    equal(await pathExists('/export/forged'), false);
  });

  test('12 AUTH_SYS uid 0 on a root-squashed export is the anonymous user: ACCES / PERM on what it does not own', async () => {
    const alice = authSys(g.alice.uid, g.alice.gid);
    const root = await mountRoot(g, '/export', alice);
    const f = await nfsCall(
      g,
      8,
      A.create(root, 'alice-only', 'guarded', { mode: 0o600 }),
      R.newObject,
      alice,
    );
    equal(f.status, 0);
    equal((await nfsCall(g, 7, A.write(f.fh!, 0n, Buffer.from('hers')), R.write, alice)).status, 0);
    const uid0 = authSys(0, 0);
    const mark = g.logMark();
    const read = await nfsCall(g, 6, A.read(f.fh!, 0n, 100), R.read, uid0);
    equal(read.status, NFS3ERR_ACCES);
    equal(read.data, undefined);
    equal(
      (await nfsCall(g, 7, A.write(f.fh!, 0n, Buffer.from('root')), R.write, uid0)).status,
      NFS3ERR_ACCES,
    );
    equal(
      (await nfsCall(g, 2, A.setattr(f.fh!, { uid: 0, mode: 0o666 }), R.wccOnly, uid0)).status,
      NFS3ERR_PERM,
    );
    const after = await nfsCall(g, 6, A.read(f.fh!, 0n, 100), R.read, alice);
    equal(after.data!.toString(), 'hers');
    deepEqual([after.attrs!.uid, after.attrs!.mode & 0o777], [g.alice.uid, 0o600]);
    const line = logged(mark, /^NFSv3 READ refused: NFS3ERR_ACCES$/);
    equal(line.uid, 0);
    logged(mark, /^NFSv3 SETATTR refused: NFS3ERR_PERM$/);
  });
});

// ---- ops port: admin API and tRPC ------------------------------------------------------------

describe('ops port', () => {
  const address = nonLoopbackIPv4();
  test('13 the admin API without a token from a non-loopback address is 401, audited as denied', {
    skip: address ? false : 'this host has no non-loopback IPv4 address to call from',
  }, async () => {
    const res = await fetch(`http://${address}:${g.ports.ops}/admin/drain`, {
      method: 'POST',
      signal: AbortSignal.timeout(20_000),
    });
    equal(res.status, 401);
    match(((await res.json()) as { error: string }).error, /admin token required/);
    equal(g.gw.draining, false);
    const entry = (await g.auditTrail({ action: 'gateway.drain', outcome: 'denied' }))[0];
    ok(entry, 'a denied gateway.drain entry');
    deepEqual([entry.actor, entry.target, entry.remoteAddr], ['anonymous', '/admin/drain', address]);
  });

  test('14 a viewer session calling a mutation is FORBIDDEN, audited as denied', async () => {
    await g.account('vera', 'Vera-password-1', 'viewer');
    const cookie = await signIn(g.opsUrl, 'vera', 'Vera-password-1');
    const r = await trpc(g.opsUrl, 'mutation', 'users.add', { name: 'intruder', role: 'admin' }, { cookie });
    equal(r.status, 403);
    equal(r.error?.data.code, 'FORBIDDEN');
    equal(await g.gw.control.users.get('intruder').catch(() => null), null);
    const entry = (await g.auditTrail({ action: 'user.add', outcome: 'denied' })).find(
      (e) => e.actor === 'console:vera',
    );
    ok(entry, 'a denied user.add entry by console:vera');
    match(JSON.stringify(entry.detail), /needs the admin role \(you have viewer\)/);
  });

  test('15 a cross-site browser POST is refused: admin endpoint 401 even from loopback, tRPC mutation FORBIDDEN', async () => {
    // A page on another site makes the operator's browser post to the gateway on localhost.
    const browser = {
      origin: 'https://evil.example',
      'sec-fetch-site': 'cross-site',
      'content-type': 'text/plain',
    };
    const res = await fetch(`${g.opsUrl}/admin/drain`, {
      method: 'POST',
      headers: browser,
      body: '{}',
      signal: AbortSignal.timeout(20_000),
    });
    equal(res.status, 401);
    equal(g.gw.draining, false);
    const drain = (await g.auditTrail({ action: 'gateway.drain', outcome: 'denied' })).find((e) =>
      JSON.stringify(e.detail).includes('a browser request (origin header)'),
    );
    ok(drain, 'a denied gateway.drain entry naming the browser');
    equal(drain.remoteAddr, '127.0.0.1');

    // The console's mutation with the admin's session cookie, which the browser attaches.
    const cookie = await signIn(g.opsUrl, 'admin', process.env.CFS_ADMIN_PASSWORD!);
    const r = await trpc(g.opsUrl, 'mutation', 'users.add', { name: 'csrfvictim' }, { cookie, csrf: false });
    equal(r.status, 403);
    equal(r.error?.data.code, 'FORBIDDEN');
    equal(await g.gw.control.users.get('csrfvictim').catch(() => null), null);
    const entry = (await g.auditTrail({ action: 'user.add', outcome: 'denied' })).find((e) =>
      JSON.stringify(e.detail).includes('x-cfs-csrf'),
    );
    ok(entry, 'a denied user.add entry naming the missing x-cfs-csrf header');
    equal(entry.actor, 'console:admin');
  });
});
