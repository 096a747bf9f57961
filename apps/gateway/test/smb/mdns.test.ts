import { equal, match, ok } from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type ProcessHandle, runCommand, spawnProcess } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools, toolPath } from '../support/tools.ts';
import { reloadWith, type SmbGateway, startSmbGateway } from './fixture.ts';

/**
 * Bonjour (`smb.mdns: true`) as a Mac's browser sees it, through Avahi: avahi-daemon on a
 * private D-Bus, listening on this machine's first multicast interface, and avahi-browse
 * resolving what the gateway announces. Both are started here and stopped by PID.
 */
const iface = Object.entries(networkInterfaces()).find(([, addrs]) =>
  addrs?.some((a) => a.family === 'IPv4' && !a.internal),
)?.[0];

function skipUnlessPossible(): { skip?: string } {
  const tools = requireTools('avahi-daemon', 'avahi-browse', 'dbus-daemon');
  if (tools.skip) return tools;
  if (process.getuid?.() !== 0) return { skip: 'avahi-daemon runs as root here' };
  if (!iface) return { skip: 'no IPv4 interface besides loopback to multicast on' };
  return {};
}

describe(
  'Bonjour: the gateway and its Time Machine shares as Macs discover them (avahi-browse)',
  skipUnlessPossible(),
  () => {
    let g: SmbGateway | undefined;
    let dbus: ProcessHandle | undefined;
    let avahi: ProcessHandle | undefined;
    let env: NodeJS.ProcessEnv;

    before(async () => {
      const dir = makeTempDir('mdns');
      const bus = join(dir, 'bus.sock');
      writeFileSync(
        join(dir, 'bus.conf'),
        `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=${bus}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/>
<allow send_type="method_call"/><allow send_type="signal"/><allow send_type="method_return"/><allow send_type="error"/>
<allow receive_type="method_call"/><allow receive_type="signal"/><allow receive_type="method_return"/><allow receive_type="error"/>
</policy></busconfig>
`,
      );
      writeFileSync(
        join(dir, 'avahi.conf'),
        `[server]\nuse-ipv4=yes\nuse-ipv6=no\nallow-interfaces=${iface}\nratelimit-burst=1000\n[publish]\npublish-hinfo=no\npublish-workstation=no\n`,
      );
      env = { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${bus}` };
      dbus = spawnProcess(toolPath('dbus-daemon')!, [
        `--config-file=${join(dir, 'bus.conf')}`,
        '--nofork',
        '--print-address',
      ]);
      await dbus.waitForLine(/unix:path=/, 10_000, 'stdout');
      avahi = spawnProcess(
        toolPath('avahi-daemon')!,
        ['--no-drop-root', '--no-chroot', '--no-rlimits', '-f', join(dir, 'avahi.conf')],
        { env },
      );
      await avahi.waitForLine(/Server startup complete/, 20_000);
      g = await startSmbGateway({
        smbExtra: 'mdns: true',
        shares: ['{ name: tm, path: /tm, apple_extensions: true, time_machine: true }'],
      });
    });
    after(async () => {
      await g?.stop();
      await avahi?.stop();
      await dbus?.stop();
    });

    /** `avahi-browse -rtp TYPE`: resolved entries (lines starting "=") of the gateway's name. */
    const browse = async (type: string) => {
      for (let i = 0; ; i++) {
        const r = await runCommand(toolPath('avahi-browse')!, ['-r', '-t', '-p', type], {
          env,
          timeoutMs: 30_000,
        });
        equal(r.code, 0, r.output);
        const lines = r.stdout.split('\n').filter((l) => l.startsWith('=') && l.includes(';gw-smb;'));
        if (lines.length > 0 || i === 10) return lines;
        await new Promise((res) => setTimeout(res, 500));
      }
    };

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
      const r = await runCommand(toolPath('avahi-browse')!, ['-t', '-p', '_adisk._tcp'], {
        env,
        timeoutMs: 30_000,
      });
      equal(r.stdout.split('\n').filter((l) => l.includes(';gw-smb;')).length, 0, r.stdout);
      ok((await browse('_smb._tcp')).length > 0, 'the SMB service is still announced');
      await reloadWith(g!, original);
      match((await browse('_adisk._tcp'))[0] ?? '', /"dk0=adVN=tm,adVF=0x82"/);
    });

    test('4 a stop says goodbye: the entries are gone at once, not when their TTL runs out', async () => {
      await g!.stop();
      g = undefined;
      await new Promise((res) => setTimeout(res, 1000));
      const r = await runCommand(toolPath('avahi-browse')!, ['-t', '-p', '_smb._tcp'], {
        env,
        timeoutMs: 30_000,
      });
      equal(r.code, 0, r.output);
      equal(r.stdout.split('\n').filter((l) => l.includes(';gw-smb;')).length, 0, r.stdout);
    });
  },
);
