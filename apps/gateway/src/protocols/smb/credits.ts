import { MAX_CREDITS } from './constants.ts';

/**
 * The connection's CommandSequenceWindow (MS-SMB2 §3.3.1.1, §3.3.5.2.3): the message ids the
 * client may use. Granting extends the window at its top; each request consumes its ids
 * (CreditCharge of them, one when the charge is 0). Ids may arrive out of order, so ids above
 * the lowest unused one are remembered until the gap below them closes.
 */
export class CreditWindow {
  /** Lowest id not yet consumed. */
  private low = 0n;
  /** First id not granted. */
  private high = 1n;
  private readonly usedAbove = new Set<bigint>();

  constructor(private readonly max = MAX_CREDITS) {}

  /** Credits the client holds now (granted and not consumed). */
  get available(): number {
    return Number(this.high - this.low) - this.usedAbove.size;
  }

  /** Consumes [messageId, messageId + charge); false (consuming nothing) when any id is outside the window or used. */
  consume(messageId: bigint, charge: number): boolean {
    const n = BigInt(Math.max(1, charge));
    if (messageId < this.low || messageId + n > this.high) return false;
    for (let id = messageId; id < messageId + n; id++) {
      if (id !== this.low && this.usedAbove.has(id)) return false;
    }
    if (messageId === this.low && this.usedAbove.size === 0) {
      this.low += n;
      return true;
    }
    for (let id = messageId; id < messageId + n; id++) this.usedAbove.add(id);
    while (this.usedAbove.delete(this.low)) this.low++;
    return true;
  }

  /**
   * Grants what the client asks for (at least one), within the limit; never leaves the client
   * with no credit at all, which would deadlock it.
   */
  grant(requested: number): number {
    const room = this.max - this.available;
    let g = Math.min(Math.max(1, requested), Math.max(0, room));
    if (g === 0 && this.available === 0) g = 1;
    this.high += BigInt(g);
    return g;
  }
}
