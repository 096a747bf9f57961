/**
 * Copies `src` into `target` at `at`, with memcpy whatever memory either lies in. Copies by
 * TypedArray (Buffer#copy, #set) into SharedArrayBuffer memory go byte by byte when the two
 * addresses are not aligned alike — 4 GB/s against 45–75 GB/s here — and large SMB frames
 * live in shared memory (smb/framing.ts); Buffer#fill copies natively.
 */
export function copyInto(target: Buffer, at: number, src: Buffer): void {
  if (src.length > 0) target.fill(src, at, at + src.length);
}
