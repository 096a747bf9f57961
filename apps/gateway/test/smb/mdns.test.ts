import { equal, match, ok } from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { type Avahi, avahiSkip, startAvahi } from './avahi.ts';
import { reloadWith, type SmbGateway, startSmbGateway } from './fixture.ts';

/**
 * Bonjour (`smb.mdns: true`) as a Mac's browser sees it, through Avahi (avahi.ts) listening on
 * this machine's first multicast interface, and avahi-browse resolving what the gateway
 * announces.
 */
const iface = Object.entries(networkInterfaces()).find(([, addrs]) =>
  addrs?.some((a) => a.family === 'IPv4' && !a.internal),
)?.[0];

function skipUnlessPossible(): { skip?: string } {
  const avahi = avahiSkip();
  if (avahi.skip) return avahi;
  if (!iface) return { skip: 'no IPv4 interface besides loopback to multicast on' };
  return {};
}

describe(
  'Bonjour: the gateway and its Time Machine shares as Macs discover them (avahi-browse)',
  skipUnlessPossible(),
  () => {
    let g: SmbGateway | undefined;
    let avahi: Avahi | undefined;

    before(async () => {
      avahi = await startAvahi(iface!);
      g = await startSmbGateway({
        smbExtra: 'mdns: true',
        shares: ['{ name: tm, path: /tm, apple_extensions: true, time_machine: true }'],
      });
    });
    after(async () => {
      await g?.stop();
      await avahi?.stop();
    });

    const browse = (type: string) => avahi!.browse(type, 'gw-smb');

    test('1 _smb._tcp names the gateway (node.name) and its SMB port; _device-info gives Finder its icon', async () => {
      const smb = await browse('_smb._tcp');
      ok(smb.length > 0, 'the gateway is not listed');
      match(smb[0]!, new RegExp(`;${g!.port};`));
      match((await browse('_device-info._tcp'))[0] ?? '', /"model=RackMac"/);
    });

    test("2 _adisk._tcp offers each Time Machine share to Time Machine (Samba's TXT flags)", async () => {
      const adisk = await browse('_adisk._tcp');
      ok(adisk.length > 0, 'no Time Machine record');
      match(adisk[0]!, /"dk0=adVN=tm,adVF=0x82"/);
      match(adisk[0]!, /"sys=waMa=0,adVF=0x100"/);
    });

    test('3 a reload announces what changed: a share that stops being a Time Machine disk leaves the list', async () => {
      const original = readFileSync(g!.configFile, 'utf8');
      await reloadWith(g!, original.replace('time_machine: true', 'time_machine: false'));
      await new Promise((res) => setTimeout(res, 1000));
      const left = await avahi!.seen('_adisk._tcp', 'gw-smb');
      equal(left.length, 0, left.join('\n'));
      ok((await browse('_smb._tcp')).length > 0, 'the SMB service is still announced');
      await reloadWith(g!, original);
      match((await browse('_adisk._tcp'))[0] ?? '', /"dk0=adVN=tm,adVF=0x82"/);
    });

    test('4 a stop says goodbye: the entries are gone at once, not when their TTL runs out', async () => {
      await g!.stop();
      g = undefined;
      await new Promise((res) => setTimeout(res, 1000));
      const left = await avahi!.seen('_smb._tcp', 'gw-smb');
      equal(left.length, 0, left.join('\n'));
    });
  },
);
