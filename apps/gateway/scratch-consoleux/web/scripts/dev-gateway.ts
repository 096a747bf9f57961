/**
 * A stand-in gateway for working on the console without one: the real tRPC router over a fake
 * GatewayControl with plausible, moving numbers. `npx tsx scripts/dev-gateway.ts [port]`, then
 * `CFS_GATEWAY_URL=http://127.0.0.1:<port> npm run dev`. Users: admin/admin, otto/otto (operator),
 * val/val (viewer). Not used by the tests, which start a real gateway.
 */
import { createServer } from 'node:http';
import { appRouter, type Context, type MetricsPoint, type QuotaView, type Role } from '@claudefs/api';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { fakeControl, QUOTA } from '../../../packages/api/test/fake-control.ts';

const port = Number(process.argv[2] ?? 18081);
const sessions = new Map<string, { user: string; role: Role }>();
const USERS: Record<string, Role> = { admin: 'admin', otto: 'operator', val: 'viewer' };
let draining = false;
let drainedAt = 0;

function points(windowSeconds: number): MetricsPoint[] {
  const now = Date.now();
  const out: MetricsPoint[] = [];
  for (let t = now - windowSeconds * 1000; t <= now; t += 5000) {
    const w = Math.sin(t / 120_000);
    const proto = (base: number, p99: number) => ({
      requestsPerSec: Math.max(0, base + base * 0.4 * w),
      errorsPerSec: base * 0.002,
      errorRatio: 0.002,
      p99Ms: p99 + p99 * 0.3 * Math.cos(t / 90_000),
      activeConnections: Math.round(base / 10),
    });
    out.push({
      t,
      seconds: 5,
      protocols: { nfs: proto(420, 4), s3: proto(180, 12), smb: proto(60, 6) },
      connections: { active: 66, max: 1000 },
      cacheHitRatio: { attributes: 0.92 + 0.05 * w, entries: 0.81 },
      backendErrors: { metadata: t % 300_000 < 15_000 ? 2 : 0, transport: 0 },
      circuits: { metadata: t % 600_000 < 30_000 ? 'open' : 'closed', transport: 'closed' },
      draining,
    });
  }
  return out;
}

const quotas: QuotaView[] = [
  QUOTA,
  {
    ...QUOTA,
    id: 1001,
    name: 'bob',
    bytes: { ...QUOTA.bytes, used: '23500000000', usedText: '23.5GB' },
    state: 'in grace',
    softExceededAt: new Date(Date.now() - 86_400_000).toISOString(),
    graceRemainingMs: 6 * 86_400_000,
  },
  {
    ...QUOTA,
    kind: 'gid',
    id: 1500,
    name: 'staff',
    bytes: { ...QUOTA.bytes, used: '25000000000', usedText: '25GB' },
    state: 'over hard',
    graceRemainingMs: 0,
  },
];

const control = fakeControl({
  metricsHistory: async (w) => ({ intervalSeconds: 5, points: points(w) }),
  drainStatus: async () => {
    const quiet = draining && Date.now() - drainedAt > 6000;
    return {
      state: !draining ? 'serving' : quiet ? 'drained' : 'draining',
      draining,
      drained: quiet,
      since: draining ? new Date(drainedAt).toISOString() : null,
      quietForMs: quiet ? Date.now() - drainedAt - 6000 : 0,
      quietMs: 1000,
      connections: quiet ? 0 : 3,
      inFlight: quiet ? 0 : 2,
      protocols: {
        nfs: { connections: quiet ? 0 : 2, inFlight: quiet ? 0 : 1 },
        s3: { connections: quiet ? 0 : 1, inFlight: quiet ? 0 : 1 },
      },
    };
  },
  drain: async () => {
    draining = true;
    drainedAt = Date.now();
    return control.drainStatus();
  },
  undrain: async () => {
    draining = false;
    return control.drainStatus();
  },
  listQuotas: async () => quotas,
  signIn: async (user, password) =>
    USERS[user] && password === user
      ? {
          credential: `c-${user}-${Math.random()}`,
          user,
          role: USERS[user],
          expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
        }
      : null,
});

const handler = createHTTPHandler({
  router: appRouter,
  createContext: ({ req, res }): Context => {
    const cookie = /(?:^|;\s*)cfs_session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1] ?? null;
    const s = cookie ? sessions.get(cookie) : undefined;
    return {
      control,
      session: s ? { ...s, via: 'console' } : null,
      transport: {
        remoteAddress: req.socket.remoteAddress ?? '',
        csrfHeader: req.headers['x-cfs-csrf'] === '1',
        sessionCredential: cookie,
        issueSession: (credential, expiresAt) => {
          const user = credential.split('-')[1] ?? '';
          sessions.set(credential, { user, role: USERS[user] ?? 'viewer' });
          res.setHeader(
            'set-cookie',
            `cfs_session=${credential}; HttpOnly; Path=/; SameSite=Strict; Expires=${new Date(expiresAt).toUTCString()}`,
          );
        },
        endSession: () => res.setHeader('set-cookie', 'cfs_session=; HttpOnly; Path=/; Max-Age=0'),
      },
    };
  },
});

createServer((req, res) => {
  if (req.url?.startsWith('/trpc/')) {
    req.url = req.url.slice('/trpc'.length);
    handler(req, res);
  } else {
    res.writeHead(404).end();
  }
}).listen(port, '127.0.0.1', () => console.log(`dev gateway on http://127.0.0.1:${port}/trpc`));
