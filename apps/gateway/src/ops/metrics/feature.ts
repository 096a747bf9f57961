import type { Feature } from '../../daemon/feature.ts';
import { GatewayMetrics, getMetrics, setMetrics } from './gateway-metrics.ts';

/** `GET /metrics`, the request observer and the console's history sampler. */
export const metricsFeature: Feature = {
  name: 'metrics',
  start(gw) {
    const metrics = new GatewayMetrics(gw);
    metrics.start();
    setMetrics(gw, metrics);
    gw.ops.route('GET', '/metrics', (_req, res) => metrics.serve(res));
  },
  stop(gw) {
    getMetrics(gw).stop();
    setMetrics(gw, undefined);
  },
};
