import type { Feature } from '../../daemon/feature.ts';
import type { Gateway } from '../../daemon/gateway.ts';
import { registerDiagnosticsRoutes } from './routes.ts';
import { DiagnosticsService } from './service.ts';

const services = new WeakMap<Gateway, DiagnosticsService>();

/** The diagnostics of a started gateway (the tRPC control reaches them here). */
export function diagnosticsOf(gw: Gateway): DiagnosticsService | undefined {
  return services.get(gw);
}

/**
 * Guided diagnostics: the runbook's troubleshooting trees run against this gateway, on
 * `/admin/diagnostics/*` and through tRPC. Started early so its log ring sees the other
 * features' start-up lines.
 */
export const diagnosticsFeature: Feature = {
  name: 'diagnostics',
  start(gw) {
    const service = new DiagnosticsService(gw);
    service.start();
    services.set(gw, service);
    registerDiagnosticsRoutes(gw, service);
  },
  stop(gw) {
    services.get(gw)?.stop();
    services.delete(gw);
  },
};
