import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULTS } from './defaults.ts';
import { ConfigError } from './problems.ts';

/**
 * The configuration file to use, as an absolute path: `--config`, else `$CFS_CONFIG`, else
 * /etc/claudefs/gateway.yaml. A place that is named but missing is an error rather than a
 * reason to fall through, so a typo in --config never silently loads another file.
 */
export function locateConfig(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.CFS_CONFIG;
  if (explicit !== undefined && explicit !== '') {
    const file = resolve(explicit);
    if (!existsSync(file)) throw new ConfigError(`configuration file ${file} (from --config) does not exist`);
    return file;
  }
  if (fromEnv !== undefined && fromEnv !== '') {
    const file = resolve(fromEnv);
    if (!existsSync(file)) {
      throw new ConfigError(`configuration file ${file} (from $CFS_CONFIG) does not exist`);
    }
    return file;
  }
  if (existsSync(DEFAULTS.configFile)) return DEFAULTS.configFile;
  throw new ConfigError(
    `no configuration file: --config was not given, $CFS_CONFIG is not set, and ${DEFAULTS.configFile} does not exist`,
  );
}
