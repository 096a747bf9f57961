import type { Command } from 'commander';
import { fsError } from '../../storage/errors.ts';
import type { Namespace } from '../../storage/namespace.ts';
import { type Attributes, type DirPlusEntry, type FileType, ROOT } from '../../storage/types.ts';
import { CliExit, loadCliConfig, openCliNamespace, runCli } from '../context.ts';
import { attributesJson } from '../format/attributes-json.ts';
import { alignColumns } from '../format/columns.ts';
import { cannotAccess } from '../format/errno-text.ts';
import { deviceNumbers, modeString } from '../format/mode.ts';
import type { CommandOutput } from '../format/output.ts';
import { lsTime } from '../format/time.ts';

export interface LsOptions {
  /** -l: one line of attributes per entry. */
  long?: boolean;
  /** -a: also `.`, `..` and names starting with a dot. */
  all?: boolean;
  json?: boolean;
  /** "Now" for choosing between time and year in -l dates (tests pin it). */
  nowNs?: bigint;
}

interface Listed {
  name: string;
  /** Undefined when the entry's inode cannot be read (a dangling entry). */
  attrs?: Attributes;
  type: FileType;
  ino: bigint;
  target?: string;
}

const PAGE = 1000;

/** `ls` over the namespace, as root: a directory's entries sorted by name, or the one file PATH names. */
export async function listPath(ns: Namespace, path: string, o: LsOptions = {}): Promise<CommandOutput> {
  let top: Attributes;
  try {
    top = await ns.resolvePath(ROOT, path);
  } catch (e) {
    return { stdout: '', stderr: cannotAccess('ls', path, e), exitCode: 1 };
  }
  let stderr = '';
  let items: Listed[];
  if (top.type !== 'dir') {
    items = [await listedEntry(ns, path, top.ino, top.type)];
  } else {
    items = [];
    if (o.all) {
      items.push({ name: '.', attrs: top, type: 'dir', ino: top.ino });
      const up = await ns.getattr(top.parent);
      items.push({ name: '..', attrs: up, type: 'dir', ino: up.ino });
    }
    for (const e of await allEntries(ns, top.ino)) {
      if (!o.all && e.name.startsWith('.')) continue;
      const item = await listedEntry(ns, e.name, e.ino, e.type, e.attrs);
      // An entry whose inode is gone (fsck: dangling-entry) reads like a vanished file.
      if (!item.attrs)
        stderr += cannotAccess('ls', `${path.replace(/\/+$/, '')}/${e.name}`, fsError('ENOENT', e.name));
      items.push(item);
    }
    items.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  }
  const exitCode = stderr === '' ? 0 : 1;
  if (o.json) return { stdout: `${JSON.stringify(items.map(toJson), null, 2)}\n`, stderr, exitCode };
  if (!o.long) return { stdout: items.map((i) => `${i.name}\n`).join(''), stderr, exitCode };
  const now = o.nowNs ?? BigInt(Date.now()) * 1_000_000n;
  const rows = alignColumns(
    items.map((i) => longRow(i, now)),
    ['left', 'right', 'left', 'left', 'right', 'left', 'left'],
  );
  const total =
    top.type === 'dir'
      ? `total ${items.reduce((sum, i) => sum + (i.attrs ? i.attrs.used / 1024n : 0n), 0n)}\n`
      : '';
  return { stdout: total + rows.map((r) => `${r}\n`).join(''), stderr, exitCode };
}

/** Every entry of a directory with its attributes, read a page at a time with them. */
async function allEntries(ns: Namespace, dir: bigint): Promise<DirPlusEntry[]> {
  const out: DirPlusEntry[] = [];
  for (let cookie = 0n; ; ) {
    const page = await ns.readdirPlus(ROOT, dir, cookie, PAGE);
    out.push(...page.entries);
    const last = page.entries.at(-1);
    if (page.eof || !last) return out;
    cookie = last.cookie;
  }
}

async function listedEntry(
  ns: Namespace,
  name: string,
  ino: bigint,
  type: FileType,
  listed?: Attributes,
): Promise<Listed> {
  let attrs: Attributes;
  try {
    attrs = listed ?? (await ns.getattr(ino));
  } catch {
    return { name, type, ino };
  }
  if (attrs.type !== 'symlink') return { name, attrs, type: attrs.type, ino };
  return { name, attrs, type: attrs.type, ino, target: await ns.readlink(ROOT, ino) };
}

function longRow(i: Listed, now: bigint): string[] {
  const a = i.attrs;
  if (!a)
    return [`${modeString(i.type, 0).slice(0, 1)}?????????`, '?', '?', '?', '?', '           ?', i.name];
  const size =
    a.type === 'chardev' || a.type === 'blockdev'
      ? `${deviceNumbers(a.rdev).major}, ${deviceNumbers(a.rdev).minor}`
      : String(a.size);
  const name = i.target === undefined ? i.name : `${i.name} -> ${i.target}`;
  return [
    modeString(a.type, a.mode),
    String(a.nlink),
    String(a.uid),
    String(a.gid),
    size,
    lsTime(a.mtimeNs, now),
    name,
  ];
}

function toJson(i: Listed) {
  if (!i.attrs) return { name: i.name, ino: Number(i.ino), type: i.type, error: 'No such file or directory' };
  return {
    name: i.name,
    ...attributesJson(i.attrs),
    ...(i.target === undefined ? {} : { target: i.target }),
  };
}

export function registerLs(program: Command): void {
  program
    .command('ls')
    .description('list a namespace directory (or one file) like ls, as root')
    .argument('[path]', 'namespace path', '/')
    .option('-l', 'long listing: mode, links, owner, group, size, time')
    .option('-a', 'also list ., .. and names starting with a dot')
    .option('--json', 'print the entries and their attributes as JSON')
    .option('--config <file>', 'configuration file (default: $CFS_CONFIG, then /etc/claudefs/gateway.yaml)')
    .action((path: string, opts: { l?: boolean; a?: boolean; json?: boolean; config?: string }) =>
      runCli(async () => {
        const ns = await openForReading(opts.config);
        try {
          const out = await listPath(ns, path, {
            long: opts.l === true,
            all: opts.a === true,
            json: opts.json === true,
          });
          process.stdout.write(out.stdout);
          process.stderr.write(out.stderr);
          return out.exitCode;
        } finally {
          await ns.close();
        }
      }),
    );
}

async function openForReading(
  configFile: string | undefined,
): Promise<Awaited<ReturnType<typeof openCliNamespace>>> {
  const config = await loadCliConfig(configFile);
  try {
    return await openCliNamespace(config);
  } catch (e) {
    throw new CliExit(`ls: cannot open the namespace: ${(e as Error).message}`, 2);
  }
}
