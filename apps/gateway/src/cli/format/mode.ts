import type { FileType } from '../../storage/types.ts';

const TYPE_LETTER: Record<FileType, string> = {
  file: '-',
  dir: 'd',
  symlink: 'l',
  fifo: 'p',
  socket: 's',
  chardev: 'c',
  blockdev: 'b',
};

/** `ls -l`'s mode column: type letter, then rwx for owner, group, other with s/S/t/T for setuid, setgid, sticky. */
export function modeString(type: FileType, mode: number): string {
  const triple = (shift: number, special: number, set: string): string => {
    const bits = (mode >> shift) & 7;
    const x = bits & 1;
    const exec = mode & special ? (x ? set : set.toUpperCase()) : x ? 'x' : '-';
    return `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${exec}`;
  };
  return `${TYPE_LETTER[type]}${triple(6, 0o4000, 's')}${triple(3, 0o2000, 's')}${triple(0, 0o1000, 't')}`;
}

/** Permission bits as chmod writes them: `0644`, `1777`. */
export function octalMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** coreutils stat's file type words. */
export function typeDescription(type: FileType, size: bigint): string {
  switch (type) {
    case 'file':
      return size === 0n ? 'regular empty file' : 'regular file';
    case 'dir':
      return 'directory';
    case 'symlink':
      return 'symbolic link';
    case 'fifo':
      return 'fifo';
    case 'socket':
      return 'socket';
    case 'chardev':
      return 'character special file';
    case 'blockdev':
      return 'block special file';
  }
}

/** Linux device number split (glibc major()/minor() on a 32-bit dev_t). */
export function deviceNumbers(rdev: number): { major: number; minor: number } {
  return { major: (rdev >>> 8) & 0xfff, minor: (rdev & 0xff) | ((rdev >>> 12) & 0xfff00) };
}
