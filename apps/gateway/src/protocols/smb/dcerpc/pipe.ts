import type { RequestContext } from '../context.ts';
import { NT_STATUS } from '../deps.ts';
import { SmbError } from '../errors.ts';
import type { RpcInterface } from './interface.ts';
import { lsarpc } from './lsarpc.ts';
import {
  bindAck,
  contextResult,
  fault,
  HEADER,
  NCA_S_OP_RNG_ERROR,
  NCA_S_PROTO_ERROR,
  NCA_S_UNKNOWN_IF,
  PFC_FIRST_FRAG,
  PFC_LAST_FRAG,
  PFC_OBJECT_UUID,
  PTYPE,
  readBind,
  readHeader,
  responses,
} from './pdu.ts';
import { srvsvc } from './srvsvc.ts';

/** A request PDU, its stub and any fragments are bounded: 1 MiB is far above what srvsvc or lsarpc take. */
const MAX_PENDING = 1024 * 1024;
const MAX_FRAG = 4280;

/**
 * One open of a named pipe on IPC$ (message mode): bytes written are DCE/RPC PDUs, each reply
 * PDU is a message read back by READ or returned by FSCTL_PIPE_TRANSCEIVE.
 */
export class PipeEndpoint {
  private input = Buffer.alloc(0);
  private readonly messages: Buffer[] = [];
  private bound = false;
  private contextId = 0;
  private maxRecv = MAX_FRAG;
  private stub: Buffer[] = [];
  private stubBytes = 0;

  constructor(
    readonly name: string,
    private readonly iface: RpcInterface,
  ) {}

  write(data: Buffer): number {
    if (this.input.length + data.length > MAX_PENDING)
      throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'pipe input too large');
    this.input = Buffer.concat([this.input, data]);
    for (;;) {
      const h = readHeader(this.input);
      if (!h) break;
      if (h.fragLength < HEADER) {
        this.input = Buffer.alloc(0);
        throw new SmbError(NT_STATUS.STATUS_INVALID_PARAMETER, 'bad DCE/RPC fragment length');
      }
      if (this.input.length < h.fragLength) break;
      const frag = this.input.subarray(0, h.fragLength);
      this.input = this.input.subarray(h.fragLength);
      this.handle(frag);
    }
    return data.length;
  }

  /** Up to `max` bytes of the next reply message; `overflow` when the message has more. */
  read(max: number): { data: Buffer; overflow: boolean } {
    const head = this.messages[0];
    if (!head) throw new SmbError(NT_STATUS.STATUS_PIPE_EMPTY, 'nothing to read');
    if (head.length <= max) {
      this.messages.shift();
      return { data: head, overflow: false };
    }
    this.messages[0] = head.subarray(max);
    return { data: head.subarray(0, max), overflow: true };
  }

  get pending(): boolean {
    return this.messages.length > 0;
  }

  private handle(frag: Buffer): void {
    const h = readHeader(frag)!;
    if (frag[0] !== 5 || (frag[4]! & 0x10) === 0) {
      this.messages.push(fault(h.callId, 0, NCA_S_PROTO_ERROR));
      return;
    }
    switch (h.type) {
      case PTYPE.BIND:
      case PTYPE.ALTER_CONTEXT:
        this.bind(frag, h.type, h.callId);
        return;
      case PTYPE.REQUEST:
        this.request(frag, h.flags, h.callId);
        return;
      case PTYPE.AUTH3:
        return;
      default:
        this.messages.push(fault(h.callId, 0, NCA_S_PROTO_ERROR));
    }
  }

  private bind(frag: Buffer, type: number, callId: number): void {
    let parsed: ReturnType<typeof readBind>;
    try {
      parsed = readBind(frag);
    } catch {
      this.messages.push(fault(callId, 0, NCA_S_PROTO_ERROR));
      return;
    }
    const served = (uuid: string, version: number) =>
      uuid === this.iface.uuid && version === this.iface.version;
    const results = parsed.contexts.map((c) => contextResult(c, served));
    const accepted = parsed.contexts.findIndex((_, i) => results[i]!.result === 0);
    if (accepted >= 0) {
      this.bound = true;
      this.contextId = parsed.contexts[accepted]!.id;
    }
    this.maxRecv = Math.min(MAX_FRAG, Math.max(HEADER + 64, parsed.maxRecv));
    const max = Math.min(MAX_FRAG, parsed.maxXmit);
    const ack = type === PTYPE.BIND ? PTYPE.BIND_ACK : PTYPE.ALTER_CONTEXT_RESP;
    const addr = type === PTYPE.BIND ? `\\PIPE\\${this.name}` : '';
    this.messages.push(bindAck(ack, callId, max, max, 0x53f0, addr, results));
  }

  private request(frag: Buffer, flags: number, callId: number): void {
    const bodyAt = HEADER + 8 + (flags & PFC_OBJECT_UUID ? 16 : 0);
    if (frag.length < bodyAt) {
      this.messages.push(fault(callId, 0, NCA_S_PROTO_ERROR));
      return;
    }
    const contextId = frag.readUInt16LE(HEADER + 4);
    const opnum = frag.readUInt16LE(HEADER + 6);
    const authLength = frag.readUInt16LE(10);
    const stubEnd = authLength > 0 ? Math.max(bodyAt, frag.length - authLength - 8) : frag.length;
    if (flags & PFC_FIRST_FRAG) {
      this.stub = [];
      this.stubBytes = 0;
    }
    const part = frag.subarray(bodyAt, stubEnd);
    this.stubBytes += part.length;
    if (this.stubBytes > MAX_PENDING) {
      this.stub = [];
      this.messages.push(fault(callId, contextId, NCA_S_PROTO_ERROR));
      return;
    }
    this.stub.push(part);
    if (!(flags & PFC_LAST_FRAG)) return;
    const stub = Buffer.concat(this.stub);
    this.stub = [];
    if (!this.bound || contextId !== this.contextId) {
      this.messages.push(fault(callId, contextId, NCA_S_UNKNOWN_IF));
      return;
    }
    const result = this.iface.call(opnum, stub);
    if ('fault' in result) {
      this.messages.push(
        fault(callId, contextId, result.fault === 'op_rng_error' ? NCA_S_OP_RNG_ERROR : NCA_S_PROTO_ERROR),
      );
      return;
    }
    // Each fragment is its own pipe message, as Windows sends them.
    for (const m of responses(callId, contextId, result.stub, this.maxRecv)) this.messages.push(m);
  }
}

/**
 * The pipes IPC$ offers: srvsvc (share enumeration) and lsarpc (names for SIDs and SIDs for
 * names: `smbcquotas`, `smbcacls`, the Security tab of Windows). Each open answers from what
 * the server knew when it was opened.
 */
export async function openPipe(name: string, ctx: RequestContext): Promise<PipeEndpoint | undefined> {
  const n = name.toLowerCase().replace(/^pipe\\/, '');
  if (n === 'srvsvc') {
    return new PipeEndpoint(
      'srvsvc',
      srvsvc([
        ...ctx.env.shares().map((s) => ({ name: s.name, remark: s.remark, ipc: false, path: s.path })),
        { name: 'IPC$', remark: 'IPC Service (ClaudeFS Gateway)', ipc: true, path: '' },
      ]),
    );
  }
  if (n === 'lsarpc') {
    // Names are for users who logged on: guests may not turn ids into account names (Windows'
    // "anonymous SID/name translation" is off by default, and Samba's restrict anonymous).
    if (ctx.session!.guest)
      throw new SmbError(NT_STATUS.STATUS_ACCESS_DENIED, 'guests may not look up names');
    const { control, config } = ctx.env;
    const [users, groups] = await Promise.all([control.users.list(), control.groups.list()]);
    return new PipeEndpoint(
      'lsarpc',
      lsarpc({
        domains: [config.smb.domain, config.smb.workgroup],
        users: users.map((u) => ({ name: u.name, uid: u.uid })),
        groups: groups.map((g) => ({ name: g.name, gid: g.gid })),
      }),
    );
  }
  return undefined;
}
