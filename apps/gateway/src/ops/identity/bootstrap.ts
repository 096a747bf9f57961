import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ControlError } from '../../control/errors.ts';
import type { ControlPlane } from '../../control/index.ts';
import { StartError } from '../../daemon/start-error.ts';

export const BOOTSTRAP_ADMIN = 'admin';

/**
 * uid of the bootstrap console account: below useradd's UID_MIN (1000), like a service
 * account, so the first operator-created user still gets 1000 — the runbook's uid.
 */
export const BOOTSTRAP_ADMIN_UID = 999;

/** Where a generated admin password is kept, readable by its owner only, in the state folder. */
export const INITIAL_PASSWORD_FILE = 'initial-admin-password';

export interface BootstrapOptions {
  /** CFS_ADMIN_PASSWORD: used as the password and not printed. */
  password?: string;
  /** Where the banner is printed, once: the gateway's stdout. */
  print(line: string): void;
  /**
   * A generated password is written to INITIAL_PASSWORD_FILE here (mode 0600), and printed
   * only when `terminal` says stdout is one: a service's stdout is its journal, which keeps
   * what it is given and is read by more people than root.
   */
  stateDir?: string;
  terminal?: boolean;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

export type BootstrapResult = 'created' | 'exists' | 'skipped';

/**
 * A fresh install has nobody to sign in to the console: when no user has role admin, creates
 * `admin` (role admin) with a random password, kept in the state folder's
 * `initial-admin-password` and printed once to a terminal. Nothing happens once an admin
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
  const file = generated && o.stateDir !== undefined ? join(o.stateDir, INITIAL_PASSWORD_FILE) : undefined;
  if (file) writeFileSync(file, `${password}\n`, { mode: 0o600 });
  const shown = generated && (o.terminal === true || file === undefined);
  o.log.info(
    { user: BOOTSTRAP_ADMIN, role: 'admin' },
    !generated
      ? `console account ${BOOTSTRAP_ADMIN} created with the password from CFS_ADMIN_PASSWORD`
      : file
        ? `console account ${BOOTSTRAP_ADMIN} created; its password is in ${file}`
        : `console account ${BOOTSTRAP_ADMIN} created; its password is printed once, below`,
  );
  if (shown) {
    o.print(
      `Console admin account created: user ${BOOTSTRAP_ADMIN}, password ${password}\n` +
        `This password is shown only now. Change it with: ./cfs user passwd ${BOOTSTRAP_ADMIN}\n`,
    );
  } else if (file) {
    o.print(
      `Console admin account created: user ${BOOTSTRAP_ADMIN}; its password is in ${file} (readable by its owner only)\n` +
        `Change it with: ./cfs user passwd ${BOOTSTRAP_ADMIN}, then delete that file.\n`,
    );
  }
  return 'created';
}
