import type { MountEntry } from './codec.ts';

/** Entries kept at most: DUMP is advisory (RFC 1813 §5.2.2), so the oldest are forgotten first. */
const MAX_MOUNTS = 10_000;

/**
 * Who mounted what, in memory, for DUMP: MNT adds, UMNT and UMNTALL remove. Like every NFS
 * server's rmtab it is informational — the NFS program never consults it.
 */
export class MountTable {
  private readonly entries = new Map<string, MountEntry>();

  add(host: string, dir: string): void {
    const key = `${host}\0${dir}`;
    this.entries.delete(key);
    this.entries.set(key, { host, dir });
    if (this.entries.size > MAX_MOUNTS) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  remove(host: string, dir: string): void {
    this.entries.delete(`${host}\0${dir}`);
  }

  removeHost(host: string): void {
    for (const [key, e] of this.entries) if (e.host === host) this.entries.delete(key);
  }

  list(): MountEntry[] {
    return [...this.entries.values()];
  }
}
