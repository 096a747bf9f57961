import { Bonjour, type Service } from 'bonjour-service';
import type { GatewayConfig } from '../../config/types.ts';
import type { Logger } from '../../daemon/logger.ts';

/**
 * Bonjour (multicast DNS, RFC 6762/6763) with `smb.mdns: true`, as Samba registers with Avahi:
 * Finder's sidebar lists the gateway (`_smb._tcp` on the SMB port, `_device-info._tcp` for its
 * icon), and Time Machine's disk list offers each `time_machine` share (`_adisk._tcp`, one
 * `dkN=adVN=<share>,adVF=0x82` TXT entry per share, Samba's flags). The service name is the
 * node's name. A reload publishes again what changed; a stop says goodbye (TTL 0), so Macs drop
 * the entries at once.
 */
const DEVICE_MODEL = 'RackMac';
const ADISK_SYSTEM = 'waMa=0,adVF=0x100';
const ADISK_SHARE = 'adVF=0x82';

export class SmbAdvertiser {
  private bonjour: Bonjour | undefined;
  private published: Service[] = [];
  private shown = '';

  constructor(private readonly log: Logger) {}

  /**
   * Publishes what `config` says, or nothing when smb.mdns is off; unchanged, it does nothing.
   * A failure is logged and never stops the SMB server.
   */
  async update(config: GatewayConfig): Promise<void> {
    try {
      await this.publish(config);
    } catch (err) {
      this.log.warn({ err }, 'mDNS: advertising failed; Macs will not find the gateway by name');
    }
  }

  private async publish(config: GatewayConfig): Promise<void> {
    const want = config.smb.mdns ? this.describe(config) : undefined;
    const text = JSON.stringify(want ?? null);
    if (text === this.shown) return;
    await this.unpublish();
    this.shown = text;
    if (!want) return;
    this.bonjour ??= new Bonjour({}, (err: unknown) =>
      this.log.warn({ err }, 'mDNS: advertising failed; Macs will not find the gateway by name'),
    );
    const b = this.bonjour;
    this.published = [
      b.publish({ name: want.name, type: 'smb', port: want.port }),
      // No service behind these two: port 9 (discard), as Samba's Avahi registration gives them.
      b.publish({ name: want.name, type: 'device-info', port: 9, txt: { model: DEVICE_MODEL } }),
      ...(want.timeMachine.length > 0
        ? [b.publish({ name: want.name, type: 'adisk', port: 9, txt: adiskTxt(want.timeMachine) })]
        : []),
    ];
    for (const s of this.published) {
      s.on('error', (err: unknown) =>
        this.log.warn({ err, service: s.type }, `mDNS: ${s.type} not advertised`),
      );
    }
    if (/^(127\.|::1$|localhost$)/.test(config.smb.bind.host))
      this.log.warn(
        { bind: config.smb.bind.text },
        `mDNS: SMB listens on ${config.smb.bind.text} only: Macs on the network find the gateway but cannot connect (smb.bind)`,
      );
    const tm = want.timeMachine.length > 0 ? `; Time Machine: ${want.timeMachine.join(', ')}` : '';
    this.log.info(
      { name: want.name, port: want.port, timeMachine: want.timeMachine },
      `mDNS: advertising SMB as "${want.name}" (_smb._tcp port ${want.port}${tm})`,
    );
  }

  /** Goodbyes for everything published, then the socket closes. */
  async stop(): Promise<void> {
    await this.unpublish();
    this.bonjour?.destroy();
    this.bonjour = undefined;
    this.shown = '';
  }

  private describe(config: GatewayConfig) {
    return {
      name: config.node.name,
      port: config.smb.bind.port,
      timeMachine: config.smb.shares.filter((s) => s.appleExtensions && s.timeMachine).map((s) => s.name),
    };
  }

  private async unpublish(): Promise<void> {
    if (!this.bonjour || this.published.length === 0) return;
    this.published = [];
    const b = this.bonjour;
    await new Promise<void>((resolve) => b.unpublishAll(() => resolve()));
  }
}

/** The `_adisk._tcp` TXT record: the system entry and one `dkN` per Time Machine share. */
function adiskTxt(shares: readonly string[]): Record<string, string> {
  const txt: Record<string, string> = { sys: ADISK_SYSTEM };
  shares.forEach((name, i) => {
    txt[`dk${i}`] = `adVN=${name},${ADISK_SHARE}`;
  });
  return txt;
}
