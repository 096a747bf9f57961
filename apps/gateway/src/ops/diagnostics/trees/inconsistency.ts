import type { Gateway } from '../../../daemon/gateway.ts';
import { type FsckReport, runFsck } from '../../../storage/fsck/index.ts';
import { toAttributes } from '../../../storage/meta/rows.ts';
import { splitPath } from '../../../storage/names.ts';
import type { Attributes } from '../../../storage/types.ts';
import { offer } from '../actions.ts';
import type { Measured } from '../api.ts';
import type { DiagnosisContext, DiagnosticTree } from '../engine.ts';
import { commands, manual, opsBase, RUNBOOK } from './common.ts';

/** The attributes a client sees change when the data or metadata does. */
const COMPARED = [
  'type',
  'mode',
  'uid',
  'gid',
  'nlink',
  'size',
  'mtimeNs',
  'ctimeNs',
  'changeId',
  'generation',
] as const;
/** At most this many cached inodes are compared when no path is given. */
const SCAN_LIMIT = 10_000;

type Compared = Pick<Attributes, (typeof COMPARED)[number]>;

function differences(cached: Compared, stored: Compared): string[] {
  return COMPARED.filter((k) => cached[k] !== stored[k]).map(
    (k) => `${k} cached ${String(cached[k])}, stored ${String(stored[k])}`,
  );
}

interface Staleness {
  checked: number;
  stale: Array<{ ino: string; path: string | null; differences: string[] }>;
  /** Names whose cached inode is not the stored one. */
  staleNames: Array<{ path: string; cached: string; stored: string | null }>;
}

/**
 * The caches against the metadata store read directly: for a path, each name on the way and the
 * target's attributes; without one, every cached inode. The raw store is read past the breaker
 * and past the caches, so what it says is what is on disk.
 */
async function compare(gw: Gateway, path: string | undefined): Promise<Staleness> {
  const meta = gw.ns.meta;
  const out: Staleness = { checked: 0, stale: [], staleNames: [] };
  if (path !== undefined) {
    let dir = gw.ns.rootIno;
    let here = '';
    let target: bigint | undefined = dir;
    for (const name of splitPath(path)) {
      here = `${here}/${name}`;
      const cachedIno = gw.ns.entries.get(`${dir}/${name}`);
      const row = await meta.lookupRow(dir, name);
      out.checked++;
      if (cachedIno !== undefined && cachedIno !== row?.ino) {
        out.staleNames.push({ path: here, cached: String(cachedIno), stored: row ? String(row.ino) : null });
      }
      if (!row) {
        target = undefined;
        break;
      }
      dir = row.ino;
      target = row.ino;
    }
    if (target !== undefined) {
      const cached = gw.ns.nodes.get(target)?.attrs;
      const row = await meta.row(target);
      out.checked++;
      if (cached && row) {
        const d = differences(cached, toAttributes(row));
        if (d.length > 0) out.stale.push({ ino: String(target), path, differences: d });
      }
    }
    return out;
  }
  // TtlCache has no peek: a predicate that drops nothing visits every entry without counting hits.
  const cached: Array<[bigint, Attributes]> = [];
  gw.ns.nodes.invalidate((ino, node) => {
    if (cached.length < SCAN_LIMIT) cached.push([ino, node.attrs]);
    return false;
  });
  for (const [ino, attrs] of cached) {
    out.checked++;
    const row = await meta.row(ino);
    const d = row ? differences(attrs, toAttributes(row)) : ['inode no longer stored'];
    if (d.length > 0) out.stale.push({ ino: String(ino), path: null, differences: d });
  }
  return out;
}

const fsckOf = (ctx: DiagnosisContext) =>
  ctx.memo<FsckReport>('fsck', async () => {
    const { metadata, transport } = ctx.gw.config;
    return runFsck({
      ...(metadata.kind === 'sqlite' ? { dbFile: metadata.path } : { metadataUrl: metadata.url }),
      // An object store is read through this gateway's own data store (its cache included).
      ...(transport.kind === 'file'
        ? { dataDir: transport.path }
        : { dataStore: ctx.gw.ns.data, dataName: transport.url }),
      ...(ctx.request.path ? { path: ctx.request.path } : {}),
    });
  });

export const inconsistencyTree: DiagnosticTree = {
  id: 'inconsistency',
  title: 'Data inconsistency',
  runbook: { section: RUNBOOK.inconsistency },
  summary:
    'Cached attributes and names against the metadata store, the cache invalidation (an action), and fsck of the path against metadata and data.',
  inputs: [
    {
      name: 'path',
      required: false,
      help: 'the problematic file or directory (default: the whole namespace)',
    },
  ],
  checkRequest: (r) =>
    r.path !== undefined && !r.path.startsWith('/')
      ? 'path must be an absolute namespace path (/export/…)'
      : undefined,
  start: 'cache-compare',
  steps: [
    {
      id: 'cache-compare',
      title: 'Cache against the metadata store',
      kind: 'check',
      runbook: { section: RUNBOOK.inconsistency, quote: 'If you suspect data inconsistency' },
      description:
        'Each cached name and attribute for the path (or every cached inode) compared with the store: a difference is what a client sees until the cache entry expires.',
      branches: { consistent: 'invalidate', stale: 'invalidate' },
      async run(ctx) {
        const s = await compare(ctx.gw, ctx.request.path);
        const measured: Record<string, Measured> = {
          scope: ctx.request.path ?? 'all cached inodes',
          checked: s.checked,
          stale: s.stale.map((x) => ({ ...x, differences: [...x.differences] })),
          staleNames: s.staleNames.map((x) => ({ ...x })),
          ttlMs: ctx.gw.config.cache.ttlMs,
        };
        const evidence = [
          ...s.staleNames.map(
            (n) => `name ${n.path}: cached inode ${n.cached}, stored ${n.stored ?? 'none (removed)'}`,
          ),
          ...s.stale.map((x) => `inode ${x.ino}${x.path ? ` (${x.path})` : ''}: ${x.differences.join('; ')}`),
        ];
        const n = s.stale.length + s.staleNames.length;
        if (n > 0) {
          return {
            outcome: 'stale',
            verdict: 'warn',
            summary: `${n} stale cache entr${n === 1 ? 'y' : 'ies'} of ${s.checked} checked`,
            because:
              'the store changed behind the cache (another node or tool wrote it): clients see the old values for up to cache.ttl',
            measured,
            evidence,
            finding: `stale cache: ${evidence.slice(0, 3).join('; ')}${evidence.length > 3 ? '…' : ''} — invalidate the cache`,
          };
        }
        return {
          outcome: 'consistent',
          verdict: 'pass',
          summary: `the cache agrees with the store (${s.checked} entries checked)`,
          because: 'no cached value differs',
          measured,
          evidence,
        };
      },
    },
    {
      id: 'invalidate',
      title: 'Force cache invalidation',
      kind: 'action',
      runbook: {
        section: RUNBOOK.inconsistency,
        quote: 'curl -X POST http://localhost:8080/admin/cache/invalidate',
      },
      description:
        "Drops cached attributes and names, and the file bytes held in memory (for the path's file, or all), so the next lookup and read go to the store.",
      branches: { done: 'fsck' },
      run(ctx) {
        const path = ctx.request.path;
        const action = offer(
          ctx.gw,
          path
            ? { action: 'cache.invalidate', scope: 'path', path }
            : { action: 'cache.invalidate', scope: 'all' },
          path ? `Invalidate the cache for ${path}` : 'Invalidate all caches',
          path
            ? `Drop the cached attributes, names and file bytes of ${path}?`
            : 'Drop every cached attribute, name and file byte? Lookups and reads go to the stores until the caches refill.',
        );
        return manual(
          'invalidate the cache, then look again: what clients see next comes from the store',
          commands([`curl -X POST ${opsBase(ctx.gw)}/admin/cache/invalidate`], [action.cli]),
          { actions: [action] },
        );
      },
    },
    {
      id: 'fsck',
      title: 'Verify the file on the backend (fsck)',
      kind: 'check',
      runbook: { section: RUNBOOK.inconsistency, quote: './cfs fsck /export/problematic-file' },
      description:
        "Metadata against itself and the data folder for the path (names, links, extents, blobs — a file's own blob gone from a local data folder included — stored checksums) — read-only, safe next to a running gateway.",
      branches: { clean: null, problems: 'fsck-problems' },
      timeoutMs: 120_000,
      async run(ctx) {
        const r = await fsckOf(ctx);
        const measured = {
          scope: r.scope ?? 'whole namespace',
          clean: r.clean,
          checked: { ...r.checked },
          info: { ...r.info },
          problems: r.problems.map((p) => ({
            kind: p.kind,
            path: p.path ?? null,
            ino: p.ino ?? null,
            detail: p.detail,
            repair: p.repair,
          })),
        };
        const evidence = [
          `checked ${r.checked.inodes} inodes, ${r.checked.entries} entries, ${r.checked.blobs} blobs${r.scope ? ` under ${r.scope}` : ''}`,
          ...r.problems.map(
            (p) => `${p.kind}${p.path ? ` ${p.path}` : ''}: ${p.detail} (repair: ${p.repair})`,
          ),
        ];
        if (!r.clean) {
          return {
            outcome: 'problems',
            verdict: 'fail',
            summary: `fsck found ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}: ${[...new Set(r.problems.map((p) => p.kind))].join(', ')}`,
            because: 'metadata and data disagree',
            measured,
            evidence,
            finding: `fsck: ${r.problems.map((p) => `${p.kind}${p.path ? ` on ${p.path}` : ''}`).join(', ')}`,
          };
        }
        return {
          outcome: 'clean',
          verdict: 'pass',
          summary: `fsck is clean${r.scope ? ` for ${r.scope}` : ''}`,
          because: 'no problem found',
          measured,
          evidence,
          conclusion: `metadata and data agree${r.scope ? ` for ${r.scope}` : ''} (fsck clean)`,
        };
      },
    },
    {
      id: 'fsck-problems',
      title: 'Repair',
      kind: 'manual',
      runbook: { section: RUNBOOK.inconsistency, quote: './cfs fsck /export/problematic-file' },
      description:
        'fsck --repair fixes what is safe to fix, with the gateway stopped; lost data stays reported.',
      branches: { done: null },
      commands: commands(
        ['./cfs fsck /export/problematic-file'],
        ['./cfs fsck --repair /export/problematic-file  # gateway stopped'],
      ),
      run(ctx) {
        const p = ctx.request.path ?? '';
        return manual(
          'drain and stop the gateway, run fsck --repair, start it again; problems whose repair is "none" need the data restored',
          commands(
            [`./cfs fsck ${p}`.trim()],
            [
              './cfs gateway drain',
              'sudo systemctl stop claudefs-gateway',
              `./cfs fsck --repair ${p}`.trim(),
              'sudo systemctl start claudefs-gateway',
            ],
          ),
          {
            actions: [
              offer(
                ctx.gw,
                { action: 'drain' },
                'Drain before stopping for repair',
                'Drain this gateway? Listeners refuse new connections; open ones keep being served.',
              ),
            ],
          },
        );
      },
    },
  ],
};
