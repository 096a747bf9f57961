import { equal } from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ProcessHandle, runCommand, spawnProcess } from '../support/proc.ts';
import { makeTempDir } from '../support/tmpdir.ts';
import { requireTools, toolPath } from '../support/tools.ts';

/**
 * A Mac's view of Bonjour, through Avahi: avahi-daemon on a private D-Bus, listening on one
 * interface (inside a network namespace when given one: another network than the gateway's
 * default one), and avahi-browse resolving what it hears. Stopped by PID.
 */
export interface Avahi {
  /** `avahi-browse -rtp TYPE`: resolved entries (lines starting "=") of `name`, retried a while. */
  browse(type: string, name: string): Promise<string[]>;
  /** `avahi-browse -tp TYPE` once: the entries (resolved or not) of `name` seen now. */
  seen(type: string, name: string): Promise<string[]>;
  stop(): Promise<void>;
}

export function avahiSkip(): { skip?: string } {
  const tools = requireTools('avahi-daemon', 'avahi-browse', 'dbus-daemon', 'unshare');
  if (tools.skip) return tools;
  if (process.getuid?.() !== 0) return { skip: 'avahi-daemon runs as root here' };
  return {};
}

export async function startAvahi(iface: string, netns?: string): Promise<Avahi> {
  const dir = makeTempDir('avahi');
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
  const env = { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${bus}` };
  const dbus = spawnProcess(toolPath('dbus-daemon')!, [
    `--config-file=${join(dir, 'bus.conf')}`,
    '--nofork',
    '--print-address',
  ]);
  let avahi: ProcessHandle | undefined;
  try {
    await dbus.waitForLine(/unix:path=/, 10_000, 'stdout');
    // avahi-daemon keeps its PID file and socket in /run/avahi-daemon and refuses to start
    // (exit 255, nothing printed) while another one's PID file is there: each test's daemon gets
    // a directory of its own there, in a mount namespace of its own, so test files that run at
    // the same time do not collide.
    const run = join(dir, 'run');
    mkdirSync(run);
    const daemon = [
      toolPath('unshare')!,
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mkdir -p /run/avahi-daemon && mount --bind "$0" /run/avahi-daemon && exec "$@"',
      run,
      toolPath('avahi-daemon')!,
      '--no-drop-root',
      '--no-chroot',
      '--no-rlimits',
      '-f',
      join(dir, 'avahi.conf'),
    ];
    // The D-Bus socket is a path: avahi-browse reaches a daemon in another namespace through it.
    avahi = netns
      ? spawnProcess('ip', ['netns', 'exec', netns, ...daemon], { env })
      : spawnProcess(daemon[0]!, daemon.slice(1), { env });
    await avahi.waitForLine(/Server startup complete/, 20_000);
  } catch (e) {
    await avahi?.stop();
    await dbus.stop();
    throw e;
  }
  const list = async (args: string[], type: string, name: string, prefix: string) => {
    const r = await runCommand(toolPath('avahi-browse')!, [...args, type], { env, timeoutMs: 30_000 });
    equal(r.code, 0, r.output);
    return r.stdout.split('\n').filter((l) => l.startsWith(prefix) && l.includes(`;${name};`));
  };
  return {
    async browse(type, name) {
      for (let i = 0; ; i++) {
        const lines = await list(['-r', '-t', '-p'], type, name, '=');
        if (lines.length > 0 || i === 10) return lines;
        await new Promise((res) => setTimeout(res, 500));
      }
    },
    seen: (type, name) => list(['-t', '-p'], type, name, ''),
    async stop() {
      await avahi?.stop();
      await dbus.stop();
    },
  };
}
