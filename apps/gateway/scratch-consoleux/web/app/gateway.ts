import { serverEnv } from '../env.ts';

/** Where the gateway's HTTP listener (health, metrics, admin, tRPC) is; read per request. */
export function gatewayUrl(): string {
  return serverEnv().CFS_GATEWAY_URL;
}
