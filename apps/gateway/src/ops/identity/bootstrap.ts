import { randomBytes } from 'node:crypto';
import { ControlError } from '../../control/errors.ts';
import type { ControlPlane } from '../../control/index.ts';
import { StartError } from '../../daemon/start-error.ts';

export const BOOTSTRAP_ADMIN = 'admin';

/**
 * uid of the bootstrap console account: below useradd's UID_MIN (1000), like a service
 * account, so the first operator-created user still gets 1000 — the runbook's uid.
 */
export const BOOTSTRAP_ADMIN_UID = 999;

export interface BootstrapOptions {
  /** CFS_ADMIN_PASSWORD: used as the password and not printed. */
  password?: string;
  /** Where the generated password is printed, once: the gateway's stdout. */
  print(line: string): void;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

export type BootstrapResult = 'created' | 'exists' | 'skipped';

/**
 * A fresh install has nobody to sign in to the console: when no user has role admin, creates
 * `admin` (role admin) with a random password printed once. Nothing happens once an admin
 * exists, so a restart prints nothing.
 */
export async function ensureAdminAccount(
  control: ControlPlane,
  o: BootstrapOptions,
): Promise<BootstrapResult> {
  const users = await control.users.list();
  if (users.some((u) => u.role === 'admin')) return 'exists';
  if (users.some((u) => u.name === BOOTSTRAP_ADMIN)) {
    // Never take over an existing account's password or role.
    o.log.warn(
      { user: BOOTSTRAP_ADMIN },
      `no console admin exists and user ${BOOTSTRAP_ADMIN} is not one; make one with ./cfs user add NAME --role admin --password-stdin`,
    );
    return 'skipped';
  }
  const generated = o.password === undefined;
  const password = o.password ?? randomBytes(18).toString('base64url');
  const uidFree = !users.some((u) => u.uid === BOOTSTRAP_ADMIN_UID);
  try {
    await control.users.add({
      name: BOOTSTRAP_ADMIN,
      ...(uidFree ? { uid: BOOTSTRAP_ADMIN_UID } : {}),
      role: 'admin',
      password,
    });
  } catch (e) {
    // Another node sharing this control plane created it at the same moment: it printed it.
    if (e instanceof ControlError && e.code === 'EXISTS') return 'exists';
    // A CFS_ADMIN_PASSWORD the password rules refuse (too short): the operator's to fix.
    if (e instanceof ControlError && e.code === 'INVALID' && !generated) {
      throw new StartError(`CFS_ADMIN_PASSWORD: ${e.message}; no console admin was created`);
    }
    throw e;
  }
  await control.audit.record({
    actor: 'gateway',
    action: 'user.add',
    target: `user:${BOOTSTRAP_ADMIN}`,
    outcome: 'ok',
    detail: {
      role: 'admin',
      bootstrap: true,
      credentialSource: generated ? 'generated' : 'CFS_ADMIN_PASSWORD',
    },
  });
  o.log.info(
    { user: BOOTSTRAP_ADMIN, role: 'admin' },
    generated
      ? `console account ${BOOTSTRAP_ADMIN} created; its password is printed once, below`
      : `console account ${BOOTSTRAP_ADMIN} created with the password from CFS_ADMIN_PASSWORD`,
  );
  if (generated) {
    o.print(
      `Console admin account created: user ${BOOTSTRAP_ADMIN}, password ${password}\n` +
        `This password is shown only now. Change it with: ./cfs user passwd ${BOOTSTRAP_ADMIN}\n`,
    );
  }
  return 'created';
}
