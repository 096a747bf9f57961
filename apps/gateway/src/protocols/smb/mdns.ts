import { type NetworkInterfaceInfo, networkInterfaces } from 'node:os';
import { Bonjour, type Service, type ServiceConfig } from 'bonjour-service';
import type { GatewayConfig } from '../../config/types.ts';
import type { Logger } from '../../daemon/logger.ts';

/**
 * Bonjour (multicast DNS, RFC 6762/6763) with `smb.mdns: true`, as Samba registers with Avahi:
 * Finder's sidebar lists the gateway (`_smb._tcp` on the SMB port, `_device-info._tcp` for its
 * icon), and Time Machine's disk list offers each `time_machine` share (`_adisk._tcp`, one
 * `dkN=adVN=<share>,adVF=0x82` TXT entry per share, Samba's flags). The service name is the
 * node's name. A reload publishes again what changed; a stop says goodbye (TTL 0), so Macs drop
 * the entries at once. On a server with several networks, each gets its own responder that
 * sends on it and answers with its addresses, as Avahi does per interface.
 */
const DEVICE_MODEL = 'RackMac';
const ADISK_SYSTEM = 'waMa=0,adVF=0x100';
const ADISK_SHARE = 'adVF=0x82';

/** How long the name's probe may take (three queries 250 ms apart, as RFC 6762 §8.1 has it). */
const PROBE_WAIT_MS = 5000;

/** What is advertised. */
interface Wanted {
  name: string;
  port: number;
  timeMachine: string[];
  networks: MdnsNetwork[];
}

/** A network the gateway answers on: an interface and its addresses. */
export interface MdnsNetwork {
  name: string;
  /** Its IPv4 address: the responder sends from it, and announces it. */
  address: string;
  /** Every address it holds (IPv4 and IPv6): the only ones its answers carry. */
  addresses: string[];
}

/**
 * The networks to answer on: every interface with an IPv4 address, or only the one holding
 * the SMB listener's address when it listens on one. Loopback only where there is nothing else.
 */
export function mdnsNetworks(
  bindHost: string,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): MdnsNetwork[] {
  const all: MdnsNetwork[] = [];
  for (const [name, infos] of Object.entries(interfaces)) {
    const v4 = infos?.find((i) => i.family === 'IPv4' && !i.internal);
    if (v4) all.push({ name, address: v4.address, addresses: infos!.map((i) => i.address) });
  }
  const wildcard = bindHost === '0.0.0.0' || bindHost === '::' || bindHost === '';
  return wildcard ? all : all.filter((n) => n.addresses.includes(bindHost));
}

export class SmbAdvertiser {
  /** One responder per network (a multihomed server is announced on each, as Avahi does). */
  private responders: Bonjour[] = [];
  private published: Service[] = [];
  private shown = '';
  /** Counts stops: a probe answered after one starts nothing. */
  private generation = 0;

  constructor(private readonly log: Logger) {}

  /**
   * Publishes what `config` says, or nothing when smb.mdns is off; unchanged (networks
   * included), it does nothing. A failure is logged and never stops the SMB server.
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
    await this.stopResponders();
    this.shown = text;
    if (!want) return;
    // Without a network (loopback only), one responder on the system's default.
    const [first, ...rest] = want.networks.length > 0 ? want.networks : [undefined];
    const probing = this.respond(want, first, true);
    const up = Promise.all(probing.map((s) => new Promise((resolve) => s.once('up', resolve))));
    // The name is probed for once, on the first network; the other networks' responders start
    // once it is taken (they answer for this same host: probing, each would take the others'
    // answers for a conflict).
    const generation = this.generation;
    const taken = setTimeout(() => {
      if (generation === this.generation)
        this.log.warn(
          { name: want.name },
          `mDNS: the name "${want.name}" was not taken within ${PROBE_WAIT_MS / 1000} s: another host may announce it (node.name); Macs will not find the gateway by name`,
        );
    }, PROBE_WAIT_MS);
    taken.unref();
    void up.then(() => {
      clearTimeout(taken);
      if (generation !== this.generation) return;
      for (const net of rest) this.respond(want, net, false);
    });
    if (/^(127\.|::1$|localhost$)/.test(config.smb.bind.host))
      this.log.warn(
        { bind: config.smb.bind.text },
        `mDNS: SMB listens on ${config.smb.bind.text} only: Macs on the network find the gateway but cannot connect (smb.bind)`,
      );
    const tm = want.timeMachine.length > 0 ? `; Time Machine: ${want.timeMachine.join(', ')}` : '';
    const on =
      want.networks.length > 0
        ? ` on ${want.networks.map((n) => `${n.name} (${n.address})`).join(', ')}`
        : ' (no network but loopback)';
    this.log.info(
      {
        name: want.name,
        port: want.port,
        timeMachine: want.timeMachine,
        networks: want.networks.map((n) => n.name),
      },
      `mDNS: advertising SMB as "${want.name}" (_smb._tcp port ${want.port}${tm})${on}`,
    );
  }

  /** A responder sending on `net`, publishing the services there, which it returns. */
  private respond(want: Wanted, net: MdnsNetwork | undefined, probe: boolean): Service[] {
    // Bound to the wildcard, which is what receives multicast; sending from this network.
    // (The options go to multicast-dns as they are; bonjour-service types them as a service's.)
    const mdnsOptions = net ? { interface: net.address, bind: '0.0.0.0' } : {};
    const b = new Bonjour(mdnsOptions as Partial<ServiceConfig>, (err: unknown) =>
      this.log.warn({ err }, 'mDNS: advertising failed; Macs will not find the gateway by name'),
    );
    this.responders.push(b);
    const services = [
      b.publish({ name: want.name, type: 'smb', port: want.port, probe }),
      // No service behind these two: port 9 (discard), as Samba's Avahi registration gives them.
      b.publish({ name: want.name, type: 'device-info', port: 9, txt: { model: DEVICE_MODEL }, probe }),
      ...(want.timeMachine.length > 0
        ? [b.publish({ name: want.name, type: 'adisk', port: 9, txt: adiskTxt(want.timeMachine), probe })]
        : []),
    ];
    for (const s of services) {
      if (net) onlyAddressesOf(s, net);
      s.on('error', (err: unknown) =>
        this.log.warn({ err, service: s.type }, `mDNS: ${s.type} not advertised`),
      );
    }
    this.published.push(...services);
    return services;
  }

  /** Goodbyes for everything published, then the sockets close. */
  async stop(): Promise<void> {
    await this.stopResponders();
    this.shown = '';
  }

  private describe(config: GatewayConfig): Wanted {
    return {
      name: config.node.name,
      port: config.smb.bind.port,
      timeMachine: config.smb.shares.filter((s) => s.appleExtensions && s.timeMachine).map((s) => s.name),
      networks: mdnsNetworks(config.smb.bind.host),
    };
  }

  private async stopResponders(): Promise<void> {
    this.generation++;
    const responders = this.responders.splice(0);
    const hadServices = this.published.length > 0;
    this.published = [];
    await Promise.all(
      responders.map(async (b) => {
        if (hadServices) await new Promise<void>((resolve) => b.unpublishAll(() => resolve()));
        b.destroy();
      }),
    );
  }
}

/**
 * Keeps a service's host records to the addresses of `net`: a Mac on that network is given
 * an address it can reach (bonjour-service would list every interface's).
 */
function onlyAddressesOf(service: Service, net: MdnsNetwork): void {
  const all = service.records.bind(service);
  service.records = () =>
    all().filter((r) => (r.type !== 'A' && r.type !== 'AAAA') || net.addresses.includes(String(r.data)));
}

/** The `_adisk._tcp` TXT record: the system entry and one `dkN` per Time Machine share. */
function adiskTxt(shares: readonly string[]): Record<string, string> {
  const txt: Record<string, string> = { sys: ADISK_SYSTEM };
  shares.forEach((name, i) => {
    txt[`dk${i}`] = `adVN=${name},${ADISK_SHARE}`;
  });
  return txt;
}
