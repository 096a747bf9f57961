import type { GatewayControl } from '@claudefs/api';
import { TRPCError } from '@trpc/server';
import type { Gateway } from '../../daemon/gateway.ts';
import { DiagnosticsError } from './errors.ts';
import { diagnosticsOf } from './feature.ts';
import type { DiagnosticsService } from './service.ts';

type DiagnosticsControl = Pick<
  GatewayControl,
  'diagnosticTrees' | 'runDiagnostic' | 'diagnosticBundle' | 'remediate'
>;

const CODES: Record<DiagnosticsError['status'], TRPCError['code']> = {
  400: 'BAD_REQUEST',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  412: 'PRECONDITION_FAILED',
};

/** GatewayControl's diagnostics, delegated to the gateway's DiagnosticsService. */
export function diagnosticsControl(gw: Gateway): DiagnosticsControl {
  const call = async <T>(work: (s: DiagnosticsService) => Promise<T> | T): Promise<T> => {
    const s = diagnosticsOf(gw);
    if (!s)
      throw new TRPCError({ code: 'PRECONDITION_FAILED', message: 'the diagnostics feature is not running' });
    try {
      return await work(s);
    } catch (e) {
      if (e instanceof DiagnosticsError)
        throw new TRPCError({ code: CODES[e.status], message: e.message, cause: e });
      throw e;
    }
  };
  return {
    diagnosticTrees: () => call((s) => s.trees()),
    runDiagnostic: (request, ranBy) => call((s) => s.run(request, ranBy)),
    diagnosticBundle: (request) => call((s) => s.bundle(request)),
    remediate: (request) => call((s) => s.remediate(request)),
  };
}
