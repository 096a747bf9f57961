/// <reference lib="dom" />
// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators, whose innerText() is the rendered text the user reads
import { deepEqual, equal, match, ok } from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Locator } from 'playwright-core';
import { type ConsoleFixture, SHOTS } from './fixture.ts';

const CAROL_PW = 'carol-Console-pw-1';
const CAROL_PW2 = 'carol-Console-pw-2';

interface ListedUser {
  name: string;
  uid: number;
  gid: number;
  groups: string[];
  role: string | null;
}

/**
 * Accounts as an operator keeps them from the console: a person's uid as NFS clients know it,
 * their groups (SMB shares' valid_groups), a password reset, and groups with their gids.
 */
export function usersTests(fx: ConsoleFixture): void {
  test('users: bad account input is named inline and sends nothing', async () => {
    const { page, base, trpcCalls } = fx;
    await page.goto(`${base}/users`);
    const form = page.locator('form[aria-label="Add user"]');
    await form.waitFor();
    await form.locator('input[name="name"]').fill('carol');
    await form.locator('input[name="uid"]').fill('21O1');
    await form.locator('input[name="groups"]').fill('eng, QA');
    await page.waitForTimeout(300);
    const sent = trpcCalls.filter((c) => c.startsWith('POST')).length;
    await form.getByRole('button', { name: 'Add user' }).click();
    match(await page.locator('#user-uid-error').innerText(), /uid: a whole number/);
    match(await page.locator('#user-groups-error').innerText(), /'QA' is not a group name/);
    equal(await page.locator('#user-uid').getAttribute('aria-invalid'), 'true');
    await page.waitForTimeout(300);
    equal(trpcCalls.filter((c) => c.startsWith('POST')).length, sent, 'no mutation was sent');
  });

  test('users: an account added with its uid and groups, its password set twice-typed; it signs in with the new one', async () => {
    const { page, base, browser, signIn, watch } = fx;
    await page.goto(`${base}/users`);
    const form = page.locator('form[aria-label="Add user"]');
    await form.locator('input[name="name"]').fill('carol');
    await form.locator('input[name="uid"]').fill('2101');
    await form.locator('input[name="groups"]').fill('eng, qa');
    await form.locator('#user-role').selectOption('viewer');
    await form.locator('input[name="password"]').fill(CAROL_PW);
    await form.getByRole('button', { name: 'Add user' }).click();
    await page.locator('[data-toast="success"]', { hasText: 'User carol added (uid 2101' }).waitFor();
    const row = page.locator('tr[data-user="carol"]');
    match(await row.innerText(), /2101:\d+\s+eng, qa\s/);

    // The control plane has what the form said (the CLI reads it).
    const carol = (JSON.parse(await fx.cfs('user', 'list', '--json')) as ListedUser[]).find(
      (u) => u.name === 'carol',
    );
    ok(carol, 'carol is listed by ./cfs user list');
    equal(carol.uid, 2101);
    deepEqual([...carol.groups].sort(), ['eng', 'qa']);
    equal(carol.role, 'viewer');

    // A role is granted only once confirmed, naming what it allows; cancelled, nothing changes.
    const roleOf = async () =>
      (JSON.parse(await fx.cfs('user', 'list', '--json')) as ListedUser[]).find((u) => u.name === 'carol')
        ?.role;
    await row.getByLabel('Console role of carol').selectOption('operator');
    const ask = page.getByRole('dialog', { name: 'Give carol the operator role?' });
    match(await ask.innerText(), /carol is viewer now\. An operator also drains/);
    await ask.getByRole('button', { name: 'Cancel' }).click();
    equal(await roleOf(), 'viewer');
    equal(await row.getByLabel('Console role of carol').inputValue(), 'viewer');
    await row.getByLabel('Console role of carol').selectOption('operator');
    await ask.getByRole('button', { name: 'Make operator' }).click();
    await page.locator('[data-toast="success"]', { hasText: 'carol is now operator' }).waitFor();
    equal(await roleOf(), 'operator');
    await row.getByLabel('Console role of carol').selectOption('viewer');
    await page
      .getByRole('dialog', { name: 'Give carol the viewer role?' })
      .getByRole('button', { name: 'Make viewer' })
      .click();
    await page.locator('[data-toast="success"]', { hasText: 'carol is now viewer' }).waitFor();

    // A password typed differently twice cannot be sent, nor one shorter than 8 characters.
    await row.getByRole('button', { name: 'Set password' }).click();
    const dialog = page.locator('dialog[open]');
    await dialog.getByLabel('New password').fill('short1');
    await dialog.getByLabel('Again').fill('short1');
    match(
      await dialog.locator('[role="alert"]').first().innerText(),
      /at least 8 characters \(this one has 6\)/,
    );
    ok(await dialog.getByRole('button', { name: 'Set password' }).isDisabled());
    await dialog.getByLabel('New password').fill(CAROL_PW2);
    await dialog.getByLabel('Again').fill(`${CAROL_PW2}x`);
    match(await dialog.locator('[role="alert"]').innerText(), /the two passwords differ/);
    ok(await dialog.getByRole('button', { name: 'Set password' }).isDisabled());
    await dialog.getByLabel('Again').fill(CAROL_PW2);
    await page.screenshot({ path: join(SHOTS, 'users-password.png') });
    await dialog.getByRole('button', { name: 'Set password' }).click();
    await page.locator('[data-toast="success"]', { hasText: 'Password of carol changed' }).waitFor();
    equal(await page.locator('dialog[open]').count(), 0, 'the dialog closed');

    const other = await browser.newContext({ viewport: { width: 1024, height: 800 } });
    const p = await other.newPage();
    watch(p);
    await signIn(p, 'carol', CAROL_PW2);
    equal(await p.getByTestId('whoami').innerText(), 'carol');
    await other.close();
    // The old password no longer signs in.
    const again = await browser.newContext({ viewport: { width: 1024, height: 800 } });
    // Not watched: Chromium logs the refused sign-in's 401 as a console error, as it should.
    const q = await again.newPage();
    await q.goto(`${base}/`);
    await q.locator('input[name="username"]').fill('carol');
    await q.locator('input[type="password"]').fill(CAROL_PW);
    await q.locator('input[type="password"]').press('Enter');
    match(await q.locator('form [role="alert"]').innerText(), /^Wrong user name or password/);
    await again.close();
  });

  test('users: a disabled account cannot sign in and its sessions end, its key reads so; a revoke asks first; enabled again it can sign in', async () => {
    const { page, base, browser, signIn } = fx;
    const carolCtx = await browser.newContext({ viewport: { width: 1024, height: 800 } });
    const carolPage = await carolCtx.newPage();
    await signIn(carolPage, 'carol', CAROL_PW2);

    await page.goto(`${base}/users`);
    const row = page.locator('tr[data-user="carol"]');
    await row.getByRole('button', { name: 'Disable' }).click();
    const dialog = page.locator('dialog[open]');
    match(await dialog.innerText(), /NFS \(AUTH_SYS\) carries uid 2101/);
    await dialog.getByRole('button', { name: 'Disable user' }).click();
    await page.locator('[data-toast="success"]', { hasText: 'User carol disabled.' }).waitFor();
    await row.getByRole('button', { name: 'Enable' }).waitFor();
    match(await row.innerText(), /disabled/);
    const own = page.locator('tr[data-user="alice"]');
    for (const control of [
      own.getByRole('button', { name: 'Disable' }),
      own.getByRole('button', { name: 'Remove', exact: true }),
      own.getByLabel('Console role of alice'),
    ]) {
      ok(
        await control.isDisabled(),
        'an admin cannot disable, remove or demote the account they are signed in with',
      );
    }

    // carol's open session ended: her next page load is the sign-in form.
    await carolPage.goto(`${base}/`);
    await carolPage.locator('input[name="username"]').waitFor();
    await carolPage.locator('input[name="username"]').fill('carol');
    await carolPage.locator('input[type="password"]').fill(CAROL_PW2);
    await carolPage.locator('input[type="password"]').press('Enter');
    match(await carolPage.locator('form [role="alert"]').innerText(), /^Wrong user name or password/);

    // carol's S3 key says why S3 refuses it, though it is still active.
    const key = JSON.parse(await fx.cfs('user', 'key', 'create', 'carol', '--json')) as {
      AccessKeyId: string;
    };
    await page.reload();
    const keyRow = page.locator('tr', { hasText: key.AccessKeyId });
    match(await keyRow.innerText(), /active \(user disabled\)/);

    // Revoking a key asks first, saying what it cuts off; cancelled, nothing changes.
    await keyRow.getByRole('button', { name: `Revoke ${key.AccessKeyId}` }).click();
    const revoke = page.getByRole('dialog', { name: `Revoke key ${key.AccessKeyId}?` });
    match(await revoke.innerText(), /Every S3 client signing with it is refused/);
    await revoke.getByRole('button', { name: 'Cancel' }).click();
    match(await fx.cfs('user', 'key', 'list', 'carol'), new RegExp(`${key.AccessKeyId} +carol +active`));
    await keyRow.getByRole('button', { name: `Revoke ${key.AccessKeyId}` }).click();
    await revoke.getByRole('button', { name: 'Revoke key' }).click();
    await page.locator('[data-toast="success"]', { hasText: `Key ${key.AccessKeyId} revoked.` }).waitFor();
    match(await fx.cfs('user', 'key', 'list', 'carol'), new RegExp(`${key.AccessKeyId} +carol +inactive`));

    await row.getByRole('button', { name: 'Enable' }).click();
    await page.locator('[data-toast="success"]', { hasText: 'User carol enabled.' }).waitFor();
    await signIn(carolPage, 'carol', CAROL_PW2);
    equal(await carolPage.getByTestId('whoami').innerText(), 'carol');
    await carolCtx.close();
  });

  test('users: groups listed with gid and members; one added with its gid and removed; a primary group cannot be', async () => {
    const { page, base } = fx;
    await page.goto(`${base}/users`);
    const members = (row: Locator) =>
      row.locator('[data-member]').evaluateAll((els) => els.map((e) => e.getAttribute('data-member')));
    const eng = page.locator('tr[data-group="eng"]');
    await eng.waitFor();
    deepEqual(await members(eng), ['carol']);
    const own = page.locator('tr[data-group="carol"]');
    deepEqual(await members(own), ['carol']);
    equal(await own.locator('[data-member="carol"]').innerText(), 'carol (primary)');
    equal(
      await own.getByRole('button', { name: 'Remove carol from carol' }).count(),
      0,
      'no way out of a primary group here',
    );
    ok(
      await own.getByRole('button', { name: 'Remove', exact: true }).isDisabled(),
      'a primary group cannot be removed',
    );

    // Membership: out with ×, back in from the list; the CLI sees each change.
    await eng.getByRole('button', { name: 'Remove carol from eng' }).click();
    await page.locator('[data-toast="success"]', { hasText: 'carol removed from group eng' }).waitFor();
    await eng.locator('[data-member="carol"]').waitFor({ state: 'detached' });
    match(await fx.cfs('group', 'show', 'eng'), /^eng:x:2102:\n/);
    match(await page.locator('tr[data-user="carol"]').innerText(), /2101:2101\s+qa\s/);
    await eng.getByLabel('User to add to eng').selectOption('carol');
    await eng.getByRole('button', { name: 'Add', exact: true }).click();
    await eng.locator('[data-member="carol"]').waitFor();
    match(await fx.cfs('group', 'show', 'eng'), /^eng:x:2102:carol\n/);

    const form = page.locator('form[aria-label="Add group"]');
    await form.locator('input[name="group-name"]').fill('backup');
    await form.locator('input[name="group-gid"]').fill('3101');
    await form.getByRole('button', { name: 'Add group' }).click();
    const backup = page.locator('tr[data-group="backup"]');
    await backup.waitFor();
    match(await backup.innerText(), /^backup\s+3101\s/);
    deepEqual(await members(backup), []);
    match(await fx.cfs('group', 'show', 'backup'), /^backup:x:3101:/);
    await page.screenshot({ path: join(SHOTS, 'users-groups.png'), fullPage: true });

    await backup.getByRole('button', { name: 'Remove', exact: true }).click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Remove group' }).click();
    await page.locator('[data-toast="success"]', { hasText: 'Group backup removed' }).waitFor();
    await backup.waitFor({ state: 'detached' });
    equal((await fx.cfs('group', 'list')).includes('backup'), false);
  });
}
