import { Harness } from './harness.ts';
import { A, type Args, encode, R } from './wire.ts';

/** Well-formed arguments for every procedure, against objects that exist in `h`. */
export async function goldenArgs(h: Harness): Promise<Array<{ proc: number; name: string; args: Buffer }>> {
  const root = await h.root();
  const f = (await h.call(8, A.create(root, 'golden', 'unchecked', { mode: 0o666 }), R.newObject)).fh!;
  await h.call(7, A.write(f, 0n, Buffer.from('golden bytes')), R.write);
  const d = (await h.call(9, A.mkdir(root, 'gdir', { mode: 0o777 }), R.newObject)).fh ?? root;
  const l = (await h.call(10, A.symlink(root, 'glink', 'golden'), R.newObject)).fh ?? f;
  const rows: Array<[number, string, Args]> = [
    [0, 'NULL', () => {}],
    [1, 'GETATTR', A.getattr(f)],
    [2, 'SETATTR', A.setattr(f, { mode: 0o644, size: 5n, atime: 'server', mtime: [1, 2] }, [3, 4])],
    [3, 'LOOKUP', A.lookup(root, 'golden')],
    [4, 'ACCESS', A.access(f, 0x3f)],
    [5, 'READLINK', A.readlink(l)],
    [6, 'READ', A.read(f, 0n, 4096)],
    [7, 'WRITE', A.write(f, 3n, Buffer.from('xyz'), 0)],
    [8, 'CREATE', A.create(d, 'c', 'guarded', { mode: 0o600, uid: 1, gid: 2, size: 0n })],
    [8, 'CREATE', A.create(d, 'e', Buffer.from('12345678'))],
    [9, 'MKDIR', A.mkdir(d, 'm', { mode: 0o700 })],
    [10, 'SYMLINK', A.symlink(d, 's', 'target', { mode: 0o777 })],
    [11, 'MKNOD', A.mknod(d, 'p', 7, { mode: 0o600 })],
    [11, 'MKNOD', A.mknod(d, 'k', 3)],
    [12, 'REMOVE', A.remove(d, 'c')],
    [13, 'RMDIR', A.rmdir(d, 'm')],
    [14, 'RENAME', A.rename(d, 's', d, 's2')],
    [15, 'LINK', A.link(f, d, 'hard')],
    [16, 'READDIR', A.readdir(root, 0n, Buffer.alloc(8), 4096)],
    [17, 'READDIRPLUS', A.readdirplus(root, 0n, Buffer.alloc(8), 1024, 8192)],
    [18, 'FSSTAT', A.fsstat(root)],
    [19, 'FSINFO', A.fsinfo(root)],
    [20, 'PATHCONF', A.pathconf(root)],
    [21, 'COMMIT', A.commit(f, 0n, 0)],
  ];
  return rows.map(([proc, name, args]) => ({ proc, name, args: encode(args) }));
}

export { Harness };
