import { LOG_LEVELS, type LogLevel } from '../../config/defaults.ts';
import type { Gateway } from '../../daemon/gateway.ts';
import { GATEWAY_TARGET } from '../admin/routes.ts';

/**
 * `POST /admin/log-level {level}` (operator): the runbook's "add to config: log_level: debug"
 * without a reload. The next reload (SIGHUP, `./cfs gateway reload`) sets the file's level again. Lives with drain because both
 * are the runbook's maintenance and emergency levers on a running gateway.
 */
export function registerLogLevelRoute(gw: Gateway): void {
  gw.admin.add(
    'POST',
    '/admin/log-level',
    'operator',
    'gateway.log-level',
    ({ body, caller }) => {
      const level = (body as { level?: unknown } | undefined)?.level;
      if (typeof level !== 'string' || !(LOG_LEVELS as readonly string[]).includes(level)) {
        return {
          status: 400,
          body: {
            error: `level must be one of ${LOG_LEVELS.join(', ')} (got ${JSON.stringify(level ?? null)})`,
          },
        };
      }
      const previous = gw.log.level;
      gw.log.level = level as LogLevel;
      // Logged at warn so the change shows whichever way the level went.
      gw.log.warn({ from: previous, to: level, actor: caller.actor }, `log level ${previous} -> ${level}`);
      return { body: { previous, level } };
    },
    GATEWAY_TARGET,
  );
}
