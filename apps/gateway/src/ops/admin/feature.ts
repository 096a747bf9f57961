import type { Feature } from '../../daemon/feature.ts';

export const adminFeature: Feature = {
  name: 'admin',
  start() {},
};
