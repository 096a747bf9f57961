import type { PrismaClient } from '../generated/prisma/client.ts';
import { notFound } from './errors.ts';

export interface GatewayNodeRecord {
  name: string;
  address: string;
  version: string;
  startedAt: Date;
  lastHeartbeatAt: Date;
  draining: boolean;
  status: string;
}

export interface Nodes {
  /** Called at start-up: (re)creates the row with startedAt = lastHeartbeatAt = now, not draining. */
  register(input: {
    name: string;
    address: string;
    version: string;
    status?: string;
  }): Promise<GatewayNodeRecord>;
  /** Updates lastHeartbeatAt (and status/draining when given). */
  heartbeat(name: string, patch?: { status?: string; draining?: boolean }): Promise<void>;
  /** Sorted by name. A node is live when `now - lastHeartbeatAt` is within the caller's timeout. */
  list(): Promise<GatewayNodeRecord[]>;
  remove(name: string): Promise<void>;
}

const plain = (n: GatewayNodeRecord & { id: number }): GatewayNodeRecord => ({
  name: n.name,
  address: n.address,
  version: n.version,
  startedAt: n.startedAt,
  lastHeartbeatAt: n.lastHeartbeatAt,
  draining: n.draining,
  status: n.status,
});

export function createNodes(prisma: PrismaClient): Nodes {
  return {
    async register({ name, address, version, status = 'up' }) {
      const now = new Date();
      const fields = { address, version, status, startedAt: now, lastHeartbeatAt: now, draining: false };
      const n = await prisma.gatewayNode.upsert({
        where: { name },
        create: { name, ...fields },
        update: fields,
      });
      return plain(n);
    },
    async heartbeat(name, patch = {}) {
      const { count } = await prisma.gatewayNode.updateMany({
        where: { name },
        data: { lastHeartbeatAt: new Date(), status: patch.status, draining: patch.draining },
      });
      if (count === 0) throw notFound(`gateway node ${name}`);
    },
    async list() {
      return (await prisma.gatewayNode.findMany({ orderBy: { name: 'asc' } })).map(plain);
    },
    async remove(name) {
      const { count } = await prisma.gatewayNode.deleteMany({ where: { name } });
      if (count === 0) throw notFound(`gateway node ${name}`);
    },
  };
}
