/** The metrics module's public face: the feature, the accessor and the console's types. */
export { metricsFeature } from './feature.ts';
export {
  GatewayMetrics,
  type GatewayMetricsOptions,
  getMetrics,
  type MetricsSnapshot,
  type ProtocolSnapshot,
} from './gateway-metrics.ts';
export type { CacheName, MetricsHistory, MetricsPoint, ProtocolPoint } from './history.ts';
export { LATENCY_BUCKETS } from './request-stats.ts';
