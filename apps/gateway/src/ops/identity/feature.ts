import type { Feature } from '../../daemon/feature.ts';

export const identityFeature: Feature = {
  name: 'identity',
  start() {},
};
