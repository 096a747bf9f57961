import type { Gateway } from './gateway.ts';

/**
 * A part of the ops plane (metrics, quotas, admin API, drain, certificates): started after the
 * stores and before the listeners, so it can add routes, health checks and request
 * observers; stopped after the protocol servers.
 */
export interface Feature {
  name: string;
  start(gw: Gateway): void | Promise<void>;
  stop?(gw: Gateway): void | Promise<void>;
  /** SIGHUP: the freshly loaded configuration is already in gw.config. */
  reload?(gw: Gateway): void | Promise<void>;
}
