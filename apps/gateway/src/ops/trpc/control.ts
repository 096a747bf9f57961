import type { GatewayControl } from '@claudefs/api';
import type { Gateway } from '../../daemon/gateway.ts';
import { diagnosticsControl } from '../diagnostics/control.ts';
import { auditControl } from './audit-control.ts';
import { certControl } from './cert-control.ts';
import { translatingErrors } from './errors.ts';
import { identityControl } from './identity-control.ts';
import { listenerControl } from './listener-control.ts';
import { nodesControl } from './nodes-control.ts';
import { opsControl } from './ops-control.ts';
import { quotaControl } from './quota-control.ts';
import { s3Control } from './s3-control.ts';
import { sessionControl } from './session.ts';

/**
 * What the tRPC router asks of this gateway, each capability implemented by the function the
 * admin API, the CLI or the owning feature already uses. Refusals become tRPC codes here, once.
 */
export function createGatewayControl(gw: Gateway): GatewayControl {
  return translatingErrors({
    ...opsControl(gw),
    ...listenerControl(gw),
    ...nodesControl(gw),
    ...quotaControl(gw),
    ...s3Control(gw),
    ...identityControl(gw),
    ...certControl(gw),
    ...auditControl(gw),
    ...sessionControl(gw),
    ...diagnosticsControl(gw),
  });
}
