import type { Feature } from '../../daemon/feature.ts';

export const drainFeature: Feature = {
  name: 'drain',
  start() {},
};
