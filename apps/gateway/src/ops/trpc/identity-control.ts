import type { GatewayControl } from '@claudefs/api';
import { groupView, keyView, userView } from '../../control/views.ts';
import type { Gateway } from '../../daemon/gateway.ts';
import { invalidateCredentials } from '../identity/credentials.ts';

type IdentityControl = Pick<
  GatewayControl,
  | 'listUsers'
  | 'addUser'
  | 'removeUser'
  | 'setUserPassword'
  | 'setUserRole'
  | 'setUserDisabled'
  | 'listGroups'
  | 'addGroup'
  | 'removeGroup'
  | 'addGroupMember'
  | 'removeGroupMember'
  | 'listKeys'
  | 'createKey'
  | 'revokeKey'
>;

/**
 * Users, groups and S3 keys through the control plane, as `./cfs user|group` edit them. Every
 * change drops the protocols' cached credentials it affects, so it applies at once rather
 * than after the credential cache's TTL.
 */
export function identityControl(gw: Gateway): IdentityControl {
  const { users, groups, s3Keys } = gw.control;
  const mustGetUser = async (name: string) => {
    const u = await users.get(name);
    if (!u) throw new Error(`user ${name} vanished while being changed`);
    return userView(u);
  };
  const mustGetGroup = async (name: string) => {
    const g = await groups.get(name);
    if (!g) throw new Error(`group ${name} vanished while being changed`);
    return g;
  };
  return {
    listUsers: async () => (await users.list()).map(userView),
    async addUser(input) {
      const created = await users.add(input);
      invalidateCredentials(gw, created.name);
      return userView(created);
    },
    async removeUser(name) {
      await users.remove(name);
      // Its S3 keys went with it, and they are cached by access key id.
      invalidateCredentials(gw);
    },
    async setUserPassword(name, password, keepSession) {
      await users.setPassword(name, password);
      await gw.control.sessions.revokeUser(name, keepSession);
      invalidateCredentials(gw, name);
    },
    async setUserDisabled(name, disabled) {
      await users.setDisabled(name, disabled);
      if (disabled) await gw.control.sessions.revokeUser(name);
      // Its S3 keys are cached by access key id: drop them all.
      invalidateCredentials(gw);
      return mustGetUser(name);
    },
    async setUserRole(name, role) {
      await users.setRole(name, role);
      return mustGetUser(name);
    },
    async listGroups() {
      const all = await groups.list();
      return Promise.all(all.map(async (g) => groupView(g, await groups.members(g.name))));
    },
    async addGroup(input) {
      const g = await groups.add(input);
      return groupView(g, await groups.members(g.name));
    },
    async removeGroup(name) {
      await groups.remove(name);
      invalidateCredentials(gw);
    },
    async addGroupMember(group, user) {
      await users.addToGroup(user, group);
      invalidateCredentials(gw, user);
      return groupView(await mustGetGroup(group), await groups.members(group));
    },
    async removeGroupMember(group, user) {
      await users.removeFromGroup(user, group);
      invalidateCredentials(gw, user);
      return groupView(await mustGetGroup(group), await groups.members(group));
    },
    listKeys: async (user) => (await s3Keys.list(user)).map(keyView),
    async createKey(user) {
      const { secret, ...record } = await s3Keys.create(user);
      return { ...keyView(record), secret };
    },
    async revokeKey(accessKeyId) {
      await s3Keys.revoke(accessKeyId);
      invalidateCredentials(gw, accessKeyId);
      const revoked = (await s3Keys.list()).find((k) => k.accessKeyId === accessKeyId);
      if (!revoked) throw new Error(`access key ${accessKeyId} vanished while being revoked`);
      return keyView(revoked);
    },
  };
}
