import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Beside the metadata database, a file saying one was created there: a database missing later
 * was lost (removed, or its volume not mounted), not yet to be made.
 */
export const MARKER = 'namespace-created';

const markerOf = (dbFile: string) => join(dirname(dbFile), MARKER);

/** A file in one of the data folder's shard folders (a blob), or undefined; stops at the first. */
function someBlob(dataDir: string): string | undefined {
  let shards: string[];
  try {
    shards = readdirSync(dataDir);
  } catch {
    return undefined;
  }
  for (const shard of shards) {
    let inside: string[];
    try {
      inside = readdirSync(join(dataDir, shard));
    } catch {
      continue; // a file, not a shard folder
    }
    if (inside.length > 0) return join(dataDir, shard, inside[0]!);
  }
  return undefined;
}

/**
 * Refuses to create the metadata database where one is known to have been (the marker), or
 * beside a local data folder that holds blobs: a new, empty database there would serve an empty
 * namespace — every acknowledged file gone from the clients' view, and `./cfs fsck --repair`
 * would then delete the blobs as orphans. `dataDir` is the local data folder, if any.
 */
export function refuseLostDatabase(dbFile: string, dataDir: string | undefined): void {
  if (existsSync(dbFile)) return;
  const marker = markerOf(dbFile);
  let evidence: string | undefined;
  if (existsSync(marker)) {
    const when = readFileSync(marker, 'utf8').match(/^(?:created|found) (\S+)/m)?.[1] ?? 'earlier';
    evidence = `${marker} says one was there (${when})`;
  } else {
    const blob = dataDir === undefined ? undefined : someBlob(dataDir);
    if (blob) evidence = `the data folder ${dataDir} holds file data (${blob})`;
  }
  if (!evidence) return;
  throw new Error(
    `the metadata database ${dbFile} does not exist, but ${evidence}: a new, empty one would hide every file. ` +
      `Check that its volume is mounted and metadata.path/node.state_dir name it, or restore ${basename(dbFile)} ` +
      `(with its -wal file) from a backup. To start an empty namespace on purpose, move ${MARKER} and the data folder away first.`,
  );
}

/** Writes the marker beside a database that has none: one just created, or one an older version made. */
export function markDatabase(dbFile: string, created: boolean): void {
  const marker = markerOf(dbFile);
  if (existsSync(marker)) return;
  writeFileSync(
    marker,
    `${created ? 'created' : 'found'} ${new Date().toISOString()}\n` +
      `# ClaudeFS Gateway: the metadata database ${basename(dbFile)} lives in this folder. A gateway that\n` +
      `# finds this file without the database refuses to start an empty namespace over lost data.\n`,
  );
}
