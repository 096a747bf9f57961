/** The configuration contract: what the rest of the gateway imports. */
export type { ListenAddress } from './address.ts';
export { DEFAULTS, LOG_LEVELS, PROTOCOLS } from './defaults.ts';
export { configuredListeners, type Listener } from './listeners.ts';
export { type LoadOptions, type LoadResult, loadConfig } from './load.ts';
export { locateConfig } from './locate.ts';
export { formatMode } from './mode.ts';
export { applyOverrides, type OverrideFlags, type OverrideResult } from './overrides.ts';
export { COMMAND_LINE, ConfigError, formatProblem, hasErrors, type Problem } from './problems.ts';
export { checkTlsPair, type TlsFinding } from './tls-check.ts';
export type {
  ClientMatch,
  GatewayConfig,
  LogLevel,
  MetadataBackend,
  NfsExport,
  Protocol,
  ServedDirectory,
  SmbShare,
  TransportBackend,
} from './types.ts';
