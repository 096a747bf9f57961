import type { Command } from 'commander';
import { LAYOUT } from '../../storage/meta/rows.ts';
import type { Namespace } from '../../storage/namespace.ts';
import {
  type Attributes,
  IMMUTABLE_FOREVER,
  isImmutable,
  KEPT_VERSION_HOLD,
  ROOT,
} from '../../storage/types.ts';
import { CliExit, loadCliConfig, openCliNamespace, runCli } from '../context.ts';
import { attributesJson } from '../format/attributes-json.ts';
import { cannotAccess } from '../format/errno-text.ts';
import { deviceNumbers, modeString, octalMode, typeDescription } from '../format/mode.ts';
import type { CommandOutput } from '../format/output.ts';
import { plural } from '../format/plural.ts';
import { statTime } from '../format/time.ts';

/** Where a file's bytes are: its own blob at the same offsets, a list of extents, or inline. */
export type DataLayout =
  | { kind: 'none' }
  | { kind: 'own-blob'; blob: string; storedBytes: number | null }
  | { kind: 'inline'; storedBytes: number }
  | {
      kind: 'extents';
      blobs: number;
      extents: Array<{ off: number; len: number; blob: string; blobOff: number }>;
    };

const blobName = (b: bigint): string => b.toString(16).padStart(12, '0');

async function dataLayout(ns: Namespace, a: Attributes): Promise<DataLayout> {
  if (a.type !== 'file') return { kind: 'none' };
  const row = await ns.meta.row(a.ino);
  if (!row || row.layout === 0n) {
    const stored = await ns.data.physicalSize(a.ino);
    return { kind: 'own-blob', blob: blobName(a.ino), storedBytes: stored ?? null };
  }
  if (row.layout === LAYOUT.inline) {
    const bytes = await ns.meta.inlineBytes(a.ino);
    if (bytes !== undefined) return { kind: 'inline', storedBytes: bytes.length };
    return dataLayout(ns, a); // moved to its own blob just now
  }
  const extents = await ns.meta.allExtents(a.ino);
  return {
    kind: 'extents',
    blobs: new Set(extents.map((e) => e.blob)).size,
    extents: extents.map((e) => ({
      off: Number(e.off),
      len: Number(e.len),
      blob: blobName(e.blob),
      blobOff: Number(e.blobOff),
    })),
  };
}

function layoutText(l: DataLayout): string {
  switch (l.kind) {
    case 'none':
      return 'none';
    case 'own-blob':
      return `own blob ${l.blob} (${l.storedBytes === null ? 'nothing stored: reads as zeros' : `${l.storedBytes} bytes stored`})`;
    case 'inline':
      return `inline in the metadata database (${l.storedBytes} bytes stored)`;
    case 'extents':
      return `${l.extents.length} extent${l.extents.length === 1 ? '' : 's'} over ${l.blobs} blob${l.blobs === 1 ? '' : 's'}`;
  }
}

/** A file's hold (S3 Object Lock) as `stat` prints it; undefined when it has none in force. */
function holdText(a: Attributes): string | undefined {
  if (!isImmutable(a, BigInt(Date.now()) * 1_000_000n)) return undefined;
  if (a.immutableUntilNs === KEPT_VERSION_HOLD) return 'read-only: a kept S3 version';
  if (a.immutableUntilNs === IMMUTABLE_FOREVER) return 'immutable under a legal hold (S3 Object Lock)';
  return `immutable until ${statTime(a.immutableUntilNs)} (S3 Object Lock)`;
}

/** `stat` over the namespace, as root, in coreutils' layout plus generation and data layout. */
export async function statPath(
  ns: Namespace,
  path: string,
  o: { json?: boolean } = {},
): Promise<CommandOutput> {
  let a: Attributes;
  try {
    a = await ns.resolvePath(ROOT, path);
  } catch (e) {
    return {
      stdout: '',
      stderr: cannotAccess('stat', path, e, 'stat'),
      exitCode: 1,
    };
  }
  const target = a.type === 'symlink' ? await ns.readlink(ROOT, a.ino) : undefined;
  const layout = await dataLayout(ns, a);
  const streams = await ns.listStreams(a.ino);
  if (o.json) {
    const json = {
      path,
      ...attributesJson(a),
      ...(target === undefined ? {} : { target }),
      layout,
      streams,
    };
    return { stdout: `${JSON.stringify(json, null, 2)}\n`, stderr: '', exitCode: 0 };
  }
  const dev = a.type === 'chardev' || a.type === 'blockdev' ? deviceNumbers(a.rdev) : undefined;
  const lines = [
    `  File: ${path}${target === undefined ? '' : ` -> ${target}`}`,
    `  Size: ${String(a.size).padEnd(10)}\tBlocks: ${String(a.used / 512n).padEnd(10)} IO Block: 4096   ${typeDescription(a.type, a.size)}`,
    `Inode: ${String(a.ino).padEnd(11)} Links: ${String(a.nlink).padEnd(5)} Generation: ${a.generation}${
      dev ? `  Device type: ${dev.major},${dev.minor}` : ''
    }`,
    `Access: (${octalMode(a.mode)}/${modeString(a.type, a.mode)})  Uid: (${String(a.uid).padStart(5)})   Gid: (${String(a.gid).padStart(5)})`,
    `Access: ${statTime(a.atimeNs)}`,
    `Modify: ${statTime(a.mtimeNs)}`,
    `Change: ${statTime(a.ctimeNs)}`,
    ` Birth: ${statTime(a.btimeNs)}`,
    `Layout: ${layoutText(layout)}`,
  ];
  const hold = holdText(a);
  if (hold) lines.push(`  Hold: ${hold}`);
  // Named streams SMB clients keep beside the data (Windows' Zone.Identifier, macOS's Finder info).
  if (streams.length > 0)
    lines.push(
      `Streams: ${streams.map((x) => `${x.name} (${plural(x.size, 'byte')})`).join(', ')} (SMB named streams)`,
    );
  return { stdout: `${lines.join('\n')}\n`, stderr: '', exitCode: 0 };
}

export function registerStat(program: Command): void {
  program
    .command('stat')
    .description(
      'show a namespace file’s attributes like stat: owner, group, mode, size, times, inode, layout, SMB named streams',
    )
    .argument('<path>', 'namespace path')
    .option('--json', 'print the attributes as JSON')
    .option('--config <file>', 'configuration file (default: $CFS_CONFIG, then /etc/claudefs/gateway.yaml)')
    .action((path: string, opts: { json?: boolean; config?: string }) =>
      runCli(async () => {
        let ns: Awaited<ReturnType<typeof openCliNamespace>>;
        try {
          ns = await openCliNamespace(await loadCliConfig(opts.config));
        } catch (e) {
          if (e instanceof CliExit) throw e;
          throw new CliExit(`stat: cannot open the namespace: ${(e as Error).message}`, 2);
        }
        try {
          const out = await statPath(ns, path, { json: opts.json === true });
          process.stdout.write(out.stdout);
          process.stderr.write(out.stderr);
          return out.exitCode;
        } finally {
          await ns.close();
        }
      }),
    );
}
