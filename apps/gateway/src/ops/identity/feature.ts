import type { Feature } from '../../daemon/feature.ts';
import { ensureAdminAccount } from './bootstrap.ts';
import { invalidateCredentials } from './credentials.ts';

export interface IdentityFeatureOptions {
  /** Default: process.env (CFS_ADMIN_PASSWORD). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Where the admin account's banner is printed. Default: stdout. */
  print?(text: string): void;
  /** Whether that is a terminal, where the password itself is shown. Default: stdout's isTTY. */
  terminal?: boolean;
}

/**
 * Identity at start: the console admin account on a fresh install. Credential lookups for the
 * protocols are `resolveUserCredential` (credentials.ts), which needs no start-up work.
 */
export function createIdentityFeature(o: IdentityFeatureOptions = {}): Feature {
  return {
    name: 'identity',
    async start(gw) {
      const env = o.env ?? process.env;
      const password = env.CFS_ADMIN_PASSWORD;
      await ensureAdminAccount(gw.control, {
        password: password === undefined || password === '' ? undefined : password,
        print: o.print ?? ((text) => process.stdout.write(text)),
        stateDir: gw.config.stateDir,
        terminal: o.terminal ?? process.stdout.isTTY === true,
        log: gw.log.child({ feature: 'identity' }),
      });
    },
    stop(gw) {
      invalidateCredentials(gw);
    },
  };
}

export const identityFeature: Feature = createIdentityFeature();
