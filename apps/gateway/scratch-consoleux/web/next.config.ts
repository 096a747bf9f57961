import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NextConfig } from 'next';

const here = dirname(fileURLToPath(import.meta.url));

const nextConfig: NextConfig = {
  // Workspace packages ship TypeScript sources, not builds.
  transpilePackages: ['@claudefs/ui', '@claudefs/api'],
  // The monorepo root holds the lockfile and the hoisted node_modules.
  turbopack: { root: resolve(here, '../..') },
  poweredByHeader: false,
};

export default nextConfig;
