import { deepEqual, equal, ok } from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { mdnsNetworks } from '../../src/protocols/smb/mdns.ts';
import { capturedLog } from '../support/log.ts';
import { freePort } from '../support/ports.ts';
import { type Avahi, avahiSkip, startAvahi } from './avahi.ts';
import { type SmbGateway, startSmbGateway } from './fixture.ts';

/**
 * Bonjour on a server with two networks: a second one made here (a veth pair, the far end in a
 * network namespace of its own, as another LAN's Mac would be), with avahi-daemon listening
 * there only. The gateway answers on every network, from it and with its address there, where
 * one responder would speak on the default network only. Torn down after.
 */
const NETNS = `cfs-mdns-${process.pid}`;
const NEAR = `cfsm${process.pid % 100_000}a`;
const FAR = `cfsm${process.pid % 100_000}b`;
const NEAR_ADDRESS = '198.51.100.1';
const FAR_ADDRESS = '198.51.100.2';

const ip = (...args: string[]) => spawnSync('ip', args, { encoding: 'utf8' });

function skipUnlessPossible(): { skip?: string } {
  const avahi = avahiSkip();
  if (avahi.skip) return avahi;
  if (ip('netns', 'list').status !== 0) return { skip: 'no `ip netns` here' };
  return {};
}

function run(...args: string[]): void {
  const r = ip(...args);
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

describe(
  'Bonjour on a second network: a Mac there finds the gateway at its address there',
  skipUnlessPossible(),
  () => {
    let g: SmbGateway | undefined;
    let avahi: Avahi | undefined;
    const log = capturedLog();

    before(async () => {
      run('netns', 'add', NETNS);
      run('link', 'add', NEAR, 'type', 'veth', 'peer', 'name', FAR);
      run('link', 'set', FAR, 'netns', NETNS);
      run('addr', 'add', `${NEAR_ADDRESS}/24`, 'dev', NEAR);
      run('link', 'set', NEAR, 'up');
      run('netns', 'exec', NETNS, 'ip', 'addr', 'add', `${FAR_ADDRESS}/24`, 'dev', FAR);
      run('netns', 'exec', NETNS, 'ip', 'link', 'set', FAR, 'up');
      run('netns', 'exec', NETNS, 'ip', 'link', 'set', 'lo', 'up');
      avahi = await startAvahi(FAR, NETNS);
      g = await startSmbGateway({
        smbExtra: 'mdns: true',
        nodeName: 'gw-two-networks',
        smbBind: `0.0.0.0:${await freePort()}`,
        log: log.log,
        logLevel: 'info',
      });
    });
    after(async () => {
      await g?.stop();
      await avahi?.stop();
      ip('link', 'del', NEAR);
      ip('netns', 'del', NETNS);
    });

    test('1 _smb._tcp resolves there to the gateway at its address on that network', async () => {
      const smb = await avahi!.browse('_smb._tcp', 'gw-two-networks');
      ok(smb.length > 0, 'the gateway is not listed on the second network');
      // =;interface;protocol;name;type;domain;host;address;port;txt
      const fields = smb[0]!.split(';');
      // The gateway answers A and AAAA for what it holds on that network; avahi-browse shows
      // whichever it resolved first: NEAR_ADDRESS, or the link-local IPv6 the kernel gave NEAR.
      const near = [
        NEAR_ADDRESS,
        ...[...ip('-6', 'addr', 'show', 'dev', NEAR).stdout.matchAll(/inet6 ([^/\s]+)/g)].map((m) => m[1]),
      ];
      ok(near.includes(fields[7] ?? ''), `${smb[0]} (the addresses on ${NEAR}: ${near.join(', ')})`);
      equal(fields[8], String(g!.port));
      ok(log.logged(`${NEAR} (${NEAR_ADDRESS})`), log.lines.filter((l) => l.includes('mDNS')).join('\n'));
    });
  },
);

test('2 the networks answered on: every interface with IPv4 on a wildcard listener, the one holding the address otherwise, none on loopback', () => {
  const v4 = (address: string, internal = false) =>
    ({
      address,
      family: 'IPv4',
      internal,
      netmask: '255.255.255.0',
      mac: '02:00:00:00:00:01',
      cidr: null,
    }) as const;
  const v6 = (address: string) =>
    ({
      address,
      family: 'IPv6',
      internal: false,
      netmask: 'ffff::',
      mac: '02:00:00:00:00:01',
      cidr: null,
      scopeid: 0,
    }) as const;
  const interfaces = {
    lo: [v4('127.0.0.1', true)],
    eth0: [v4('192.0.2.2'), v6('fd00::2')],
    eth1: [v6('fe80::1'), v4('198.51.100.1')],
    wg0: [v6('fd01::1')],
  };
  const names = (host: string) => mdnsNetworks(host, interfaces).map((n) => `${n.name}=${n.address}`);
  deepEqual(names('0.0.0.0'), ['eth0=192.0.2.2', 'eth1=198.51.100.1']);
  deepEqual(names('::'), ['eth0=192.0.2.2', 'eth1=198.51.100.1']);
  deepEqual(names('198.51.100.1'), ['eth1=198.51.100.1']);
  deepEqual(names('fd00::2'), ['eth0=192.0.2.2']);
  deepEqual(names('127.0.0.1'), []);
  deepEqual(mdnsNetworks('0.0.0.0', interfaces)[0]!.addresses, ['192.0.2.2', 'fd00::2']);
});
