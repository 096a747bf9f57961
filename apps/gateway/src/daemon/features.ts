import { adminFeature } from '../ops/admin/feature.ts';
import { certsFeature } from '../ops/certs/feature.ts';
import { configFeature } from '../ops/config/feature.ts';
import { diagnosticsFeature } from '../ops/diagnostics/feature.ts';
import { drainFeature } from '../ops/drain/feature.ts';
import { identityFeature } from '../ops/identity/feature.ts';
import { metricsFeature } from '../ops/metrics/feature.ts';
import { nodesFeature } from '../ops/nodes/feature.ts';
import { quotaFeature } from '../ops/quota/feature.ts';
import { trpcFeature } from '../ops/trpc/feature.ts';
import type { Feature } from './feature.ts';

/** Started in this order, stopped in reverse. Metrics first: the others report through it. */
export const FEATURES: Feature[] = [
  metricsFeature,
  diagnosticsFeature,
  identityFeature,
  quotaFeature,
  certsFeature,
  drainFeature,
  configFeature,
  adminFeature,
  trpcFeature,
  // Last: registered once everything before it started; says `stopped` first when stopping.
  nodesFeature,
];
