/** 100 ns intervals between 1601-01-01 and 1970-01-01 (MS-DTYP §2.3.3 FILETIME). */
const EPOCH_DIFF = 116_444_736_000_000_000n;

export function nsToFiletime(ns: bigint): bigint {
  const t = ns / 100n + EPOCH_DIFF;
  return t < 0n ? 0n : t;
}

/** Latest time the namespace stores (signed 64-bit nanoseconds, in 2262): later ones are clamped. */
const MAX_NS = 0x7fff_ffff_ffff_ffffn;

export function filetimeToNs(ft: bigint): bigint {
  const ns = (ft - EPOCH_DIFF) * 100n;
  return ns > MAX_NS ? MAX_NS : ns;
}

export function nowFiletime(): bigint {
  return nsToFiletime(BigInt(Date.now()) * 1_000_000n);
}
