import type { Feature } from '../../daemon/feature.ts';

export const metricsFeature: Feature = {
  name: 'metrics',
  start() {},
};
