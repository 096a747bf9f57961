import type { Feature } from '../../daemon/feature.ts';

export const quotaFeature: Feature = {
  name: 'quota',
  start() {},
};
