import type { Feature } from '../../daemon/feature.ts';

export const certsFeature: Feature = {
  name: 'certs',
  start() {},
};
